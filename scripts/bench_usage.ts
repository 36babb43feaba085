/**
 * `deno task bench:usage [--size 1GB | --events N] [--runs 3] [--webhook-seconds 20]
 * [--skip-webhook] [--keep]`: `kubectl-token usage` against jq on a generated audit log, and the
 * audit webhook's sustained events per second, on this machine in one run.
 *
 * 1. Generates a realistic audit log of about --size bytes, or of --events events
 *    (scripts/_audit_log_gen.ts), in a temporary folder, streamed to disk. Its events average
 *    ~880 bytes, as the real 1.20 server's log in test:real does (912), so 1 GB holds ~1.1
 *    million events and 2 million take ~1.8 GB (`--events 2000000`).
 * 2. Times jq computing per-user request counts (one per request: events at ResponseComplete or
 *    Panic) and `kubectl-token usage --audit-log FILE -o json`, page cache warm for both, in
 *    --runs pairs run back to back (jq first, then usage first, alternately): on a shared
 *    two-core machine one command's wall time varies by 40% from minute to minute, and a
 *    pair's ratio much less. Prints each pair, the median pair ratio (the result), the median
 *    wall times and the peak RSS of each (GNU time's %M, the largest over the runs; for the
 *    jq | sort | uniq pipeline the largest of its processes). Two jq forms are timed on a
 *    sample first and the faster one runs on the whole file; the report names it. The
 *    per-user counts of both are compared.
 * 3. Starts `kubectl-token usage serve` on a free loopback port with a throwaway certificate and
 *    database, POSTs EventList batches (400 events, 4 at a time) for --webhook-seconds, and
 *    prints the events per second it accepted and its peak RSS (VmHWM).
 *
 * The CLI runs from its bundle through the launcher `deno task install` writes, as in
 * scripts/bench.ts. A measurement, not a test: nothing fails on a slow machine, but it stops
 * with one line when a command it measures does not exist yet.
 */
import { Buffer } from "node:buffer";
import { Agent, request } from "node:https";
import { join } from "node:path";
import { CertificateAuthority } from "../tests/apiserver/_pki.ts";
import { generateAuditLog } from "./_audit_log_gen.ts";
import { median } from "./_stats.ts";
import { bundle } from "./bundle.ts";
import { writeLauncher } from "./install.ts";

const ISSUE_TARGET = { speedup: 3, memoryMb: 200 };
const BATCH = 400;
const CONCURRENCY = 4;

/** Command-line options. */
export interface BenchOptions {
  bytes: number;
  /** Generate this many events instead of --size bytes. */
  events?: number;
  /** jq/usage pairs to time. */
  runs: number;
  webhookSeconds: number;
  skipWebhook: boolean;
  keep: boolean;
}

/** "1GB", "50MB", "200KB", "1e6": bytes (powers of 1000). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)\s*(b|kb|k|mb|m|gb|g)?$/i.exec(text.trim());
  if (!m) throw new Error(`Invalid size "${text}": use e.g. 1GB, 50MB or 200KB`);
  const unit = (m[2] ?? "b").toLowerCase()[0];
  const factor = unit === "k" ? 1e3 : unit === "m" ? 1e6 : unit === "g" ? 1e9 : 1;
  const bytes = Math.round(Number(m[1]) * factor);
  if (bytes < 1000) throw new Error(`Invalid size "${text}": at least 1KB`);
  return bytes;
}

/** Parse the script's arguments. */
export function parseArgs(args: string[]): BenchOptions {
  const o: BenchOptions = {
    bytes: 1e9,
    runs: 3,
    webhookSeconds: 20,
    skipWebhook: false,
    keep: false,
  };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split("=", 2);
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new Error(`Missing value for ${flag}`);
      return v;
    };
    if (flag === "--size") o.bytes = parseSize(value());
    else if (flag === "--events") {
      const text = value();
      o.events = Number(text);
      if (!Number.isInteger(o.events) || o.events < 1) {
        throw new Error(`Invalid --events "${text}": a whole number of events`);
      }
    } else if (flag === "--runs") {
      const text = value();
      o.runs = Number(text);
      if (!Number.isInteger(o.runs) || o.runs < 1) {
        throw new Error(`Invalid --runs "${text}": a whole number of jq/usage pairs`);
      }
    } else if (flag === "--webhook-seconds") {
      o.webhookSeconds = Number(value());
      if (!(o.webhookSeconds > 0)) {
        throw new Error(`Invalid --webhook-seconds "${inline ?? args[i]}"`);
      }
    } else if (flag === "--skip-webhook") o.skipWebhook = true;
    else if (flag === "--keep") o.keep = true;
    else throw new Error(`Unknown argument "${args[i]}"`);
  }
  return o;
}

