/**
 * Pins resolveRestConfig() and getCredential() to kubectl 1.32 itself. Every case writes
 * kubeconfig files to a temp folder and asks two oracles what kubectl makes of them:
 *
 * - `kubectl create token probe` against a local TLS server that records what arrives: the
 *   server URL and namespace (request path), the Authorization header, impersonation headers,
 *   the client certificate, the TLS server name, and whether kubectl trusted the server at all.
 *   This is the only oracle for override flags: `kubectl config view` ignores --cluster, --user,
 *   --server, -n and --token.
 * - `kubectl config view --minify --raw --flatten -o json` for cases that only pick files and a
 *   context, comparing the cluster, user and context kubectl selected.
 *
 * Some cases pin where we deliberately differ from kubectl (it silently falls back to
 * http://localhost:8080) and where kubectl differs from @kubernetes/client-node (duplicate names
 * across files are fine in kubectl, an error in client-node).
 */

import assert from "node:assert/strict";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { getCredential } from "../../src/kubeconfig/credentials.ts";
import { resolveRestConfig } from "../../src/kubeconfig/resolve.ts";
import type { ConnectionFlags, RestConfig } from "../../src/kubeconfig/types.ts";
import { b64, fixture, testRuntime, withTempDir, writeFiles } from "./_helpers.ts";

const KUBECTL = "/usr/bin/kubectl";
const CA = fixture("ca.crt");
const OTHER_CA = fixture("other-ca.crt");
const CLIENT_CNS: Record<string, string> = {
  [fixture("alice.crt")]: "alice",
  [fixture("bob.crt")]: "bob",
};

/** What the server saw of kubectl's TokenRequest. */
interface Seen {
  server: string;
  namespace: string;
  authorization?: string;
  impersonateUser?: string;
  impersonateGroups: string[];
  impersonateUid?: string;
  clientCn?: string;
  serverName?: string;
}

interface Case {
  name: string;
  /** Files to write; `${S}` is the test server URL, `${CA}`/`${OTHER_CA}` base64 CA bundles. */
  files: Record<string, string>;
  /** KUBECONFIG entries, relative to the temp folder (absent: unset). */
  kubeconfig?: string[];
  flags?: ConnectionFlags;
  expect:
    /** kubectl reaches the server and we resolve the same connection. */
    | { kind: "same" }
    /** kubectl rejects the server's certificate; we resolve a CA that is not the server's. */
    | { kind: "tls-fails" }
    /** Both fail. */
    | { kind: "error"; kubectl: RegExp; ours: RegExp }
    /** kubectl silently talks to http://localhost:8080; we fail with a reason. */
    | { kind: "kubectl-localhost"; ours: RegExp }
    /** kubectl 1.32 refuses what later client-go accepts; we follow later client-go. */
    | { kind: "kubectl-refuses"; kubectl: RegExp; check: (config: RestConfig) => void };
}

const TOKEN_USER = (name: string, token: string) => `- name: ${name}\n  user: {token: ${token}}\n`;

/** The exec plugin of the exec case: prints a token derived from its argument. */
const PLUGIN = `#!/bin/sh
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-%s"}}' "$1"
`;

