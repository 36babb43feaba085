import assert from "node:assert/strict";
import { CliError, UsageError } from "../../src/errors.ts";
import { resolveRestConfig } from "../../src/kubeconfig/resolve.ts";
import type { ConnectionFlags, RestConfig } from "../../src/kubeconfig/types.ts";
import { b64, fixture, rejectsWith, testRuntime, withTempDir, writeFiles } from "./_helpers.ts";

const CA = fixture("ca.crt");
const ALICE = { certPem: fixture("alice.crt"), keyPem: fixture("alice.key") };
const BOB = { certPem: fixture("bob.crt"), keyPem: fixture("bob.key") };

/** A kubeconfig covering the shapes the cases below need; relative paths on purpose. */
function mainConfig(): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example:6443
    certificate-authority: pki/ca.crt
    tls-server-name: api.prod
- name: embedded
  cluster:
    server: https://embedded.example
    certificate-authority-data: ${b64(CA)}
- name: plain
  cluster: {server: "http://plain.example:8080"}
- name: noscheme
  cluster: {server: "noscheme.example:6443", certificate-authority: pki/ca.crt}
- name: pathy
  cluster: {server: "https://pathy.example/prefix/?q=1#frag"}
- name: noserver
  cluster: {certificate-authority: pki/ca.crt}
- name: proxied
  cluster: {server: "https://proxied.example", proxy-url: "http://kubeconfig-proxy:3128"}
- name: ca-and-insecure
  cluster: {server: "https://x.example", certificate-authority: pki/ca.crt, insecure-skip-tls-verify: true}
users:
- name: token
  user: {token: inline-token}
- name: certs
  user: {client-certificate: pki/alice.crt, client-key: pki/alice.key}
- name: certdata
  user: {client-certificate-data: ${b64(ALICE.certPem)}, client-key-data: ${b64(ALICE.keyPem)}}
- name: tokenfile
  user: {tokenFile: pki/token}
- name: token-and-file
  user: {token: inline-token, tokenFile: pki/token}
- name: token-and-missing-file
  user: {token: inline-token, tokenFile: pki/missing}
- name: token-and-cert
  user: {token: inline-token, client-certificate: pki/alice.crt, client-key: pki/alice.key}
- name: basic
  user: {username: bob, password: secret}
- name: exec
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: ./bin/plugin}
- name: exec-v1-no-mode
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, command: plugin}
- name: impersonating
  user: {token: t, as: admin, as-groups: [ops], as-user-extra: {reason: [audit]}}
- name: groups-only
  user: {token: t, as-groups: [ops]}
- name: gcp
  user: {auth-provider: {name: gcp}}
contexts:
- name: main
  context: {cluster: prod, user: token, namespace: team}
- name: nons
  context: {cluster: embedded, user: certs}
- name: lost-cluster
  context: {cluster: nowhere, user: token}
- name: lost-user
  context: {cluster: prod, user: nobody}
- name: no-server
  context: {cluster: noserver, user: token}
- name: no-cluster
  context: {user: token}
