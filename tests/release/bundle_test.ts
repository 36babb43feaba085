import assert from "node:assert/strict";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { bundle } from "../../scripts/bundle.ts";
import { sh } from "./_stand_in.ts";

const POISON = "KUBERNETES_CLIENT_LIBRARY_LOADED";

/**
 * The bundle with every chunk of @kubernetes/client-node replaced by a module that throws: any
 * path that loads the library, statically or dynamically, then fails (evaluating the chunk
 * throws; linking a chunk that imports names from it fails). Deno loads literal dynamic imports
 * of local files without read permission, so a permission-based check would prove nothing.
 */
async function poisonedBundle(dir: string): Promise<string> {
  const entry = await bundle(dir, { commit: "test" });
  let poisoned = 0;
  for (const f of Deno.readDirSync(dir)) {
    const file = join(dir, f.name);
    // Method names survive minification; these are defined only by the client library.
    const text = await Deno.readTextFile(file);
    if (/loadFromDefault\s*\(/.test(text) && /makeApiClient/.test(text)) {
      await Deno.writeTextFile(file, `throw new Error("${POISON}");\n`);
      poisoned++;
    }
  }
  assert.ok(poisoned >= 1, "no chunk holds the Kubernetes client library");
  return entry;
}

function unsignedToken(): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "");
  return `${b64({ alg: "none" })}.${b64({ sub: "system:serviceaccount:ns:sa", exp: 4e9 })}.`;
}

Deno.test("help, version and decode never load the Kubernetes client library", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-bundle-" });
  try {
    const entry = await poisonedBundle(join(dir, "dist"));
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    await Deno.writeTextFile(join(dir, "jwks.json"), JSON.stringify({ keys: [jwk] }));
    const signed = await new SignJWT({ sub: "system:serviceaccount:ns:sa" })
      .setProtectedHeader({ alg: "RS256", kid: "k1" }).setIssuedAt().setExpirationTime("1h")
      .sign(privateKey);
    const run = (args: string[]) =>
      sh(Deno.execPath(), ["run", "--allow-all", "--no-config", "--no-lock", entry, ...args], {
        env: { HOME: dir, KUBECONFIG: join(dir, "none"), NO_COLOR: "1" },
        clearEnv: true,
      });
    const cases: string[][] = [
      ["--help"],
      ["create", "--help"],
      ["decode", "--help"],
      ["version", "-o", "json"],
      ["decode", unsignedToken()],
      ["decode", signed, "--verify", "--jwks", join(dir, "jwks.json"), "-o", "json"],
    ];
    for (const args of cases) {
      await t.step(args.map((a) => a.length > 40 ? "<token>" : a).join(" "), async () => {
        const r = await run(args);
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stderr, new RegExp(POISON));
      });
    }
    await t.step("the check bites: a path that loads the library fails", async () => {
      // A proxy is the one path that builds its agent with the client library.
      const kubeconfig = join(dir, "proxy.kubeconfig");
      await Deno.writeTextFile(
        kubeconfig,
        JSON.stringify({
          apiVersion: "v1",
          kind: "Config",
          clusters: [{
            name: "c",
            cluster: { server: "https://127.0.0.1:1", "proxy-url": "http://127.0.0.1:1" },
          }],
          users: [{ name: "u", user: { token: "x" } }],
          contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
          "current-context": "c",
        }),
      );
      const r = await run(["whoami", "--kubeconfig", kubeconfig]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(POISON));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every chunk of the bundle is in its module graph, so deno compile embeds it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-graph-" });
  try {
    const entry = await bundle(dir, { commit: "test" });
    const r = await sh(Deno.execPath(), ["info", "--json", "--no-config", "--no-lock", entry]);
    assert.equal(r.code, 0, r.stderr);
    const inGraph = new Set(
      (JSON.parse(r.stdout).modules as { specifier: string }[]).map((m) => m.specifier),
    );
    for (const f of Deno.readDirSync(dir)) {
      const url = new URL(`file://${join(dir, f.name)}`).href;
      assert.ok(inGraph.has(url), `${f.name} is not reachable from mod.js`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