const CASES: Case[] = [
  {
    name: "one file: current-context, token, context namespace, CA relative to the file",
    files: {
      "kube/config": `clusters:
- name: c
  cluster: {server: "\${S}/one", certificate-authority: pki/ca.crt}
users:
${TOKEN_USER("u", "one-token")}contexts:
- name: main
  context: {cluster: c, user: u, namespace: team}
current-context: main
`,
      "kube/pki/ca.crt": CA,
    },
    kubeconfig: ["kube/config"],
    expect: { kind: "same" },
  },
  {
    name: "two files: duplicate names, first file wins; current-context only in the second",
    files: {
      "a.yaml": `clusters:
- name: shared
  cluster: {server: "\${S}/from-a", certificate-authority-data: \${CA}}
users:
${TOKEN_USER("shared", "a-token")}contexts:
- name: dev
  context: {cluster: shared, user: shared, namespace: a-ns}
`,
      "b.yaml": `clusters:
- name: shared
  cluster: {server: "\${S}/from-b", certificate-authority-data: \${OTHER_CA}}
- name: only-b
  cluster: {server: "\${S}/only-b", certificate-authority-data: \${CA}}
users:
${TOKEN_USER("shared", "b-token")}${TOKEN_USER("only-b", "only-b-token")}contexts:
- name: dev
  context: {cluster: only-b, user: only-b, namespace: b-ns}
- name: other
  context: {cluster: only-b, user: shared}
current-context: dev
`,
    },
    kubeconfig: ["a.yaml", "b.yaml"],
    expect: { kind: "same" },
  },
  {
    name: "two files: --context defined only in the second, mixing entries of both",
    files: {}, // reuses the previous case's files (written again below)
    kubeconfig: ["a.yaml", "b.yaml"],
    flags: { context: "other" },
    expect: { kind: "same" },
  },
  {
    name: "missing and repeated KUBECONFIG entries are skipped",
    files: {},
    kubeconfig: ["missing.yaml", "a.yaml", "a.yaml", "b.yaml"],
    expect: { kind: "same" },
  },
  {
    name: "client certificate files relative to their kubeconfig, not to the cwd",
    files: {
      "deep/nested/config": `clusters:
- name: c
  cluster: {server: "\${S}/certs", certificate-authority: ../pki/ca.crt}
users:
- name: alice
  user: {client-certificate: ../pki/alice.crt, client-key: ../pki/alice.key}
contexts:
- name: x
  context: {cluster: c, user: alice}
current-context: x
`,
      "deep/pki/ca.crt": CA,
      "deep/pki/alice.crt": fixture("alice.crt"),
      "deep/pki/alice.key": fixture("alice.key"),
    },
    kubeconfig: ["deep/nested/config"],
    expect: { kind: "same" },
  },
  {
    name: "--kubeconfig replaces KUBECONFIG",
    files: {},
    kubeconfig: ["a.yaml"],
    flags: { kubeconfig: "deep/nested/config" },
    expect: { kind: "same" },
  },
  {
    name: "--cluster and --user override the context's",
    files: {},
    kubeconfig: ["a.yaml", "b.yaml"],
    flags: { cluster: "shared", user: "only-b" },
    expect: { kind: "same" },
  },
  {
    name: "--server and -n override; the kubeconfig CA stays",
    files: {},
    kubeconfig: ["a.yaml", "b.yaml"],
    flags: { server: "${S}/flag-server", namespace: "flag-ns" },
    expect: { kind: "same" },
  },
  {
    name: "--token replaces the kubeconfig token",
    files: {},
    kubeconfig: ["a.yaml", "b.yaml"],
    flags: { token: "flag-token" },
    expect: { kind: "same" },
  },
  {
    name: "--token on a client-certificate user: kubectl sends both",
    files: {},
    kubeconfig: ["deep/nested/config"],
    flags: { token: "flag-token" },
    expect: { kind: "same" },
  },
  {
    name: "--client-certificate/--client-key on a token user: both are sent",
    files: {},
    kubeconfig: ["a.yaml", "b.yaml"],
    flags: { clientCertificate: "deep/pki/alice.crt", clientKey: "deep/pki/alice.key" },
    expect: { kind: "same" },
  },
  {
    name: "tokenFile beats token and even --token (kubectl 1.32)",
    files: {
      "tf.yaml": `clusters:
- name: c
  cluster: {server: "\${S}/tf", certificate-authority-data: \${CA}}
users:
- name: tf
  user: {token: inline-token, tokenFile: tf-token}
contexts:
- name: x
  context: {cluster: c, user: tf}
current-context: x
`,
      "tf-token": "file-token\n",
    },
    kubeconfig: ["tf.yaml"],
    flags: { token: "flag-token" },
    expect: { kind: "same" },
  },
  {
    name: "a CA in the kubeconfig that does not sign the server",
    files: {},
    kubeconfig: ["b.yaml", "a.yaml"],
    flags: { context: "other", cluster: "shared" },
    expect: { kind: "tls-fails" },
  },
  {
    name: "--certificate-authority replaces a wrong embedded CA",
    files: {},
    kubeconfig: ["b.yaml", "a.yaml"],
    flags: { cluster: "shared", certificateAuthority: "deep/pki/ca.crt" },
    expect: { kind: "same" },
  },
  {
    name: "--insecure-skip-tls-verify drops a wrong embedded CA",
    files: {},
    kubeconfig: ["b.yaml", "a.yaml"],
    flags: { cluster: "shared", insecureSkipTlsVerify: true },
    expect: { kind: "same" },
  },
  {
    name: "tls-server-name is sent as SNI",
    files: {
      "sni.yaml": `clusters:
- name: c
  cluster: {server: "\${S}/sni", certificate-authority-data: \${CA}, tls-server-name: api.test}
users:
${TOKEN_USER("u", "sni-token")}contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`,
    },
    kubeconfig: ["sni.yaml"],
    expect: { kind: "same" },
  },
  {
    name: "--server drops the kubeconfig tls-server-name",
    files: {},
    kubeconfig: ["sni.yaml"],
    flags: { server: "${S}/other" },
    expect: { kind: "same" },
  },
  {
    name: "impersonation from the kubeconfig and flags",
    files: {
      "as.yaml": `clusters:
- name: c
  cluster: {server: "\${S}/as", certificate-authority-data: \${CA}}
users:
- name: u
  user: {token: as-token, as: from-kubeconfig, as-groups: [kg]}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`,
    },
    kubeconfig: ["as.yaml"],
    expect: { kind: "same" },
  },
  {
    name: "--as, --as-group (twice) and --as-uid",
    files: {},
    kubeconfig: ["as.yaml"],
    flags: { as: "jane", asGroups: ["g1", "g2"], asUid: "1234" },
    expect: { kind: "same" },
  },
  {
    name: "basic auth",
    files: {
      "basic.yaml": `clusters:
- name: c
  cluster: {server: "\${S}/basic", certificate-authority-data: \${CA}}
users:
- name: u
  user: {username: bob, password: "pa:ss"}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`,
    },
    kubeconfig: ["basic.yaml"],
    expect: { kind: "same" },
  },
  {
    name: "exec plugin (relative command, v1)",
    files: {
      "exec/config": `clusters:
- name: c
  cluster: {server: "\${S}/exec", certificate-authority-data: \${CA}}
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./plugin
      args: [abc]
      interactiveMode: Never
      provideClusterInfo: true
contexts:
- name: x
  context: {cluster: c, user: u, namespace: exec-ns}
current-context: x
`,
      "exec/plugin": PLUGIN,
    },
    kubeconfig: ["exec/config"],
    expect: { kind: "same" },
  },
  {
    name: "--token replaces an exec plugin",
    files: {},
    kubeconfig: ["exec/config"],
    flags: { token: "flag-token" },
    expect: { kind: "same" },
  },
  {
    name: "--client-certificate/--client-key replace embedded certificate data",
    files: {
      "embedded.yaml": `clusters:
- name: c
  cluster: {server: "\${S}/embedded", certificate-authority-data: \${CA}}
users:
- name: alice
  user: {client-certificate-data: ${b64(fixture("alice.crt"))}, client-key-data: ${
        b64(fixture("alice.key"))
      }}
contexts:
- name: x
  context: {cluster: c, user: alice}
current-context: x
`,
      "deep/pki/bob.crt": fixture("bob.crt"),
      "deep/pki/bob.key": fixture("bob.key"),
    },
    kubeconfig: ["embedded.yaml"],
    flags: { clientCertificate: "deep/pki/bob.crt", clientKey: "deep/pki/bob.key" },
    expect: {
      kind: "kubectl-refuses",
      kubectl: /client-cert-data and client-cert are both specified for alice/,
      check: (config) => {
        assert.deepEqual(config.auth, {
          kind: "client-certificate",
          certPem: fixture("bob.crt"),
          keyPem: fixture("bob.key"),
        });
      },
    },
  },
  {
    name: "--context that does not exist",
    files: {},
    kubeconfig: ["a.yaml", "b.yaml"],
    flags: { context: "nope" },
    expect: {
      kind: "error",
      kubectl: /context was not found for specified context: nope/,
      ours: /^Context was not found for specified context: "nope"$/,
    },
  },
  {
    name: "current-context that does not exist",
    files: {
      "gone.yaml":
        'clusters:\n- name: c\n  cluster: {server: "${S}/gone"}\ncurrent-context: gone\n',
    },
    kubeconfig: ["gone.yaml"],
    expect: {
      kind: "error",
      kubectl: /context was not found for specified context: gone/,
      ours: /^Context was not found for specified context: "gone"$/,
    },
  },
  {
    name: "--cluster that does not exist",
    files: {},
    kubeconfig: ["a.yaml", "b.yaml"],
    flags: { cluster: "nope" },
    expect: {
      kind: "error",
      // `kubectl get` says: cluster "nope" does not exist
      kubectl: /no server found for cluster "nope"/,
      ours: /^Cluster "nope" does not exist/,
    },
  },
  {
    name: "--user that does not exist",
    files: {},
    kubeconfig: ["a.yaml", "b.yaml"],
    flags: { user: "nope" },
    expect: {
      kind: "error",
      kubectl: /auth info "nope" does not exist/,
      ours: /^User "nope" does not exist/,
    },
  },
  {
    name: "--token on a basic-auth user",
    files: {},
    kubeconfig: ["basic.yaml"],
    flags: { token: "t" },
    expect: {
      kind: "error",
      kubectl: /more than one authentication method found for u; found \[token basicAuth\]/,
      ours: /^Cannot use user "u": it has both a token and a username\/password/,
    },
  },
  {
    name: "no kubeconfig anywhere (kubectl: localhost:8080)",
    files: {},
    kubeconfig: undefined,
    expect: { kind: "kubectl-localhost", ours: /^No cluster to connect to: KUBECONFIG is not set/ },
  },
  {
    name: "kubeconfig without current-context (kubectl: localhost:8080)",
    files: {},
    kubeconfig: ["a.yaml"],
    expect: { kind: "kubectl-localhost", ours: /^No context chosen: no current-context is set in/ },
  },
  {
    name: "context naming a cluster that does not exist (kubectl: localhost:8080)",
    files: {
      "lost.yaml": `users:\n${TOKEN_USER("u", "t")}contexts:
- name: x
  context: {cluster: typo, user: u}
current-context: x
`,
    },
    kubeconfig: ["lost.yaml"],
    expect: { kind: "kubectl-localhost", ours: /^Cluster "typo" was not found for context "x"$/ },
  },
];