/** One jq run and one usage run, back to back. */
export interface Pair {
  jq: { seconds: number; rssMb: number };
  usage: { seconds: number; rssMb: number };
}

/** What the pairs say: the median of the pairs' ratios (jq/usage), and of each side's times. */
export interface PairSummary {
  ratio: number;
  minRatio: number;
  maxRatio: number;
  jqSeconds: number;
  usageSeconds: number;
  /** The largest peak RSS over the runs. */
  jqRssMb: number;
  usageRssMb: number;
}

/** Summarize timed pairs (at least one). */
export function summarizePairs(pairs: Pair[]): PairSummary {
  const ratios = pairs.map((p) => p.jq.seconds / p.usage.seconds);
  return {
    ratio: median(ratios),
    minRatio: Math.min(...ratios),
    maxRatio: Math.max(...ratios),
    jqSeconds: median(pairs.map((p) => p.jq.seconds)),
    usageSeconds: median(pairs.map((p) => p.usage.seconds)),
    jqRssMb: Math.max(...pairs.map((p) => p.jq.rssMb)),
    usageRssMb: Math.max(...pairs.map((p) => p.usage.rssMb)),
  };
}

interface Timed {
  seconds: number;
  rssMb: number;
  code: number;
  stderr: string;
}

/** Run `argv` under GNU time; stdout goes to `stdoutFile`. */
async function timed(
  argv: string[],
  env: Record<string, string>,
  stdoutFile: string,
): Promise<Timed> {
  const timing = `${stdoutFile}.time`;
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%e %M", "-o", timing, "sh", "-c", 'exec "$@" > "$OUT"', "sh", ...argv],
    env: { ...env, OUT: stdoutFile },
    stdout: "null",
    stderr: "piped",
  }).output();
  const [seconds, kb] = (await Deno.readTextFile(timing)).trim().split("\n").pop()!.split(" ");
  return {
    seconds: Number(seconds),
    rssMb: Number(kb) / 1024,
    code: out.code,
    stderr: new TextDecoder().decode(out.stderr).trim(),
  };
}

/** The same, for a shell pipeline. */
function timedShell(script: string, env: Record<string, string>, stdoutFile: string) {
  return timed(["sh", "-c", script], env, stdoutFile);
}

const JQ_FINAL = 'select(.stage == "ResponseComplete" or .stage == "Panic") | .user.username // ""';
const JQ_FORMS = {
  "jq -r ... | sort | uniq -c": (file: string) =>
    `jq -r '${JQ_FINAL}' '${file}' | LC_ALL=C sort | LC_ALL=C uniq -c`,
  "jq -n 'reduce inputs ...'": (file: string) =>
    `jq -n 'reduce (inputs | ${JQ_FINAL}) as $u ({}; .[$u] += 1)' '${file}'`,
};
type JqForm = keyof typeof JQ_FORMS;

function jqCounts(form: JqForm, output: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (form.startsWith("jq -n")) {
    for (const [user, n] of Object.entries(JSON.parse(output) as Record<string, number>)) {
      counts.set(user, n);
    }
    return counts;
  }
  for (const line of output.split("\n")) {
    const m = /^\s*(\d+) (.*)$/.exec(line);
    if (m) counts.set(m[2], Number(m[1]));
  }
  return counts;
}

/** Per-user request counts from `usage -o json` (snapshot.credentials[].username/requests). */
function usageCounts(output: string): Map<string, number> | undefined {
  try {
    const doc = JSON.parse(output);
    const credentials = doc?.snapshot?.credentials;
    if (!Array.isArray(credentials)) return undefined;
    const counts = new Map<string, number>();
    for (const c of credentials) {
      const user = typeof c.username === "string" ? c.username : "";
      counts.set(user, (counts.get(user) ?? 0) + Number(c.requests ?? 0));
    }
    return counts;
  } catch {
    return undefined;
  }
}

