import assert from "node:assert/strict";
import { CliError } from "../../src/errors.ts";
import { getCredential } from "../../src/kubeconfig/credentials.ts";
import type { ExecConfig, RestConfig } from "../../src/kubeconfig/types.ts";
import { b64, fixture, rejectsWith, testRuntime, withTempDir, writeFiles } from "./_helpers.ts";

const V1 = "client.authentication.k8s.io/v1";
const V1BETA1 = "client.authentication.k8s.io/v1beta1";
const TOKEN = "plugin-secret-token";

/** A plugin that records its input and prints $RESPONSE (then exits with $EXIT). */
const PLUGIN = `#!/bin/sh
printf '%s' "$KUBERNETES_EXEC_INFO" > "$OUT/info.json"
printf '%s\\n' "$@" > "$OUT/args.txt"
printf '%s' "$PLUGIN_SETTING" > "$OUT/setting.txt"
printf '%s' "$RESPONSE"
exit "\${EXIT:-0}"
`;

function restConfig(exec: ExecConfig, extra: Partial<RestConfig> = {}): RestConfig {
  return {
    server: "https://api.example:6443",
    namespace: "default",
    namespaceFromFlag: false,
    insecureSkipTlsVerify: false,
    auth: { kind: "exec", exec },
    cluster: { server: "https://api.example:6443" },
    origin: { kind: "kubeconfig", files: [] },
    ...extra,
  };
}

function response(apiVersion: string, status: unknown): string {
  return JSON.stringify({ apiVersion, kind: "ExecCredential", status });
}

async function withPlugin(fn: (plugin: string, out: string) => Promise<void>): Promise<void> {
  await withTempDir(async (dir) => {
    const { plugin } = await writeFiles(dir, { plugin: PLUGIN });
    await Deno.chmod(plugin, 0o755);
    await fn(plugin, dir);
  });
}

function execConfig(
  plugin: string,
  out: string,
  extra: Omit<Partial<ExecConfig>, "env">,
  env: Record<string, string>,
): ExecConfig {
  return {
    apiVersion: V1,
    command: plugin,
    interactiveMode: "Never",
    ...extra,
    env: Object.entries({ OUT: out, ...env }).map(([name, value]) => ({ name, value })),
  };
}

Deno.test("getCredential() runs a v1 exec plugin with cluster info, args and env", async () => {
  await withPlugin(async (plugin, out) => {
    const exec = execConfig(plugin, out, {
      args: ["get-token", "--flag=x"],
      provideClusterInfo: true,
    }, {
      PLUGIN_SETTING: "from-kubeconfig",
      RESPONSE: response(V1, { token: TOKEN, expirationTimestamp: "2030-01-02T03:04:05Z" }),
    });
    const ca = fixture("ca.crt");
    const config = restConfig(exec, {
      caPem: ca,
      tlsServerName: "api.internal",
      cluster: {
        server: "https://api.example:6443",
        proxyUrl: "http://proxy:3128",
        extensions: [
          { name: "other", extension: { no: 1 } },
          { name: "client.authentication.k8s.io/exec", extension: { audience: "prod" } },
        ],
      },
    });
    const credential = await getCredential(testRuntime(), config);
    assert.deepEqual(credential, {
      token: TOKEN,
      expiresAt: new Date("2030-01-02T03:04:05Z"),
      source: "exec",
    });
    // Byte for byte what kubectl 1.32 sets (key order included).
    assert.equal(
      await Deno.readTextFile(`${out}/info.json`),
      `{"kind":"ExecCredential","apiVersion":"${V1}","spec":{"cluster":{` +
        `"server":"https://api.example:6443","tls-server-name":"api.internal",` +
        `"certificate-authority-data":"${b64(ca)}","proxy-url":"http://proxy:3128",` +
        `"config":{"audience":"prod"}},"interactive":false}}`,
    );
    assert.equal(await Deno.readTextFile(`${out}/args.txt`), "get-token\n--flag=x\n");
    assert.equal(await Deno.readTextFile(`${out}/setting.txt`), "from-kubeconfig");
  });
});

Deno.test("getCredential() runs a v1beta1 exec plugin without cluster info", async () => {
  await withPlugin(async (plugin, out) => {
    const exec = execConfig(plugin, out, { apiVersion: V1BETA1, interactiveMode: "IfAvailable" }, {
      RESPONSE: response(V1BETA1, { token: TOKEN }),
    });
    const credential = await getCredential(testRuntime(), restConfig(exec));
    assert.deepEqual(credential, { token: TOKEN, source: "exec" });
    assert.equal(
      await Deno.readTextFile(`${out}/info.json`),
      `{"kind":"ExecCredential","apiVersion":"${V1BETA1}","spec":{"interactive":false}}`,
    );
  });
});