/** kubectl's spelling of our flags. */
function kubectlArgs(flags: ConnectionFlags): string[] {
  const args: string[] = [];
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined) args.push(`--${name}=${value}`);
  };
  add("kubeconfig", flags.kubeconfig);
  add("context", flags.context);
  add("cluster", flags.cluster);
  add("user", flags.user);
  add("namespace", flags.namespace);
  add("server", flags.server);
  add("token", flags.token);
  add("certificate-authority", flags.certificateAuthority);
  add("client-certificate", flags.clientCertificate);
  add("client-key", flags.clientKey);
  add("tls-server-name", flags.tlsServerName);
  add("as", flags.as);
  add("as-uid", flags.asUid);
  for (const group of flags.asGroups ?? []) add("as-group", group);
  if (flags.insecureSkipTlsVerify) args.push("--insecure-skip-tls-verify");
  return args;
}

interface KubectlRun {
  code: number;
  stderr: string;
  stdout: string;
}

async function kubectl(
  args: string[],
  dir: string,
  kubeconfig: string | undefined,
): Promise<KubectlRun> {
  const env: Record<string, string> = { HOME: `${dir}/home`, PATH: "/usr/bin:/bin" };
  if (kubeconfig !== undefined) env.KUBECONFIG = kubeconfig;
  const out = await new Deno.Command(KUBECTL, {
    args,
    cwd: dir,
    env,
    clearEnv: true,
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** A TLS server that records TokenRequests (always answering 404) and keeps client certs. */
async function startServer(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = https.createServer({
    cert: fixture("server.crt"),
    key: fixture("server.key"),
    requestCert: true,
    rejectUnauthorized: false,
  }, (req: IncomingMessage, res: ServerResponse) => {
    const m = /^(.*)\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/probe\/token/.exec(
      req.url ?? "",
    );
    if (m) {
      const socket = req.socket as TLSSocket;
      const cn = socket.getPeerCertificate()?.subject?.CN;
      const groups = req.headers["impersonate-group"];
      seen.push({
        server: `${url}${m[1]}`,
        namespace: m[2],
        authorization: req.headers.authorization,
        impersonateUser: req.headers["impersonate-user"] as string | undefined,
        impersonateGroups: groups === undefined ? [] : String(groups).split(", "),
        impersonateUid: req.headers["impersonate-uid"] as string | undefined,
        clientCn: typeof cn === "string" ? cn : undefined,
        serverName: (socket as TLSSocket & { servername?: string | false }).servername || undefined,
      });
    }
    req.resume();
    res.writeHead(404, { "content-type": "application/json" });
    res.end(
      '{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** What we would send, in the shape the server records. */
async function ours(config: RestConfig, dir: string): Promise<Seen> {
  const credential = await getCredential(testRuntime({ cwd: dir }), config);
  const authorization = credential.token
    ? `Bearer ${credential.token}`
    : credential.username !== undefined
    ? `Basic ${b64(`${credential.username}:${credential.password ?? ""}`)}`
    : undefined;
  const seen: Seen = {
    server: config.server,
    namespace: config.namespace,
    authorization,
    impersonateUser: config.impersonate?.user,
    impersonateGroups: config.impersonate?.groups ?? [],
    impersonateUid: config.impersonate?.uid,
    clientCn: credential.certPem ? CLIENT_CNS[credential.certPem] ?? "unknown" : undefined,
    serverName: config.tlsServerName,
  };
  return seen;
}

function substitute(text: string, server: string): string {
  return text.replaceAll("${S}", server).replaceAll("${CA}", b64(CA)).replaceAll(
    "${OTHER_CA}",
    b64(OTHER_CA),
  );
}

Deno.test("resolveRestConfig() matches kubectl 1.32", async (t) => {
  const server = await startServer();
  try {
    await withTempDir(async (dir) => {
      await Deno.mkdir(`${dir}/home`);
      // Cases share one folder; later cases reuse files written by earlier ones.
      for (const c of CASES) {
        await t.step(c.name, async () => {
          const written = await writeFiles(
            dir,
            Object.fromEntries(
              Object.entries(c.files).map(([k, v]) => [k, substitute(v, server.url)]),
            ),
          );
          for (const path of Object.values(written)) {
            if (path.endsWith("/plugin")) await Deno.chmod(path, 0o755);
          }
          const flags: ConnectionFlags = JSON.parse(
            substitute(JSON.stringify(c.flags ?? {}), server.url),
          );
          const kubeconfigEnv = c.kubeconfig?.map((p) => `${dir}/${p}`).join(":");
          const runtime = testRuntime({
            env: kubeconfigEnv === undefined ? {} : { KUBECONFIG: kubeconfigEnv },
            home: `${dir}/home`,
            cwd: dir,
          });

          server.seen.length = 0;
          const run = await kubectl(
            ["create", "token", "probe", ...kubectlArgs(flags)],
            dir,
            kubeconfigEnv,
          );
          const kubectlSaw = server.seen.at(-1);
          const result: { config?: RestConfig; error?: unknown } = await resolveRestConfig(
            runtime,
            flags,
            { inClusterDir: `${dir}/no-sa` },
          ).then((config) => ({ config }), (error) => ({ error }));
          const resolved = () => {
            if (result.error !== undefined) throw result.error;
            return result.config!;
          };

          switch (c.expect.kind) {
            case "same": {
              assert.ok(kubectlSaw, `kubectl did not reach the server: ${run.stderr}`);
              const config = resolved();
              assert.deepEqual(await ours(config, dir), kubectlSaw);
              // Reaching the server proves the CA kubectl used signs it.
              if (!config.insecureSkipTlsVerify) assert.equal(config.caPem, CA);
              if (onlyPicksFilesAndContext(flags)) {
                await compareConfigView(config, flags, dir, kubeconfigEnv);
              }
              break;
            }
            case "tls-fails": {
              assert.equal(kubectlSaw, undefined);
              assert.match(run.stderr, /certificate signed by unknown authority/);
              const config = resolved();
              assert.equal(config.caPem, OTHER_CA);
              assert.equal(config.insecureSkipTlsVerify, false);
              break;
            }
            case "error": {
              assert.equal(kubectlSaw, undefined);
              assert.notEqual(run.code, 0);
              assert.match(run.stderr, c.expect.kubectl);
              const ours = c.expect.ours;
              assert.throws(resolved, (e: unknown) => e instanceof Error && ours.test(e.message));
              break;
            }
            case "kubectl-refuses": {
              assert.equal(kubectlSaw, undefined);
              assert.match(run.stderr, c.expect.kubectl);
              c.expect.check(resolved());
              break;
            }
            case "kubectl-localhost": {
              assert.equal(kubectlSaw, undefined);
              assert.match(run.stderr, /localhost:8080/);
              const ours = c.expect.ours;
              assert.throws(resolved, (e: unknown) => e instanceof Error && ours.test(e.message));
              break;
            }
          }
        });
      }
    });
  } finally {
    await server.close();
  }
});

function onlyPicksFilesAndContext(flags: ConnectionFlags): boolean {
  return Object.keys(flags).every((key) => key === "context" || key === "kubeconfig");
}

/** `kubectl config view --minify --flatten` names the same cluster, user and context as we do. */
async function compareConfigView(
  config: RestConfig,
  flags: ConnectionFlags,
  dir: string,
  kubeconfigEnv: string | undefined,
): Promise<void> {
  const run = await kubectl(
    ["config", "view", "--minify", "--raw", "--flatten", "-o", "json", ...kubectlArgs(flags)],
    dir,
    kubeconfigEnv,
  );
  assert.equal(run.code, 0, run.stderr);
  const view = JSON.parse(run.stdout);
  const [cluster] = view.clusters;
  const [user] = view.users;
  const [context] = view.contexts;
  assert.equal(view["current-context"], config.contextName);
  assert.equal(context.name, config.contextName);
  assert.equal(cluster.name, config.clusterName);
  assert.equal(user.name, config.userName);
  assert.equal(context.context.namespace ?? "default", config.namespace);
  assert.equal(cluster.cluster.server, config.server);
  assert.equal(atobText(cluster.cluster["certificate-authority-data"]), config.caPem);
  const u = user.user;
  if (u.token !== undefined) assert.deepEqual(config.auth, { kind: "token", token: u.token });
  if (u["client-certificate-data"] !== undefined) {
    assert.deepEqual(config.auth, {
      kind: "client-certificate",
      certPem: atobText(u["client-certificate-data"]),
      keyPem: atobText(u["client-key-data"]),
    });
  }
  if (u.username !== undefined) {
    assert.deepEqual(config.auth, { kind: "basic", username: u.username, password: u.password });
  }
  if (u.exec !== undefined) {
    // config view leaves the command as written; kubectl runs it relative to the file's folder.
    const folder = config.origin.userFile!.slice(0, config.origin.userFile!.lastIndexOf("/"));
    assert.equal(config.auth.kind, "exec");
    assert.equal(
      config.auth.kind === "exec" && config.auth.exec.command,
      `${folder}/${u.exec.command.replace(/^\.\//, "")}`,
    );
  }
}

function atobText(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return new TextDecoder().decode(Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0)));
}
