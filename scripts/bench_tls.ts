/**
 * `deno run -A scripts/bench_tls.ts`: the fixed costs under every command that talks to a
 * cluster, measured in a fresh Deno process each (see docs/benchmarks.md): loading `node:https`,
 * the first TLS handshake, a second one, and the same with `fetch` and `Deno.connectTls`.
 */
import { startApiServer } from "../tests/apiserver/mod.ts";

const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 9);

// Each probe prints "<ms to import> <ms first request> <ms second request, new connection>".
const PROBES: Record<string, string> = {
  "node:https": `
const t0 = performance.now();
const https = (await import("node:https")).default;
const t1 = performance.now();
const get = () => new Promise((ok, no) => https.get(URL, { ca: CA, agent: false }, (r) => { r.resume(); r.on("end", ok); }).on("error", no));
await get(); const t2 = performance.now(); await get(); const t3 = performance.now();
console.log((t1 - t0).toFixed(1), (t2 - t1).toFixed(1), (t3 - t2).toFixed(1));`,
  "fetch + Deno.createHttpClient": `
const t0 = performance.now();
const get = async () => { const c = Deno.createHttpClient({ caCerts: [CA] }); await (await fetch(URL, { client: c })).arrayBuffer(); c.close(); };
const t1 = performance.now();
await get(); const t2 = performance.now(); await get(); const t3 = performance.now();
console.log((t1 - t0).toFixed(1), (t2 - t1).toFixed(1), (t3 - t2).toFixed(1));`,
  "Deno.connectTls (handshake only)": `
const t0 = performance.now();
const u = new globalThis.URL(URL);
const hs = async () => { const c = await Deno.connectTls({ hostname: u.hostname, port: Number(u.port), caCerts: [CA] }); await c.handshake(); c.close(); };
const t1 = performance.now();
await hs(); const t2 = performance.now(); await hs(); const t3 = performance.now();
console.log((t1 - t0).toFixed(1), (t2 - t1).toFixed(1), (t3 - t2).toFixed(1));`,
  "crypto.subtle.digest (first, second)": `
const t0 = performance.now();
const t1 = performance.now();
await crypto.subtle.digest("SHA-256", new Uint8Array(8)); const t2 = performance.now();
await crypto.subtle.digest("SHA-256", new Uint8Array(8)); const t3 = performance.now();
console.log((t1 - t0).toFixed(1), (t2 - t1).toFixed(1), (t3 - t2).toFixed(1));`,
};

function median(values: number[]): number {
  const s = [...values].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

if (import.meta.main) {
  const server = await startApiServer();
  const work = await Deno.makeTempDir({ prefix: "kubectl-token-bench-tls-" });
  try {
    const kubeconfig = await Deno.readTextFile(server.kubeconfigPath);
    const caFile = /certificate-authority:\s*"?([^"\s]+)/.exec(kubeconfig)?.[1];
    if (!caFile) throw new Error("no certificate-authority in the test kubeconfig");
    const ca = await Deno.readTextFile(caFile);
    const url = `${server.url}/version`;
    console.log(`${RUNS} fresh processes each, medians in ms`);
    console.log(
      `${"probe".padEnd(36)} ${"import".padStart(7)} ${"1st".padStart(7)} ${"2nd".padStart(7)}`,
    );
    for (const [name, body] of Object.entries(PROBES)) {
      const file = `${work}/probe.mjs`;
      await Deno.writeTextFile(
        file,
        `const URL = ${JSON.stringify(url)}; const CA = ${JSON.stringify(ca)};\n${body}\n`,
      );
      const rows: number[][] = [];
      for (let i = 0; i < RUNS; i++) {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "--no-config", "--no-lock", file],
          stdout: "piped",
          stderr: "piped",
        }).output();
        if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
        rows.push(new TextDecoder().decode(out.stdout).trim().split(" ").map(Number));
      }
      const cols = [0, 1, 2].map((c) => median(rows.map((r) => r[c])).toFixed(1).padStart(7));
      console.log(`${name.padEnd(36)} ${cols.join(" ")}`);
    }
  } finally {
    await server.close();
    await Deno.remove(work, { recursive: true });
  }
}
