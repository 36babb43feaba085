import assert from "node:assert/strict";
import { CliError } from "../../src/errors.ts";
import { parseKubeconfig } from "../../src/kubeconfig/parse.ts";

const FULL = `
apiVersion: v1
kind: Config
preferences: {colors: true}
clusters:
- name: prod
  cluster:
    server: https://prod.example:6443
    certificate-authority: certs/ca.crt
    tls-server-name: api.prod
    proxy-url: socks5://proxy:1080
    insecure-skip-tls-verify: false
    disable-compression: yes
    extensions:
    - name: client.authentication.k8s.io/exec
      extension: {audience: prod}
- name: embedded
  cluster:
    server: https://embedded:6443
    certificate-authority-data: |
      aGVsbG8g
      d29ybGQ=
users:
- name: files
  user:
    client-certificate: ../pki/me.crt
    client-key: /abs/me.key
    tokenFile: token
    as: admin
    as-uid: "42"
    as-groups: [a, b]
    as-user-extra: {scopes: [read, write]}
- name: exec-path
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/plugin
      args: [get-token, --x]
      env: [{name: A, value: "1"}]
      installHint: install it
      provideClusterInfo: true
      interactiveMode: Never
- name: exec-bare
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubelogin
- name: oidc
  user:
    auth-provider: {name: oidc, config: {client-id: x}}
- name: basic
  user: {username: bob, password: pw}
contexts:
- name: main
  context: {cluster: prod, user: files, namespace: team}
current-context: main
extensions:
- name: top
  extension: 1
`;

Deno.test("parseKubeconfig() reads kubectl's field names and resolves relative paths", async () => {
  const file = await parseKubeconfig(FULL, "/home/me/.kube/config");
  assert.equal(file.path, "/home/me/.kube/config");
  assert.equal(file.currentContext, "main");
  assert.deepEqual(file.preferences, { colors: true });
  assert.deepEqual(file.extensions, [{ name: "top", extension: 1 }]);
  assert.deepEqual(file.clusters, [
    {
      name: "prod",
      cluster: {
        server: "https://prod.example:6443",
        certificateAuthority: "/home/me/.kube/certs/ca.crt",
        tlsServerName: "api.prod",
        proxyUrl: "socks5://proxy:1080",
        insecureSkipTlsVerify: false,
        disableCompression: true,
        extensions: [{
          name: "client.authentication.k8s.io/exec",
          extension: { audience: "prod" },
        }],
      },
    },
    {
      name: "embedded",
      cluster: { server: "https://embedded:6443", certificateAuthorityData: "aGVsbG8gd29ybGQ=" },
    },
  ]);
  assert.deepEqual(file.users, [
    {
      name: "files",
      user: {
        clientCertificate: "/home/me/pki/me.crt",
        clientKey: "/abs/me.key",
        tokenFile: "/home/me/.kube/token",
        as: "admin",
        asUid: "42",
        asGroups: ["a", "b"],
        asUserExtra: { scopes: ["read", "write"] },
      },
    },
    {
      name: "exec-path",
      user: {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: "/home/me/.kube/bin/plugin",
          args: ["get-token", "--x"],
          env: [{ name: "A", value: "1" }],
          installHint: "install it",
          provideClusterInfo: true,
          interactiveMode: "Never",
        },
      },
    },
    {
      name: "exec-bare",
      user: {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1beta1",
          command: "kubelogin",
          interactiveMode: "IfAvailable",
        },
      },
    },
    { name: "oidc", user: { authProvider: { name: "oidc", config: { "client-id": "x" } } } },
    { name: "basic", user: { username: "bob", password: "pw" } },
  ]);
  assert.deepEqual(file.contexts, [
    { name: "main", context: { cluster: "prod", user: "files", namespace: "team" } },
  ]);
});

Deno.test("parseKubeconfig() treats empty and comment-only files as empty configs", async (t) => {
  for (const text of ["", "\n", "# nothing here\n", "---\n", "clusters: null\nusers: ~\n"]) {
    await t.step(JSON.stringify(text), async () => {
      assert.deepEqual(await parseKubeconfig(text, "/k/config"), {
        path: "/k/config",
        clusters: [],
        users: [],
        contexts: [],
      });
    });
  }
});