Deno.test("getCredential() passes insecure, compression and a null config like kubectl", async () => {
  await withPlugin(async (plugin, out) => {
    const exec = execConfig(plugin, out, { provideClusterInfo: true }, {
      RESPONSE: response(V1, { token: TOKEN }),
    });
    const config = restConfig(exec, {
      insecureSkipTlsVerify: true,
      cluster: { server: "https://api.example:6443", disableCompression: true },
    });
    await getCredential(testRuntime(), config);
    assert.equal(
      await Deno.readTextFile(`${out}/info.json`),
      `{"kind":"ExecCredential","apiVersion":"${V1}","spec":{"cluster":{` +
        `"server":"https://api.example:6443","insecure-skip-tls-verify":true,` +
        `"disable-compression":true,"config":null},"interactive":false}}`,
    );
  });
});

Deno.test("getCredential() tells an interactive exec plugin that stdin is a terminal", async () => {
  await withPlugin(async (plugin, out) => {
    const RESPONSE = response(V1, { token: TOKEN });
    for (const mode of ["IfAvailable", "Always"] as const) {
      const exec = execConfig(plugin, out, { interactiveMode: mode }, { RESPONSE });
      await getCredential(testRuntime({ stdinTerminal: true }), restConfig(exec));
      const info = JSON.parse(await Deno.readTextFile(`${out}/info.json`));
      assert.equal(info.spec.interactive, true, mode);
    }
  });
});

Deno.test("getCredential() returns an exec plugin's client certificate", async () => {
  await withPlugin(async (plugin, out) => {
    const [certPem, keyPem] = [fixture("alice.crt"), fixture("alice.key")];
    const exec = execConfig(plugin, out, {}, {
      RESPONSE: response(V1, { clientCertificateData: certPem, clientKeyData: keyPem }),
    });
    assert.deepEqual(await getCredential(testRuntime(), restConfig(exec)), {
      certPem,
      keyPem,
      source: "exec",
    });
  });
});

Deno.test("getCredential() exec plugin failures are one line and never quote the output", async (t) => {
  await withPlugin(async (plugin, out) => {
    const cases: [
      string,
      Omit<Partial<ExecConfig>, "env">,
      Record<string, string>,
      RegExp,
      boolean?,
    ][] = [
      ["non-zero exit", {}, {
        RESPONSE: response(V1, { token: TOKEN }),
        EXIT: "3",
      }, new RegExp(`: exec: executable "${plugin}" failed with exit code 3$`)],
      [
        "output is not JSON",
        {},
        { RESPONSE: `{"status": {"token": "${TOKEN}"` },
        /its output is neither JSON nor YAML$/,
      ],
      [
        "output is not an object",
        {},
        { RESPONSE: TOKEN },
        /its output is not an ExecCredential object$/,
      ],
      [
        "another apiVersion",
        {},
        { RESPONSE: response(V1BETA1, { token: TOKEN }) },
        new RegExp(
          `exec plugin is configured to use API version "${V1}", plugin returned version "${V1BETA1}"$`,
        ),
      ],
      ["another kind", {}, {
        RESPONSE: JSON.stringify({ apiVersion: V1, kind: "Secret", status: { token: TOKEN } }),
      }, /its output is of kind "Secret", not "ExecCredential"$/],
      [
        "no apiVersion",
        {},
        { RESPONSE: JSON.stringify({ kind: "ExecCredential" }) },
        /has no "apiVersion"$/,
      ],
      [
        "a key that is not PEM",
        {},
        {
          RESPONSE: response(V1, {
            clientCertificateData: fixture("alice.crt"),
            clientKeyData: TOKEN,
          }),
        },
        /"status.clientKeyData" holds no PEM data \(expected a PEM private key\)$/,
      ],
      [
        "a certificate and key that do not match",
        {},
        {
          RESPONSE: response(V1, {
            clientCertificateData: fixture("alice.crt"),
            clientKeyData: fixture("bob.key"),
          }),
        },
        /the private key of "status.clientKeyData" does not match the certificate of "status.clientCertificateData"$/,
      ],
      [
        "no status",
        {},
        { RESPONSE: JSON.stringify({ apiVersion: V1, kind: "ExecCredential" }) },
        /didn't return a status field$/,
      ],
      [
        "empty status",
        {},
        { RESPONSE: response(V1, {}) },
        /didn't return a token or cert\/key pair$/,
      ],
      [
        "certificate without key",
        {},
        { RESPONSE: response(V1, { clientCertificateData: "x" }) },
        /returned only certificate or key, not both$/,
      ],
      ["bad expiration", {}, {
        RESPONSE: response(V1, { token: TOKEN, expirationTimestamp: "tomorrow" }),
      }, /"status.expirationTimestamp" "tomorrow" is not an RFC 3339 time$/],
      [
        "unsupported apiVersion",
        { apiVersion: "client.authentication.k8s.io/v1alpha1" },
        {
          RESPONSE: response(V1, { token: TOKEN }),
        },
        /invalid apiVersion "client.authentication.k8s.io\/v1alpha1"$/,
        true,
      ],
      [
        "Always without a terminal",
        { interactiveMode: "Always" },
        {
          RESPONSE: response(V1, { token: TOKEN }),
        },
        /exec plugin cannot support interactive mode: standard input is not a terminal$/,
        true,
      ],
    ];
    for (const [name, extra, env, pattern, notRun] of cases) {
      await t.step(name, async () => {
        await Deno.remove(`${out}/info.json`).catch(() => {});
        const exec = execConfig(plugin, out, extra, env);
        const message = await rejectsWith(
          () => getCredential(testRuntime(), restConfig(exec)),
          pattern,
        );
        assert.match(message, new RegExp(`^Cannot get credentials from exec plugin "${plugin}": `));
        assert.ok(!message.includes(TOKEN), "no token in the message");
        assert.ok(!message.includes("\n"), "one line");
        if (notRun) {
          assert.equal(await Deno.stat(`${out}/info.json`).catch(() => undefined), undefined);
        }
      });
    }
  });
});

