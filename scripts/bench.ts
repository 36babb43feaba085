/**
 * `deno task bench`: kubectl-token next to kubectl on the same machine, in one run.
 *
 * Starts tests/apiserver, installs the bundled plugin into a temporary PATH folder, then runs
 * each pair alternately (A B A B ...) after a warm-up and prints the median wall time, the
 * median peak memory (RSS) and the ratios A/B, so that the figures survive a noisy machine.
 * Peak RSS comes from getrusage(RUSAGE_CHILDREN) through python3's resource module.
 * These are measurements, not tests: nothing here fails on a slow machine.
 *
 * BENCH_KUBECONFIG=FILE measures against that cluster instead (e.g. the real kube-apiserver of
 * scripts/kube_up.sh: `BENCH_KUBECONFIG=$DIR/admin.kubeconfig deno task bench`); the audit row,
 * which seeds the local server, is then left out. Where the server serves no SelfSubjectReview
 * (before 1.26 beta) `kubectl auth whoami` cannot run, and whoami is compared with
 * `kubectl get --raw /version`, one authenticated request, as issue #12 sets it.
 */
import { join } from "node:path";
import { startApiServer } from "../tests/apiserver/mod.ts";
import { median } from "./_stats.ts";
import { bundle } from "./bundle.ts";
import { writeLauncher } from "./install.ts";

interface Sample {
  ms: number;
  rssKb: number;
}

interface Pair {
  /** The command as run: "kubectl-token ..." runs the plugin directly, "kubectl token ..." through kubectl. */
  name: string;
  /** The target for the time ratio A/B (and, for audit, the memory ratio). */
  target?: { time: number; memory?: number };
  a: string[];
  b: string[];
  /** Standard input for both sides. */
  stdin?: string;
}

const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 15);
const WARMUP = 2;
/** Only the pairs whose name matches this regular expression (all by default). */
const ONLY = new RegExp(Deno.env.get("BENCH_ONLY") ?? "");

// Runs one command and reports its wall time and its peak RSS (kB on Linux).
const MEASURE = `
import resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
ms = (time.perf_counter() - t) * 1000
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stdout.write(f"{p.returncode} {ms:.2f} {rss}\\n")
if p.returncode != 0:
    sys.stderr.write(p.stderr.decode(errors="replace")[-300:])
`;