/** The first whole lines of `src` that fit in `bytes`, written to `dst` (read in chunks). */
async function firstBytes(src: string, dst: string, bytes: number): Promise<void> {
  const file = await Deno.open(src);
  const buf = new Uint8Array(bytes);
  let filled = 0;
  try {
    while (filled < bytes) {
      const n = await file.read(buf.subarray(filled));
      if (n === null) break;
      filled += n;
    }
  } finally {
    file.close();
  }
  const head = buf.subarray(0, filled);
  await Deno.writeFile(dst, head.subarray(0, head.lastIndexOf(10) + 1));
}

/** Exit code and output of a quick command. */
async function probe(argv: string[], env: Record<string, string>) {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

/** What the benchmark needs that this checkout or machine lacks, as one line; undefined if none. */
async function missing(
  plugin: string,
  env: Record<string, string>,
  o: BenchOptions,
): Promise<string | undefined> {
  const lacking: string[] = [];
  for (const tool of ["jq", "/usr/bin/time"]) {
    if ((await probe(["sh", "-c", `command -v ${tool}`], env)).code !== 0) lacking.push(tool);
  }
  const usage = await probe([plugin, "usage", "--help"], env);
  if (usage.code !== 0 || !/--audit-log/.test(usage.text)) {
    lacking.push('the "kubectl-token usage --audit-log" command');
  }
  if (!o.skipWebhook) {
    const serve = await probe([plugin, "usage", "serve", "--help"], env);
    if (serve.code !== 0 || !/--listen/.test(serve.text)) {
      lacking.push('the "kubectl-token usage serve" command (or pass --skip-webhook)');
    }
  }
  return lacking.length ? `bench_usage: cannot run: missing ${lacking.join(", ")}` : undefined;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function post(
  url: string,
  body: Buffer,
  ca: string,
  agent: Agent,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: "POST",
      ca,
      agent,
      headers: { "Content-Type": "application/json", "Content-Length": String(body.length) },
      timeout: 30_000,
    }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

async function vm(pid: number, key: "VmHWM" | "VmRSS"): Promise<number | undefined> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** EventList bodies made of the first events of the log, as the webhook backend sends them. */
async function batchesFrom(log: string, count: number): Promise<Buffer[]> {
  const file = await Deno.open(log);
  const lines: string[] = [];
  try {
    const decoder = new TextDecoder();
    let rest = "";
    const buf = new Uint8Array(1 << 20);
    while (lines.length < count * BATCH) {
      const n = await file.read(buf);
      if (n === null) break;
      const parts = (rest + decoder.decode(buf.subarray(0, n), { stream: true })).split("\n");
      rest = parts.pop()!;
      lines.push(...parts.filter((l) => l));
    }
  } finally {
    file.close();
  }
  const bodies: Buffer[] = [];
  for (let i = 0; i + BATCH <= lines.length && bodies.length < count; i += BATCH) {
    const items = lines.slice(i, i + BATCH).map((l) => {
      const { kind: _k, apiVersion: _v, ...rest } = JSON.parse(l);
      return rest;
    });
    bodies.push(
      Buffer.from(JSON.stringify({ kind: "EventList", apiVersion: "audit.k8s.io/v1", items })),
    );
  }
  return bodies;
}

async function benchWebhook(
  plugin: string,
  env: Record<string, string>,
  work: string,
  log: string,
  seconds: number,
): Promise<void> {
  const from = new Date(Date.now() - 3_600_000);
  const until = new Date(Date.now() + 86_400_000);
  const ca = new CertificateAuthority(from, until);
  const serving = ca.issueServing(from, until);
  const cert = join(work, "webhook.crt");
  const key = join(work, "webhook.key");
  await Deno.writeTextFile(cert, serving.certPem);
  await Deno.writeTextFile(key, serving.keyPem, { mode: 0o600 });
  const port = freePort();
  const db = join(work, "usage.db");
  const child = new Deno.Command(plugin, {
    args: [
      "usage",
      "serve",
      "--listen",
      `127.0.0.1:${port}`,
      "--tls-cert-file",
      cert,
      "--tls-private-key-file",
      key,
      "--db",
      db,
    ],
    env,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const url = `https://127.0.0.1:${port}/`;
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const bodies = await batchesFrom(log, 50);
    if (!bodies.length) throw new Error("the log is too small for one batch");
    const empty = Buffer.from('{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}');
    for (const deadline = Date.now() + 30_000;;) {
      const code = await post(url, empty, ca.certPem, agent).catch(() => 0);
      if (code >= 200 && code < 300) break;
      if (Date.now() > deadline) {
        throw new Error(
          `usage serve did not accept a batch in 30 s (last answer ${code || "none"})`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const idleMb = await vm(child.pid, "VmRSS");
    let accepted = 0;
    let refused = 0;
    let peakRss = 0;
    const sampler = setInterval(async () => {
      peakRss = Math.max(peakRss, (await vm(child.pid, "VmRSS")) ?? 0);
    }, 250);
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const body = bodies[next++ % bodies.length];
        const code = await post(url, body, ca.certPem, agent).catch(() => 0);
        if (code >= 200 && code < 300) accepted += BATCH;
        else refused++;
      }
    }));
    const elapsed = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const hwm = await vm(child.pid, "VmHWM");
    console.log(
      `webhook: ${(accepted / elapsed).toFixed(0)} events/s sustained over ${
        elapsed.toFixed(1)
      } s ` +
        `(${accepted} events in batches of ${BATCH}, ${CONCURRENCY} in flight, ${refused} batches refused or failed)`,
    );
    console.log(
      `webhook: usage serve peak RSS ${(hwm ?? peakRss).toFixed(1)} MB (VmHWM; idle ${
        idleMb?.toFixed(1) ?? "?"
      } MB, highest sampled VmRSS ${peakRss.toFixed(1)} MB)`,
    );
  } finally {
    agent.destroy();
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    const status = await child.status;
    const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
    if (!status.success && status.signal !== "SIGTERM" && stderr.trim()) {
      console.log(`webhook: usage serve said: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
    }
  }
}

async function loadAverage(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

async function main(args: string[]): Promise<number> {
  let o: BenchOptions;
  try {
    o = parseArgs(args);
  } catch (e) {
    console.error(`bench_usage: ${(e as Error).message}`);
    return 2;
  }
  const work = await Deno.makeTempDir({ prefix: "kubectl-token-bench-usage-" });
  try {
    const entry = await bundle(join(work, "dist"), { deferChunks: true });
    const binDir = join(work, "bin");
    const plugin = await writeLauncher(binDir, entry);
    const env: Record<string, string> = {
      PATH: `${binDir}:${Deno.env.get("PATH") ?? ""}`,
      HOME: work,
      // No cluster to consult: usage must answer from the log alone.
      KUBECONFIG: join(work, "no-kubeconfig"),
      LC_ALL: "C",
    };
    const lack = await missing(plugin, env, o);
    if (lack) {
      console.error(lack);
      return 1;
    }
    const usageHelp = (await probe([plugin, "usage", "--help"], env)).text;
    console.log(`kubectl-token bench:usage, load average before: ${await loadAverage()}`);

    const log = join(work, "audit.log");
    const g0 = performance.now();
    const gen = await generateAuditLog(log, { bytes: o.bytes, events: o.events });
    const gs = (performance.now() - g0) / 1000;
    console.log(
      `generated: ${(gen.bytes / 1e6).toFixed(0)} MB, ${gen.events} events, ${gen.users} users ` +
        `in ${gs.toFixed(1)} s (${(gen.bytes / 1e6 / gs).toFixed(0)} MB/s)`,
    );
    // Both readers find the file in the page cache.
    await new Deno.Command("cat", { args: [log], stdout: "null" }).output();

    // The faster jq form, by a run of each on a sample.
    const sample = join(work, "sample.log");
    await firstBytes(log, sample, Math.min(gen.bytes, 50e6));
    let form: JqForm = "jq -r ... | sort | uniq -c";
    let best = Infinity;
    const sampleTimes: string[] = [];
    for (const f of Object.keys(JQ_FORMS) as JqForm[]) {
      const t = await timedShell(JQ_FORMS[f](sample), env, join(work, "sample.out"));
      if (t.code !== 0) throw new Error(`${f} failed: ${t.stderr}`);
      sampleTimes.push(`${f} ${t.seconds.toFixed(2)} s`);
      if (t.seconds < best) [best, form] = [t.seconds, f];
    }
    console.log(
      `jq forms on a ${(Math.min(gen.bytes, 50e6) / 1e6).toFixed(0)} MB sample: ${
        sampleTimes.join(", ")
      }: using ${form}`,
    );

    const jqOut = join(work, "jq.out");
    const usageOut = join(work, "usage.out");
    const usageArgs = ["usage", "--audit-log", log, "-o", "json"];
    if (usageHelp.includes("--offline")) usageArgs.push("--offline");
    const runJq = async () => {
      const jq = await timedShell(JQ_FORMS[form](log), env, jqOut);
      if (jq.code !== 0) throw new Error(`jq failed: ${jq.stderr}`);
      return jq;
    };
    const runUsage = async () => {
      const usage = await timed([plugin, ...usageArgs], env, usageOut);
      // usage exits 0, or 1 only through --fail-on, which is not given.
      if (usage.code !== 0) {
        throw new Error(`kubectl-token usage failed: ${usage.stderr.split("\n")[0]}`);
      }
      return usage;
    };
    const pairs: Pair[] = [];
    for (let run = 0; run < o.runs; run++) {
      let jq: Timed, usage: Timed;
      if (run % 2 === 0) {
        jq = await runJq();
        usage = await runUsage();
      } else {
        usage = await runUsage();
        jq = await runJq();
      }
      pairs.push({ jq, usage });
      console.log(
        `pair ${run + 1}/${o.runs}: jq ${jq.seconds.toFixed(2)} s, usage ${
          usage.seconds.toFixed(2)
        } s: ${(jq.seconds / usage.seconds).toFixed(2)}x`,
      );
    }
    const sum = summarizePairs(pairs);
    const w = [58, 8, 12];
    const row = (c: string[]) => c.map((x, i) => i ? x.padStart(w[i]) : x.padEnd(w[0])).join("  ");
    console.log(row(["per-user request counts of the log (median wall)", "wall s", "peak RSS MB"]));
    console.log(row([`jq 1.6: ${form}`, sum.jqSeconds.toFixed(2), sum.jqRssMb.toFixed(1)]));
    console.log(
      row([
        `kubectl-token ${usageArgs.join(" ").replace(log, "FILE")}`,
        sum.usageSeconds.toFixed(2),
        sum.usageRssMb.toFixed(1),
      ]),
    );
    console.log(
      `usage is ${sum.ratio.toFixed(2)}x as fast as jq (median of ${o.runs} pair${
        o.runs === 1 ? "" : "s"
      }, ${sum.minRatio.toFixed(2)}-${
        sum.maxRatio.toFixed(2)
      }; target >= ${ISSUE_TARGET.speedup}x: ${
        sum.ratio >= ISSUE_TARGET.speedup ? "met" : "NOT met"
      }); peak RSS ${sum.usageRssMb.toFixed(1)} MB (target < ${ISSUE_TARGET.memoryMb} MB: ${
        sum.usageRssMb < ISSUE_TARGET.memoryMb ? "met" : "NOT met"
      })`,
    );

    const fromJq = jqCounts(form, await Deno.readTextFile(jqOut));
    const fromUsage = usageCounts(await Deno.readTextFile(usageOut));
    if (!fromUsage) {
      console.log("counts: usage -o json has no snapshot.credentials[]: not compared");
    } else {
      const differ = [...fromJq].filter(([u, n]) => u !== "" && fromUsage.get(u) !== n);
      console.log(
        `counts: ${fromJq.size} users in jq's answer, ${differ.length} with another count in usage's` +
          (differ.length
            ? ` (e.g. ${
              differ.slice(0, 3).map(([u, n]) => `${u}: jq ${n}, usage ${fromUsage.get(u) ?? 0}`)
                .join("; ")
            })`
            : ""),
      );
    }

    if (!o.skipWebhook) await benchWebhook(plugin, env, work, log, o.webhookSeconds);
    console.log(`load average after: ${await loadAverage()}`);
    if (o.keep) console.log(`kept: ${work}`);
    return 0;
  } catch (e) {
    console.error(`bench_usage: ${(e as Error).message.split("\n")[0]}`);
    return 1;
  } finally {
    if (!o.keep) await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