Deno.test("getCredential() names a missing exec plugin with its install hint on one line", async () => {
  const exec: ExecConfig = {
    apiVersion: V1,
    command: "kubectl-token-test-no-such-plugin",
    installHint: "Install it with:\n  \x1b[1mbrew install\x1b[0m no-such-plugin\n",
    interactiveMode: "Never",
  };
  try {
    await getCredential(testRuntime(), restConfig(exec));
    assert.fail("expected an error");
  } catch (e) {
    assert.ok(e instanceof CliError);
    assert.equal(
      e.message,
      `Cannot get credentials from exec plugin "kubectl-token-test-no-such-plugin": exec: ` +
        `executable "kubectl-token-test-no-such-plugin" not found; Install it with: ` +
        `U+001B[1mbrew installU+001B[0m no-such-plugin`,
    );
    assert.match(e.detail ?? "", /client-go credential plugin that is not installed/);
  }
});

Deno.test("getCredential() re-reads a token file on every call", async () => {
  await withTempDir(async (dir) => {
    const { token } = await writeFiles(dir, { token: "first\n" });
    const config = restConfig({ apiVersion: V1, command: "x" }, {
      auth: { kind: "token-file", path: token },
    });
    assert.deepEqual(await getCredential(testRuntime(), config), {
      token: "first",
      source: "token-file",
    });
    await Deno.writeTextFile(token, "  rotated  \n");
    assert.equal((await getCredential(testRuntime(), config)).token, "rotated");
    const inCluster = { ...config, origin: { kind: "in-cluster" as const, files: [] } };
    assert.equal((await getCredential(testRuntime(), inCluster)).source, "in-cluster");
    await Deno.writeTextFile(token, "\n");
    await rejectsWith(
      () => getCredential(testRuntime(), config),
      /^Cannot read token file ".*": it is empty$/,
    );
    await Deno.remove(token);
    await rejectsWith(
      () => getCredential(testRuntime(), config),
      /^Cannot read token file ".*": no such file or directory$/,
    );
  });
});

Deno.test("getCredential() other kinds", async (t) => {
  const base = restConfig({ apiVersion: V1, command: "x" });
  const cert = { certPem: "CERT", keyPem: "KEY" };
  const cases: [string, Partial<RestConfig>, unknown][] = [
    ["token", { auth: { kind: "token", token: "t" } }, { token: "t", source: "token" }],
    ["token with a TLS client certificate", {
      auth: { kind: "token", token: "t" },
      tlsClientCertificate: cert,
    }, { token: "t", ...cert, source: "token" }],
    ["client certificate", { auth: { kind: "client-certificate", ...cert } }, {
      ...cert,
      source: "client-certificate",
    }],
    ["basic", { auth: { kind: "basic", username: "u", password: "p" } }, {
      username: "u",
      password: "p",
      source: "basic",
    }],
    ["none", { auth: { kind: "none" } }, { source: "none" }],
  ];
  for (const [name, extra, expected] of cases) {
    await t.step(name, async () => {
      assert.deepEqual(await getCredential(testRuntime(), { ...base, ...extra }), expected);
    });
  }
});

Deno.test("getCredential() refuses auth-provider plugins as kubectl 1.26+ does", async (t) => {
  const cases: [string, RegExp][] = [
    ["gcp", /the gcp auth plugin was removed from kubectl; use the "gke-gcloud-auth-plugin"/],
    [
      "azure",
      /the azure auth plugin was removed from kubectl; use the https:\/\/github.com\/Azure\/kubelogin/,
    ],
    ["oidc", /auth-provider plugins were removed from kubectl \(1.26\+\) and are not supported/],
  ];
  for (const [name, pattern] of cases) {
    await t.step(name, async () => {
      const config = restConfig({ apiVersion: V1, command: "x" }, {
        auth: { kind: "auth-provider", name },
        userName: "me",
      });
      const message = await rejectsWith(() => getCredential(testRuntime(), config), pattern);
      assert.match(message, new RegExp(`^Cannot use auth-provider "${name}" of user "me": `));
    });
  }
});
