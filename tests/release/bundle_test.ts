import assert from "node:assert/strict";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { bundle } from "../../scripts/bundle.ts";
import { generateAuditLog } from "../../scripts/_audit_log_gen.ts";
import { sh } from "./_stand_in.ts";

/** Method names that survive minification and that only the Kubernetes client library defines. */
function holdsClientLibrary(text: string): boolean {
  return /loadFromDefault\s*\(/.test(text) && /makeApiClient/.test(text);
}

function unsignedToken(): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "");
  return `${b64({ alg: "none" })}.${b64({ sub: "system:serviceaccount:ns:sa", exp: 4e9 })}.`;
}

Deno.test("the bundle holds no Kubernetes client library, and its commands run", async (t) => {
  // Every request goes through src/api/ over node:https, and a proxy through hpagent or
  // socks-proxy-agent: nothing loads @kubernetes/client-node (its load cost 280-540 ms).
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-bundle-" });
  try {
    const entry = await bundle(join(dir, "dist"), { commit: "test" });
    for (const f of Deno.readDirSync(join(dir, "dist"))) {
      const text = await Deno.readTextFile(join(dir, "dist", f.name));
      assert.equal(holdsClientLibrary(text), false, `${f.name} holds the client library`);
    }
    await t.step("the check bites: the library's own build matches it", async () => {
      const library = new URL(
        "../../node_modules/@kubernetes/client-node/dist/config.js",
        import.meta.url,
      );
      const index = new URL(
        "../../node_modules/@kubernetes/client-node/dist/index.js",
        import.meta.url,
      );
      const text = await Deno.readTextFile(library) + await Deno.readTextFile(index);
      assert.ok(holdsClientLibrary(text), "the library's build no longer matches the check");
    });
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
      });
    }
    await t.step(
      "a proxy is set up without the library (the request itself fails: nothing listens)",
      async () => {
        const kubeconfig = join(dir, "proxy.kubeconfig");
        await Deno.writeTextFile(
          kubeconfig,
          JSON.stringify({
            apiVersion: "v1",
            kind: "Config",
            clusters: [{
              name: "c",
              cluster: { server: "https://127.0.0.1:1", "proxy-url": "socks5://127.0.0.1:1" },
            }],
            users: [{ name: "u", user: { token: "x" } }],
            contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
            "current-context": "c",
          }),
        );
        const r = await run(["whoami", "--kubeconfig", kubeconfig]);
        assert.equal(r.code, 1);
        assert.match(
          r.stderr,
          /^error: Unable to connect to the server "https:\/\/127\.0\.0\.1:1"/,
        );
        assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      },
    );
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

Deno.test("a bundle for deno run defers its command chunks, and its commands still run", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-deferred-" });
  try {
    const entry = await bundle(join(dir, "dist"), { commit: "test", deferChunks: true });
    const files = [...Deno.readDirSync(join(dir, "dist"))].map((f) => f.name);
    let deferred = 0;
    for (const name of files) {
      const text = await Deno.readTextFile(join(dir, "dist", name));
      assert.doesNotMatch(text, /\bimport\("\.\/[\w.-]+\.js"\)/, `${name} imports a literal`);
      deferred += text.match(/\bimport\("\.\/[\w.-]+\.js"\+""\)/g)?.length ?? 0;
    }
    assert.ok(deferred >= 14, `only ${deferred} deferred imports (one per command at least)`);
    await t.step("deno run reads only the chunks the entry imports statically", async () => {
      const r = await sh(Deno.execPath(), ["info", "--json", "--no-config", "--no-lock", entry]);
      assert.equal(r.code, 0, r.stderr);
      const graph = JSON.parse(r.stdout).modules as { specifier: string }[];
      assert.ok(graph.length < files.length / 2, `${graph.length} of ${files.length} chunks`);
    });
    const run = (args: string[]) =>
      sh(Deno.execPath(), ["run", "--allow-all", "--no-config", "--no-lock", entry, ...args], {
        env: { HOME: dir, KUBECONFIG: join(dir, "none"), NO_COLOR: "1" },
        clearEnv: true,
      });
    for (
      const args of [["--help"], ["create", "--help"], ["version", "-o", "json"], [
        "decode",
        unsignedToken(),
      ], ["frob"]]
    ) {
      await t.step(args.map((a) => a.length > 40 ? "<token>" : a).join(" "), async () => {
        const r = await run(args);
        if (args[0] === "frob") {
          assert.equal(r.code, 2, r.stderr);
          assert.match(r.stderr, /^error: unknown command 'frob'/);
        } else assert.equal(r.code, 0, r.stderr);
        if (args[0] === "version") assert.equal(JSON.parse(r.stdout).gitCommit, "test");
      });
    }
    await t.step("usage on two threads: the worker is the bundle's entry point", async () => {
      const log = join(dir, "audit.log");
      const { events } = await generateAuditLog(log, { bytes: 0, events: 3_000, seed: 3 });
      const usage = (threads: string) =>
        sh(Deno.execPath(), [
          "run",
          "--allow-all",
          "--no-config",
          "--no-lock",
          entry,
          "usage",
          "--audit-log",
          log,
          "-o",
          "json",
          "--offline",
          "-v=6",
        ], {
          env: {
            HOME: dir,
            KUBECONFIG: join(dir, "none"),
            NO_COLOR: "1",
            KUBECTL_TOKEN_USAGE_THREADS: threads,
          },
          clearEnv: true,
        });
      const [one, two] = [await usage("1"), await usage("2")];
      assert.equal(two.code, 0, two.stderr);
      assert.match(two.stderr, new RegExp(`read ${events} events, .* on 2 threads`));
      assert.equal(two.stdout, one.stdout);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