current-context: main
`;
}

interface World {
  dir: string;
  config: string;
  env: Record<string, string>;
  resolve(
    flags?: ConnectionFlags,
    env?: Record<string, string>,
    inClusterDir?: string,
  ): Promise<RestConfig>;
}

async function withWorld(fn: (w: World) => Promise<void>): Promise<void> {
  await withTempDir(async (dir) => {
    const f = await writeFiles(dir, {
      "kube/config": mainConfig(),
      "kube/pki/ca.crt": CA,
      "kube/pki/alice.crt": ALICE.certPem,
      "kube/pki/alice.key": ALICE.keyPem,
      "kube/pki/bob.crt": BOB.certPem,
      "kube/pki/bob.key": BOB.keyPem,
      "kube/pki/token": "file-token\n",
    });
    const env = { KUBECONFIG: f["kube/config"] };
    await fn({
      dir,
      config: f["kube/config"],
      env,
      resolve: (flags = {}, extraEnv = {}, inClusterDir = `${dir}/no-sa`) =>
        resolveRestConfig(
          testRuntime({ env: { ...env, ...extraEnv }, home: `${dir}/home`, cwd: dir }),
          flags,
          { inClusterDir },
        ),
    });
  });
}

Deno.test("resolveRestConfig() resolves the current context of a kubeconfig", async () => {
  await withWorld(async ({ dir, config, resolve }) => {
    assert.deepEqual(await resolve(), {
      server: "https://prod.example:6443",
      namespace: "team",
      namespaceFromFlag: false,
      contextName: "main",
      clusterName: "prod",
      userName: "token",
      caPem: CA,
      insecureSkipTlsVerify: false,
      tlsServerName: "api.prod",
      auth: { kind: "token", token: "inline-token" },
      cluster: {
        server: "https://prod.example:6443",
        certificateAuthority: `${dir}/kube/pki/ca.crt`,
        tlsServerName: "api.prod",
      },
      origin: { kind: "kubeconfig", files: [config], userFile: config },
    });
  });
});

Deno.test("resolveRestConfig() applies flags the way client-go's overrides do", async (t) => {
  await withWorld(async ({ dir, resolve }) => {
    type Check = (c: RestConfig) => void;
    const cases: [string, ConnectionFlags, Check][] = [
      ["--context picks another context", { context: "nons" }, (c) => {
        assert.equal(c.server, "https://embedded.example");
        assert.equal(c.caPem, CA);
        assert.deepEqual(c.auth, { kind: "client-certificate", ...ALICE });
        assert.equal(c.namespace, "default");
      }],
      [
        "--cluster and --user replace the context's",
        { cluster: "embedded", user: "basic" },
        (c) => {
          assert.equal(c.server, "https://embedded.example");
          assert.deepEqual(c.auth, { kind: "basic", username: "bob", password: "secret" });
          assert.equal(c.namespace, "team");
          assert.equal(c.contextName, "main");
        },
      ],
      ["--server keeps the CA and drops tls-server-name", { server: "https://other:6443" }, (c) => {
        assert.equal(c.server, "https://other:6443");
        assert.equal(c.caPem, CA);
        assert.equal(c.tlsServerName, undefined);
      }],
      ["--server with --tls-server-name", { server: "https://o", tlsServerName: "n" }, (c) => {
        assert.equal(c.tlsServerName, "n");
      }],
      [
        "--tls-server-name alone",
        { tlsServerName: "n" },
        (c) => assert.equal(c.tlsServerName, "n"),
      ],
      ["--certificate-authority replaces embedded data", {
        cluster: "embedded",
        certificateAuthority: "kube/pki/alice.crt",
      }, (c) => {
        assert.equal(c.caPem, ALICE.certPem);
        assert.equal(c.cluster.certificateAuthority, `${dir}/kube/pki/alice.crt`);
        assert.equal(c.cluster.certificateAuthorityData, undefined);
      }],
      ["--insecure-skip-tls-verify clears the CA", { insecureSkipTlsVerify: true }, (c) => {
        assert.equal(c.insecureSkipTlsVerify, true);
        assert.equal(c.caPem, undefined);
      }],
      ["--token replaces an exec plugin", { user: "exec", token: "flag-token" }, (c) => {
        assert.deepEqual(c.auth, { kind: "token", token: "flag-token" });
      }],
      ["--token does not beat a readable tokenFile (kubectl 1.32)", {
        user: "tokenfile",
        token: "flag-token",
      }, (c) => assert.deepEqual(c.auth, { kind: "token-file", path: `${dir}/kube/pki/token` })],
      ["tokenFile wins over token", { user: "token-and-file" }, (c) => {
        assert.deepEqual(c.auth, { kind: "token-file", path: `${dir}/kube/pki/token` });
      }],
      ["token when its tokenFile is unreadable", { user: "token-and-missing-file" }, (c) => {
        assert.deepEqual(c.auth, { kind: "token", token: "inline-token" });
      }],
      ["token and certificate are both sent", { user: "token-and-cert" }, (c) => {
        assert.deepEqual(c.auth, { kind: "token", token: "inline-token" });
        assert.deepEqual(c.tlsClientCertificate, ALICE);
      }],
      [
        "--token on a certificate user keeps the certificate",
        { user: "certs", token: "f" },
        (c) => {
          assert.deepEqual(c.auth, { kind: "token", token: "f" });
          assert.deepEqual(c.tlsClientCertificate, ALICE);
        },
      ],
      ["--client-certificate/--client-key replace embedded data", {
        user: "certdata",
        clientCertificate: "kube/pki/bob.crt",
        clientKey: "kube/pki/bob.key",
      }, (c) => {
        assert.deepEqual(c.auth, { kind: "client-certificate", ...BOB });
      }],
      ["exec plugin user", { user: "exec" }, (c) => {
        assert.deepEqual(c.auth, {
          kind: "exec",
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: `${dir}/kube/bin/plugin`,
            interactiveMode: "IfAvailable",
          },
        });
      }],
      ["auth-provider is reported by kind", { user: "gcp" }, (c) => {
        assert.deepEqual(c.auth, { kind: "auth-provider", name: "gcp" });
      }],
      ["impersonation from flags", { as: "jane", asGroups: ["a", "b"], asUid: "7" }, (c) => {
        assert.deepEqual(c.impersonate, { user: "jane", uid: "7", groups: ["a", "b"], extra: {} });
      }],
      ["impersonation from the kubeconfig, groups replaced by flags", {
        user: "impersonating",
        asGroups: ["dev"],
      }, (c) => {
        assert.deepEqual(c.impersonate, {
          user: "admin",
          groups: ["dev"],
          extra: { reason: ["audit"] },
        });
      }],
      ["-n wins", { namespace: "flag-ns" }, (c) => {
        assert.equal(c.namespace, "flag-ns");
        assert.equal(c.namespaceFromFlag, true);
      }],
      ["http servers get no TLS and no credentials", { cluster: "plain" }, (c) => {
        assert.equal(c.server, "http://plain.example:8080");
        assert.deepEqual(c.auth, { kind: "none" });
        assert.equal(c.caPem, undefined);
      }],
      ["a server without scheme is http, like kubectl", { cluster: "noscheme" }, (c) => {
        assert.equal(c.server, "http://noscheme.example:6443");
        assert.deepEqual(c.auth, { kind: "none" });
      }],
      ["a server path drops query and fragment", { cluster: "pathy" }, (c) => {
        assert.equal(c.server, "https://pathy.example/prefix/");
      }],
      ["--request-timeout", { requestTimeout: "1m30s" }, (c) => assert.equal(c.timeoutMs, 90_000)],
      ["--server without any context or cluster", {
        context: "no-cluster",
        server: "https://direct:6443",
      }, (c) => {
        assert.equal(c.server, "https://direct:6443");
        assert.equal(c.origin.kind, "flags");
        assert.deepEqual(c.auth, { kind: "token", token: "inline-token" });
      }],
    ];
    for (const [name, flags, check] of cases) {
      await t.step(name, async () => check(await resolve(flags)));
    }
  });
});

Deno.test("resolveRestConfig() parses --request-timeout as kubectl does", async (t) => {
  await withWorld(async ({ resolve }) => {
    const cases: [string, number | undefined][] = [
      ["0", undefined],
      ["5", 5000],
      ["+5", 5000],
      ["1m", 60_000],
      ["1.5s", 1500],
      ["250ms", 250],
      ["1h2m3s", 3_723_000],
      ["-1s", undefined],
    ];
    for (const [value, expected] of cases) {
      await t.step(value, async () => {
        assert.equal((await resolve({ requestTimeout: value })).timeoutMs, expected);
      });
    }
    for (const value of ["abc", "-1", "5x", "1.s5", ".s"]) {
      await t.step(`${value} is a usage error`, async () => {
        await assert.rejects(() => resolve({ requestTimeout: value }), (e: unknown) => {
          assert.ok(e instanceof UsageError);
          assert.match(
            e.message,
            new RegExp(
              `^Invalid value "${value.replace(".", "\\.")}" for flag --request-timeout: `,
            ),
          );
          return true;
        });
      });
    }
  });
});

Deno.test("resolveRestConfig() errors say what is missing", async (t) => {
  await withWorld(async ({ dir, config, resolve }) => {
    const cases: [string, ConnectionFlags, RegExp][] = [
      [
        "--context missing",
        { context: "nope" },
        /^Context was not found for specified context: "nope"$/,
      ],
      [
        "--cluster missing",
        { cluster: "nope" },
        /^Cluster "nope" does not exist in the kubeconfig$/,
      ],
      ["--user missing", { user: "nope" }, /^User "nope" does not exist in the kubeconfig$/],
      [
        "context names a missing cluster",
        { context: "lost-cluster" },
        /^Cluster "nowhere" was not found for context "lost-cluster"$/,
      ],
      [
        "context names a missing user",
        { context: "lost-user" },
        /^User "nobody" was not found for context "lost-user"$/,
      ],
      [
        "cluster without server",
        { context: "no-server" },
        /^No server found for cluster "noserver"$/,
      ],
      [
        "context without cluster",
        { context: "no-cluster" },
        /^Cannot use context "no-cluster": it names no cluster$/,
      ],
      [
        "token and basic auth",
        { user: "basic", token: "t" },
        /^Cannot use user "basic": it has both a token and a username\/password/,
      ],
      [
        "v1 exec without interactiveMode",
        { user: "exec-v1-no-mode" },
        /^Cannot use user "exec-v1-no-mode": its exec plugin must set interactiveMode$/,
      ],
      [
        "groups without a user",
        { user: "groups-only" },
        /^Cannot use user "groups-only": impersonating a uid, groups or extra needs a user/,
      ],
      [
        "--as-group without --as",
        { asGroups: ["g"] },
        /impersonating a uid, groups or extra needs a user/,
      ],
      [
        "CA and insecure in one cluster",
        { cluster: "ca-and-insecure" },
        /^Cannot use cluster "ca-and-insecure": a certificate authority and "insecure-skip-tls-verify" cannot both be set$/,
      ],
      [
        "unreadable --certificate-authority",
        { certificateAuthority: "nope.crt" },
        new RegExp(
          `^Cannot read certificate-authority "${dir}/nope.crt" of cluster "prod": no such file or directory$`,
        ),
      ],
      [
        "unreadable --client-key",
        { user: "certs", clientKey: "nope.key" },
        new RegExp(`^Cannot read client-key "${dir}/nope.key" of user "certs": no such file`),
      ],
      [
        "--kubeconfig missing",
        { kubeconfig: "nope" },
        new RegExp(`^Cannot read kubeconfig "${dir}/nope" given by "--kubeconfig"`),
      ],
    ];
    for (const [name, flags, pattern] of cases) {
      await t.step(name, async () => {
        await assert.rejects(() => resolve(flags), (e: unknown) => {
          assert.ok(e instanceof CliError, String(e));
          assert.match(e.message, pattern);
          return true;
        });
      });
    }
    await t.step("current-context naming a missing context", async () => {
      await Deno.writeTextFile(
        config,
        mainConfig().replace("current-context: main", "current-context: gone"),
      );
      await rejectsWith(() => resolve(), /^Context was not found for specified context: "gone"$/);
      await Deno.writeTextFile(config, mainConfig());
    });
    await t.step("invalid proxy-url", async () => {
      await Deno.writeTextFile(
        config,
        mainConfig().replace("http://kubeconfig-proxy:3128", "ftp://p"),
      );
      await rejectsWith(
        () => resolve({ cluster: "proxied" }),
        /^Cannot use cluster "proxied": "proxy-url" has unsupported scheme "ftp"/,
      );
      await Deno.writeTextFile(config, mainConfig());
    });
  });
});

Deno.test("resolveRestConfig() never falls back to localhost:8080", async (t) => {
  await withTempDir(async (dir) => {
    const resolve = (env: Record<string, string>, flags: ConnectionFlags = {}) =>
      resolveRestConfig(testRuntime({ env, home: `${dir}/home`, cwd: dir }), flags, {
        inClusterDir: `${dir}/no-sa`,
      });
    await t.step("no kubeconfig at all", async () => {
      await rejectsWith(
        () => resolve({}),
        new RegExp(
          `^No cluster to connect to: KUBECONFIG is not set and "${dir}/home/.kube/config" does ` +
            `not exist, this is not a pod, and no "--server" was given$`,
        ),
      );
    });
    await t.step("KUBECONFIG files all missing", async () => {
      await rejectsWith(
        () => resolve({ KUBECONFIG: `${dir}/a:${dir}/b` }),
        new RegExp(
          `^No cluster to connect to: no file named by KUBECONFIG exists \\("${dir}/a", "${dir}/b"\\)`,
        ),
      );
    });
    await t.step("a kubeconfig without current-context", async () => {
      const { k } = await writeFiles(dir, {
        k: "clusters:\n- name: c\n  cluster: {server: https://c}\ncontexts:\n- name: x\n  context: {cluster: c}\n",
      });
      await rejectsWith(
        () => resolve({ KUBECONFIG: k }),
        new RegExp(`^No context chosen: no current-context is set in "${k}"; pass "--context"`),
      );
      assert.equal((await resolve({ KUBECONFIG: k }, { context: "x" })).server, "https://c");
    });
    await t.step("--server alone is enough", async () => {
      const c = await resolve({}, { server: "https://direct:6443", token: "t" });
      assert.equal(c.server, "https://direct:6443");
      assert.deepEqual(c.auth, { kind: "token", token: "t" });
      assert.equal(c.namespace, "default");
      assert.equal(c.origin.kind, "flags");
    });
    await t.step("KUBERNETES_MASTER, as in kubectl", async () => {
      assert.equal(
        (await resolve({ KUBERNETES_MASTER: "https://master:6443" })).server,
        "https://master:6443",
      );
    });
  });
});

Deno.test("resolveRestConfig() uses in-cluster config only when nothing names a server", async (t) => {
  await withWorld(async ({ dir, resolve }) => {
    const { "sa/token": tokenFile } = await writeFiles(dir, {
      "sa/token": "pod-token",
      "sa/ca.crt": CA,
      "sa/namespace": "pod-ns\n",
      "empty.yaml": "",
    });
    const sa = `${dir}/sa`;
    const pod = { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" };
    await t.step("no kubeconfig files", async () => {
      const c = await resolve({}, { ...pod, KUBECONFIG: `${dir}/missing` }, sa);
      assert.deepEqual(c, {
        server: "https://10.0.0.1:443",
        namespace: "pod-ns",
        namespaceFromFlag: false,
        caPem: CA,
        insecureSkipTlsVerify: false,
        auth: { kind: "token-file", path: tokenFile },
        cluster: { server: "https://10.0.0.1:443" },
        origin: { kind: "in-cluster", files: [] },
      });
    });
    await t.step("a kubeconfig that chooses nothing", async () => {
      const c = await resolve({}, { ...pod, KUBECONFIG: `${dir}/empty.yaml` }, sa);
      assert.equal(c.origin.kind, "in-cluster");
      assert.deepEqual(c.origin.files, [`${dir}/empty.yaml`]);
    });
    await t.step("--token, -n and --certificate-authority apply in a pod", async () => {
      const c = await resolve(
        {
          token: "flag-token",
          namespace: "n",
          certificateAuthority: "kube/pki/alice.crt",
        },
        { ...pod, KUBECONFIG: `${dir}/missing` },
        sa,
      );
      assert.deepEqual(c.auth, { kind: "token", token: "flag-token" });
      assert.equal(c.namespace, "n");
      assert.equal(c.caPem, ALICE.certPem);
    });
    await t.step(
      "a kubeconfig with a current context wins, the pod namespace fills in",
      async () => {
        const c = await resolve({ context: "nons" }, pod, sa);
        assert.equal(c.origin.kind, "kubeconfig");
        assert.equal(c.server, "https://embedded.example");
        assert.equal(c.namespace, "pod-ns");
        assert.equal((await resolve({}, pod, sa)).namespace, "team");
        assert.equal(
          (await resolve({ context: "nons" }, { ...pod, POD_NAMESPACE: "env-ns" }, sa)).namespace,
          "env-ns",
        );
      },
    );
    await t.step("--server skips in-cluster config, as in kubectl", async () => {
      const c = await resolve(
        { server: "https://s" },
        { ...pod, KUBECONFIG: `${dir}/missing` },
        sa,
      );
      assert.equal(c.server, "https://s");
      assert.equal(c.origin.kind, "flags");
    });
  });
});

Deno.test("resolveRestConfig() picks a proxy like client-go", async (t) => {
  await withWorld(async ({ resolve }) => {
    const env = { HTTPS_PROXY: "http://env-proxy:3128", NO_PROXY: "embedded.example" };
    await t.step("kubeconfig proxy-url wins over the environment", async () => {
      assert.equal(
        (await resolve({ cluster: "proxied" }, env)).proxyUrl,
        "http://kubeconfig-proxy:3128",
      );
    });
    await t.step("HTTPS_PROXY", async () => {
      assert.equal((await resolve({}, env)).proxyUrl, "http://env-proxy:3128");
    });
    await t.step("NO_PROXY", async () => {
      assert.equal((await resolve({ context: "nons" }, env)).proxyUrl, undefined);
    });
  });
});

Deno.test("resolveRestConfig() records the file that defines the user", async () => {
  await withTempDir(async (dir) => {
    const f = await writeFiles(dir, {
      a: "users:\n- name: u\n  user: {token: a}\n",
      b: "clusters:\n- name: c\n  cluster: {server: https://c}\nusers:\n- name: u\n  user: {token: b}\n" +
        "- name: v\n  user: {token: v}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n" +
        "current-context: x\n",
    });
    const runtime = testRuntime({ env: { KUBECONFIG: `${f.a}:${f.b}` }, cwd: dir });
    const c = await resolveRestConfig(runtime, {}, { inClusterDir: `${dir}/none` });
    assert.deepEqual(c.auth, { kind: "token", token: "a" });
    assert.equal(c.origin.userFile, f.a);
    assert.deepEqual(c.origin.files, [f.a, f.b]);
    const v = await resolveRestConfig(runtime, { user: "v" }, { inClusterDir: `${dir}/none` });
    assert.equal(v.origin.userFile, f.b);
  });
});
