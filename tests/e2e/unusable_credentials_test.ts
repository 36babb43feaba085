/**
 * A credential field that is present but cannot be used is an error naming the field, never a
 * request without it: kubectl 1.32 refuses the same files (its message is the referee), and the
 * server must not have seen a request from us.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, runKubectl } from "./_cli.ts";
import { startApiServer } from "../apiserver/mod.ts";

const b64 = (text: string) => btoa(text);

interface Case {
  name: string;
  /** Cluster and user fields; `@name` values are paths of files in `files`. */
  cluster: Record<string, string>;
  user: Record<string, string>;
  files?: Record<string, string>;
  /** What kubectl says (it fails on every case). */
  kubectl: RegExp;
  ours: RegExp;
}

Deno.test("unusable credential fields are errors naming the field, as in kubectl", async (t) => {
  const server = await startApiServer();
  const dir = await Deno.makeTempDir({ prefix: "unusable-credentials-" });
  try {
    const ca = server.caPem;
    const admin = await server.issueClientCert("kubernetes-admin", ["system:masters"]);
    const other = await server.issueClientCert("other");
    const good = { "certificate-authority-data": b64(ca) };
    const pair = {
      "client-certificate-data": b64(admin.certPem),
      "client-key-data": b64(admin.keyPem),
    };
    const corruptKey =
      "-----BEGIN EC PRIVATE KEY-----\nZ2FyYmFnZQ==\n-----END EC PRIVATE KEY-----\n";
    const cases: Case[] = [
      {
        name: "client-key-data garbage",
        cluster: good,
        user: { ...pair, "client-key-data": b64("garbage") },
        kubectl: /tls: failed to find any PEM data in key input/,
        ours:
          /^error: Cannot use user "u": "client-key-data" holds no PEM data \(expected a PEM private key\)$/,
      },
      {
        name: "client-certificate-data garbage",
        cluster: good,
        user: { ...pair, "client-certificate-data": b64("garbage") },
        kubectl: /tls: failed to find any PEM data in certificate input/,
        ours:
          /^error: Cannot use user "u": "client-certificate-data" holds no PEM data \(expected a PEM certificate\)$/,
      },
      {
        name: "certificate-authority-data garbage",
        cluster: { "certificate-authority-data": b64("garbage") },
        user: pair,
        kubectl: /unable to load root certificates: unable to parse bytes as PEM block/,
        ours:
          /^error: Cannot use cluster "local": "certificate-authority-data" holds no PEM data \(expected a PEM certificate\)$/,
      },
      {
        name: "client-key file garbage",
        cluster: good,
        user: { "client-certificate-data": pair["client-certificate-data"], "client-key": "@bad" },
        files: { bad: "garbage\n" },
        kubectl: /tls: failed to find any PEM data in key input/,
        ours:
          /^error: Cannot use user "u": client-key "\S+\/bad" holds no PEM data \(expected a PEM private key\)$/,
      },
      {
        name: "client-certificate file holding a key",
        cluster: good,
        user: { "client-certificate": "@key.pem", "client-key-data": pair["client-key-data"] },
        files: { "key.pem": admin.keyPem },
        kubectl:
          /failed to find certificate PEM data in certificate input, but did find a private key/,
        ours:
          /^error: Cannot use user "u": client-certificate "\S+\/key.pem" holds no PEM certificate \(found "EC PRIVATE KEY"\)$/,
      },
      {
        name: "certificate-authority file garbage",
        cluster: { "certificate-authority": "@bad" },
        user: pair,
        files: { bad: "garbage\n" },
        kubectl: /unable to load root certificates: unable to parse bytes as PEM block/,
        ours:
          /^error: Cannot use cluster "local": certificate-authority "\S+\/bad" holds no PEM data/,
      },
      {
        // kubectl takes an empty CA file for none and then distrusts the server.
        name: "certificate-authority file empty",
        cluster: { "certificate-authority": "@empty" },
        user: pair,
        files: { empty: "" },
        kubectl: /certificate signed by unknown authority/,
        ours:
          /^error: Cannot use cluster "local": certificate-authority "\S+\/empty" is empty \(expected a PEM certificate\)$/,
      },
      {
        name: "client-key file empty",
        cluster: good,
        user: {
          "client-certificate-data": pair["client-certificate-data"],
          "client-key": "@empty",
        },
        files: { empty: "" },
        kubectl: /tls: failed to find any PEM data in key input/,
        ours:
          /^error: Cannot use user "u": client-key "\S+\/empty" is empty \(expected a PEM private key\)$/,
      },
      {
        name: "client-key-data a corrupt PEM block",
        cluster: good,
        user: { ...pair, "client-key-data": b64(corruptKey) },
        kubectl: /tls: failed to parse private key/,
        ours:
          /^error: Cannot use user "u": "client-key-data" is not a valid private key: its PEM block cannot be parsed/,
      },
      {
        name: "client certificate and key that do not match",
        cluster: good,
        user: { ...pair, "client-key-data": b64(other.keyPem) },
        kubectl: /tls: private key does not match public key/,
        ours:
          /^error: Cannot use user "u": the private key of "client-key-data" does not match the certificate of "client-certificate-data"$/,
      },
      {
        name: "client-key file missing",
        cluster: good,
        user: {
          "client-certificate-data": pair["client-certificate-data"],
          "client-key": "@missing",
        },
        kubectl: /no such file or directory/,
        ours:
          /^error: Cannot read client-key "\S+\/missing" of user "u": no such file or directory$/,
      },
      {
        name: "tokenFile missing",
        cluster: good,
        user: { tokenFile: "@missing" },
        kubectl: /no such file or directory/,
        ours:
          /^error: Cannot read tokenFile "\S+\/missing" of user "u": no such file or directory$/,
      },
      {
        name: "tokenFile a folder",
        cluster: good,
        user: { tokenFile: "@" },
        kubectl: /is a directory/,
        ours: /^error: Cannot read tokenFile "\S+" of user "u": is a directory$/,
      },
      {
        // kubectl falls back to asking for a username, and fails on the closed stdin.
        name: "tokenFile empty",
        cluster: good,
        user: { tokenFile: "@empty" },
        files: { empty: "" },
        kubectl: /^error: EOF$/m,
        ours: /^error: Cannot read tokenFile "\S+\/empty" of user "u": it is empty$/,
      },
    ];
    for (const c of cases) {
      await t.step(c.name, async () => {
        const folder = await Deno.makeTempDir({ dir });
        for (const [name, text] of Object.entries(c.files ?? {})) {
          await Deno.writeTextFile(join(folder, name), text);
        }
        const paths = (fields: Record<string, string>) =>
          Object.fromEntries(
            Object.entries(fields).map((
              [k, v],
            ) => [k, v.startsWith("@") ? join(folder, v.slice(1)) : v]),
          );
        const kubeconfig = join(folder, "config");
        await Deno.writeTextFile(
          kubeconfig,
          JSON.stringify({
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: "local", cluster: { server: server.url, ...paths(c.cluster) } }],
            users: [{ name: "u", user: paths(c.user) }],
            contexts: [{ name: "c", context: { cluster: "local", user: "u" } }],
            "current-context": "c",
          }),
        );
        const env = { KUBECONFIG: kubeconfig };
        const k = await runKubectl(["get", "--raw", "/version"], { env });
        assert.notEqual(k.code, 0, k.stdout);
        assert.match(k.stderr, c.kubectl);

        const before = server.requests.length;
        const r = await runCli(["whoami"], { env });
        assert.equal(r.code, 1, r.stdout);
        assert.equal(r.stdout, "");
        assert.match(r.stderr.trimEnd(), c.ours);
        assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
        assert.equal(server.requests.length, before, "no request may go out");
      });
    }
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