Deno.test("parseKubeconfig() uses Windows path rules when asked", async () => {
  const file = await parseKubeconfig(
    `users:
- name: u
  user:
    client-certificate: certs\\me.crt
    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: "bin\\\\plugin.exe"}
- name: v
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: "bin/plugin.exe"}
`,
    "C:\\Users\\me\\.kube\\config",
    { windows: true },
  );
  assert.equal(file.users[0].user.clientCertificate, "C:\\Users\\me\\.kube\\certs\\me.crt");
  assert.equal(file.users[0].user.exec?.command, "C:\\Users\\me\\.kube\\bin\\plugin.exe");
  // filepath.Separator on Windows is only "\", so client-go leaves "bin/plugin.exe" alone.
  assert.equal(file.users[1].user.exec?.command, "bin/plugin.exe");
});

Deno.test("parseKubeconfig() follows YAML 1.1 like kubectl (yes is true, a repeated key wins)", async () => {
  const file = await parseKubeconfig(
    "clusters:\n- name: c\n  cluster: {server: s1, insecure-skip-tls-verify: yes, server: s2}\n",
    "/k/config",
  );
  assert.deepEqual(file.clusters[0].cluster, { server: "s2", insecureSkipTlsVerify: true });
});

Deno.test("parseKubeconfig() rejects what kubectl rejects, in one line naming the file", async (t) => {
  const cases: [string, string, RegExp][] = [
    [
      "malformed YAML",
      "clusters: [\n",
      /^Cannot load kubeconfig "\/k\/config": invalid YAML at line \d+, column \d+: /,
    ],
    ["a list at the top", "- a\n", /the top level is not a mapping/],
    ["a scalar at the top", "just text\n", /the top level is not a mapping/],
    ["another kind", "kind: Pod\n", /unsupported kind "Pod"/],
    ["another version", "apiVersion: v2\n", /unsupported apiVersion "v2"/],
    [
      "a number token",
      "users:\n- name: a\n  user: {token: 12345}\n",
      /"users\[0\]\.user\.token" must be a string, not a number/,
    ],
    [
      "a boolean server",
      "clusters:\n- name: a\n  cluster: {server: y}\n",
      /"clusters\[0\]\.cluster\.server" must be a string, not a boolean/,
    ],
    [
      "bad base64",
      "clusters:\n- name: a\n  cluster: {certificate-authority-data: '!!'}\n",
      /"clusters\[0\]\.cluster\.certificate-authority-data" is not valid base64/,
    ],
    [
      "duplicate names in one file",
      "users:\n- name: a\n  user: {}\n- name: a\n  user: {}\n",
      /duplicate name "a" in "users"/,
    ],
    ["clusters not a list", "clusters: {a: 1}\n", /"clusters" must be a list, not a mapping/],
  ];
  for (const [name, text, pattern] of cases) {
    await t.step(name, async () => {
      await assert.rejects(() => parseKubeconfig(text, "/k/config"), (e: unknown) => {
        assert.ok(e instanceof CliError);
        assert.match(e.message, pattern);
        assert.match(e.message, /^Cannot load kubeconfig "\/k\/config": /);
        assert.ok(!e.message.includes("\n"), "one line");
        return true;
      });
    });
  }
});

Deno.test("parseKubeconfig() never quotes file content in a YAML error", async () => {
  const secret = "sekret-token-value";
  await assert.rejects(
    () => parseKubeconfig(`users:\n- name: a\n  user: {token: ${secret}\n  oops: [\n`, "/k/config"),
    (e: unknown) => e instanceof CliError && !e.message.includes(secret),
  );
});

Deno.test("parseKubeconfig() resolves scalars as go-yaml v2 does (kubectl 1.32 checked)", async (t) => {
  const name = async (value: string) =>
    (await parseKubeconfig(`clusters:\n- name: ${value}\n  cluster: {server: "https://x"}\n`, "/k"))
      .clusters[0].name;
  for (const value of ["e0", "E5", "e+3", "-e1", ".", "1:20", "1:20:30.5"]) {
    await t.step(`${value} is a string`, async () => assert.equal(await name(value), value));
  }
  for (const value of ["12", "1e3", ".5", "1.", "0x1f"]) {
    await t.step(
      `${value} is a number`,
      () =>
        assert.rejects(() => name(value), /"clusters\[0\]\.name" must be a string, not a number/),
    );
  }
});