async function measure(argv: string[], env: Record<string, string>): Promise<Sample> {
  const out = await new Deno.Command("python3", {
    args: ["-c", MEASURE, ...argv],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const [code, ms, rss] = new TextDecoder().decode(out.stdout).trim().split(" ");
  if (code !== "0") {
    throw new Error(`${argv.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return { ms: Number(ms), rssKb: Number(rss) };
}

async function runPair(pair: Pair, env: Record<string, string>) {
  const a: Sample[] = [];
  const b: Sample[] = [];
  for (let i = 0; i < WARMUP; i++) {
    await measure(pair.a, env);
    await measure(pair.b, env);
  }
  for (let i = 0; i < RUNS; i++) {
    a.push(await measure(pair.a, env));
    b.push(await measure(pair.b, env));
  }
  const am = median(a.map((s) => s.ms));
  const bm = median(b.map((s) => s.ms));
  const ar = median(a.map((s) => s.rssKb)) / 1024;
  const br = median(b.map((s) => s.rssKb)) / 1024;
  return { am, bm, ar, br };
}

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ");
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) total += (await Deno.stat(join(dir, e.name))).size;
  }
  return total;
}

async function loadAverage(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

function seedSecrets(server: Awaited<ReturnType<typeof startApiServer>>, count: number): void {
  const namespaces = Math.max(1, Math.floor(count / 10));
  for (let n = 0; n < namespaces; n++) {
    const ns = `bench-${n}`;
    server.store.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    for (let i = 0; i < count / namespaces; i++) {
      server.store.create({
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: `token-${i}`,
          namespace: ns,
          annotations: { "kubernetes.io/service-account.name": "default" },
        },
        type: "kubernetes.io/service-account-token",
        data: { token: btoa(`not-a-real-token-${n}-${i}`) },
      });
    }
  }
}

if (import.meta.main) {
  const work = await Deno.makeTempDir({ prefix: "kubectl-token-bench-" });
  const given = Deno.env.get("BENCH_KUBECONFIG");
  const server = given ? undefined : await startApiServer();
  const kubeconfigPath = given ?? server!.kubeconfigPath;
  try {
    const entry = await bundle(join(work, "dist"), { deferChunks: true });
    const binDir = join(work, "bin");
    await writeLauncher(binDir, entry);
    const env: Record<string, string> = {
      ...Deno.env.toObject(),
      PATH: `${binDir}:${Deno.env.get("PATH") ?? ""}`,
      KUBECONFIG: kubeconfigPath,
      KUBECACHEDIR: join(work, "kubecache"),
      HOME: work,
    };
    const run = async (args: string[]) =>
      new TextDecoder().decode(
        (await new Deno.Command("kubectl", { args, env, stdout: "piped" }).output()).stdout,
      );
    const token = await run(["create", "token", "default", "--duration", "1h"]);
    const plugin = join(binDir, "kubectl-token");
    const whoamiPeer = (await run(["auth", "whoami", "-o", "name"])).trim()
      ? ["kubectl", "auth", "whoami"]
      : ["kubectl", "get", "--raw", "/version"];
    // "kubectl token ..." includes kubectl's own start-up and plugin lookup (~40 ms) before the
    // plugin starts; kubectl runs an exec credential plugin by its path, so the exec-credential
    // and decode targets compare the plugin run directly ("kubectl-token ...").
    const pairs: Pair[] = [
      {
        name: "kubectl token create SA",
        a: ["kubectl", "token", "create", "default"],
        b: ["kubectl", "create", "token", "default"],
        target: { time: 2.0 },
      },
      {
        name: "kubectl-token create SA",
        a: [plugin, "create", "default"],
        b: ["kubectl", "create", "token", "default"],
        target: { time: 1.2 },
      },
      {
        name: "kubectl token whoami",
        a: ["kubectl", "token", "whoami"],
        b: whoamiPeer,
      },
      {
        name: "kubectl-token whoami",
        a: [plugin, "whoami"],
        b: whoamiPeer,
        target: { time: 1.3 },
      },
      {
        name: "kubectl-token exec-credential (hit)",
        a: [plugin, "exec-credential", "--service-account", "default/default"],
        b: ["kubectl", "version", "--client"],
        target: { time: 0.8 },
      },
      {
        name: "kubectl-token decode TOKEN",
        a: [plugin, "decode", token],
        b: ["kubectl", "version", "--client"],
        target: { time: 0.8 },
      },
      {
        name: "kubectl token decode TOKEN",
        a: ["kubectl", "token", "decode", token],
        b: ["kubectl", "version", "--client"],
      },
      {
        name: "kubectl token --help",
        a: ["kubectl", "token", "--help"],
        b: ["kubectl", "--help"],
        target: { time: 1.5 },
      },
    ];
    const secrets = Number(Deno.env.get("BENCH_SECRETS") ?? 20000);
    if (server) {
      pairs.push({
        name: `kubectl token audit -A (${secrets})`,
        target: { time: 1, memory: 1 },
        a: ["kubectl", "token", "audit", "-A"],
        b: [
          "kubectl",
          "get",
          "secrets",
          "-A",
          "--field-selector",
          "type=kubernetes.io/service-account-token",
          "-o",
          "json",
        ],
      });
    }
    const selected = pairs.filter((p) => ONLY.test(p.name));
    if (server && selected.some((p) => p.name.includes("audit"))) {
      console.error(`seeding ${secrets} Secrets ...`);
      seedSecrets(server, secrets);
    }
    const widths = [38, 8, 8, 6, 8, 8, 6, 14];
    console.log(`kubectl-token bench: ${RUNS} runs a side after ${WARMUP} warm-ups, medians`);
    console.log(`load average before: ${await loadAverage()}`);
    console.log(`cluster: ${given ?? "tests/apiserver (local)"}`);
    console.log(
      row(["A (B below)", "A ms", "B ms", "A/B", "A MB", "B MB", "A/B", "target"], widths),
    );
    for (const pair of selected) {
      try {
        const r = await runPair(pair, env);
        const time = r.am / r.bm;
        const memory = r.ar / r.br;
        let target = "";
        if (pair.target) {
          const met = time <= pair.target.time &&
            (pair.target.memory === undefined || memory < pair.target.memory);
          target = `${met ? "met" : "NOT met"} (<=${pair.target.time})`;
        }
        console.log(row([
          pair.name,
          r.am.toFixed(1),
          r.bm.toFixed(1),
          time.toFixed(2),
          r.ar.toFixed(1),
          r.br.toFixed(1),
          memory.toFixed(2),
          target,
        ], widths));
      } catch (e) {
        console.log(
          `${pair.name.padEnd(widths[0])}  skipped: ${(e as Error).message.split("\n")[0]}`,
        );
      }
    }
    console.log("B of each row:");
    for (const pair of selected) {
      const b = pair.b.map((w) => w === token ? "TOKEN" : w).join(" ");
      console.log(`  ${pair.name.padEnd(widths[0])} vs ${b}`);
    }
    console.log(`bundle: ${(await dirSize(join(work, "dist")) / 1024).toFixed(0)} KiB`);
    console.log(`load average after: ${await loadAverage()}`);
  } finally {
    await server?.close();
    await Deno.remove(work, { recursive: true });
  }
}
