/**
 * Reading a large audit log on two threads, with the same result as one: the input is split by
 * credential (the user name of each event), both threads read every line, and each aggregates
 * the events of its own users and takes only the auditID and stage of the others'
 * ({@link UsageAggregator.addForeign}), so that both see every request's stages. The worker's
 * aggregate is then merged into the main thread's ({@link UsageAggregator.merge}), which applies
 * the limits over all credentials again in the input's order.
 *
 * A log's events are far from even among its users: the API server's own loopback client, the
 * controllers and the scheduler make most of them, from a few addresses, with few distinct
 * requests each. The worker takes those (the users that make most of the first lines), up to
 * {@link WORKER_SHARE} of the events, and holds little; the main thread, which also decodes
 * and splits every line, takes the rest, whose many credentials make most of the aggregate.
 *
 * Whenever the two threads could differ from one (a line that is not the event its start says,
 * a credential under two user names, a limit that cannot be applied again exactly, a worker
 * that fails), the caller reads the input again on one thread: the result is always one
 * aggregator's.
 */
import type { Runtime } from "../runtime.ts";
import type { AggregatePart, UsageAggregator } from "./aggregate.ts";
import type { AuditEvent } from "./event.ts";
import { usageEventOfLine } from "./event_line.ts";
import {
  filesOf,
  type LineRoute,
  PartsDisagree,
  readAuditEvents,
  type ReadStats,
} from "./reader.ts";

/** Below this many bytes of input a second thread costs more than it saves (auto mode). */
export const PARALLEL_MIN_BYTES = 32_000_000;
/**
 * Fewer cores than this, and two threads are left off unless asked for: on two cores both
 * threads compete with V8's own collector threads, and the read took 0.87-0.91 of one thread's
 * time for a peak about 20 MB higher (docs/benchmarks.md).
 */
export const PARALLEL_MIN_CORES = 4;
/** The worker's share of the events, at most (measured on the benchmark's log: docs/benchmarks.md). */
const WORKER_SHARE = 0.75;
/** Below this share a second thread saves too little. */
const MIN_WORKER_SHARE = 0.15;
/** Bytes of the first file read to find the users that make most of the events. */
const SAMPLE_BYTES = 4 << 20;
/**
 * `KUBECTL_TOKEN_USAGE_THREADS`: 1 for one thread, 2 for two whatever the input's size and the
 * machine's cores; unset, two on a machine of {@link PARALLEL_MIN_CORES} cores or more for an
 * input of {@link PARALLEL_MIN_BYTES} or more.
 */
export const THREADS_ENV = "KUBECTL_TOKEN_USAGE_THREADS";

/** Which users' events the worker aggregates: hashes of their names ({@link nameHash}). */
export type Assignment = number[];

/** What the main thread sends the worker. */
export interface PartJob {
  source: string;
  assignment: Assignment;
  since?: string;
}

/** What the worker sends back. */
export type PartResult =
  | { ok: true; part: AggregatePart; lines: number; events: number; malformed: number }
  | { ok: false; reason: string };

/** The outcome of {@link readInParts}. */
export type PartsOutcome =
  | { read: true; stats: ReadStats }
  | { read: false; why: string; tried: boolean };

const USER = ',"user":{"username":"';

/** FNV-1a of the characters of `s` from `start` to `end`. */
function nameHash(s: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The hash of the user name a line in the log backend's shape names, from `from` on; 0 without one. */
function lineUserHash(line: string, from: number): number {
  const at = line.indexOf(USER, from);
  if (at === -1) return 0;
  const start = at + USER.length;
  const end = line.indexOf('"', start);
  return end === -1 ? 0 : nameHash(line, start, end);
}

/**
 * The route of part `part` (0: the main thread, 1: the worker): the worker's users by
 * `assignment`, every other event the main thread's. `abandoned` stops the read (the other
 * part has failed).
 */
export function routeOf(
  assignment: Assignment,
  part: 0 | 1,
  aggregator: UsageAggregator,
  abandoned: () => boolean = () => false,
): LineRoute {
  const worker = new Set(assignment);
  const partOf = (hash: number) => worker.has(hash) ? 1 : 0;
  return {
    ownsLine(line, from) {
      if (abandoned()) throw new PartsDisagree("the input", 0);
      return partOf(lineUserHash(line, from)) === part;
    },
    ownsEvent(event: AuditEvent) {
      const name = event.user?.username;
      const hash = typeof name === "string" ? nameHash(name, 0, name.length) : 0;
      return partOf(hash) === part;
    },
    foreign: (id, stage) => aggregator.addForeign(id, stage),
  };
}

/**
 * The users whose events the worker takes, from the first lines of `text`: the ones that make
 * the most events, up to {@link WORKER_SHARE} of them; undefined when they make too few.
 */
export function assignmentOf(text: string): Assignment | undefined {
  const counts = new Map<number, number>();
  let lines = 0;
  for (
    let start = 0, nl = text.indexOf("\n");
    nl !== -1;
    start = nl + 1, nl = text.indexOf("\n", start)
  ) {
    lines++;
    const hash = lineUserHash(text.slice(start, nl), 0);
    if (hash !== 0) counts.set(hash, (counts.get(hash) ?? 0) + 1);
  }
  const assignment: Assignment = [];
  let taken = 0;
  for (const [hash, count] of [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])) {
    if (taken + count > WORKER_SHARE * lines) continue;
    assignment.push(hash);
    taken += count;
  }
  return lines > 0 && taken >= MIN_WORKER_SHARE * lines ? assignment : undefined;
}

/**
 * The files of `source` (a file or a folder) and their total size; undefined when one is not a
 * regular file. (Whether the first is compressed, {@link head} tells.)
 */
async function regularFiles(runtime: Runtime, source: string) {
  const info = await runtime.stat(source);
  const files = info.isDirectory ? await filesOf(runtime, source) : [source];
  let bytes = 0;
  for (const file of files) {
    const stat = await runtime.stat(file);
    if (!stat.isFile) return undefined;
    bytes += stat.size;
  }
  return { files, bytes };
}

/** The first bytes of a file, up to the last newline in them, as text; undefined for gzip. */
async function head(runtime: Runtime, file: string): Promise<string | undefined> {
  const stream = (await runtime.open(file)).readable();
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < SAMPLE_BYTES) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  chunks.reduce((at, c) => (bytes.set(c, at), at + c.length), 0);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return undefined;
  const end = bytes.lastIndexOf(10);
  return new TextDecoder().decode(bytes.subarray(0, end + 1));
}

/** Options for {@link readInParts}. */
export interface PartsOptions {
  since?: Date;
  onProgress?: (stats: Readonly<ReadStats>) => void;
}

/**
 * Read `source` into `aggregator` on two threads when it is worth it and the runtime can start
 * a worker. `read: false` with `tried` when it was tried and given up: `aggregator` is then of
 * no further use, and the input is to be read again on one thread.
 */
export async function readInParts(
  runtime: Runtime,
  source: string,
  aggregator: UsageAggregator,
  options: PartsOptions = {},
): Promise<PartsOutcome> {
  const threads = runtime.env(THREADS_ENV);
  const startWorker = runtime.usagePartWorker;
  if (threads === "1") return { read: false, why: `${THREADS_ENV}=1`, tried: false };
  if (!startWorker) return { read: false, why: "no worker threads here", tried: false };
  if (source === "-") return { read: false, why: "standard input", tried: false };
  const input = await regularFiles(runtime, source).catch(() => undefined);
  if (!input || input.files.length === 0) {
    return { read: false, why: "not regular files", tried: false };
  }
  if (threads !== "2") {
    const cores = runtime.cpus?.() ?? 1;
    if (cores < PARALLEL_MIN_CORES) return { read: false, why: `${cores} cores`, tried: false };
    if (input.bytes < PARALLEL_MIN_BYTES) {
      return { read: false, why: "a small input", tried: false };
    }
  }
  const sample = await head(runtime, input.files[0]).catch(() => undefined);
  if (sample === undefined) return { read: false, why: "compressed", tried: false };
  const assignment = assignmentOf(sample);
  if (!assignment) return { read: false, why: "no users that make most events", tried: false };
  let failed: string | undefined;
  let worker: Worker;
  try {
    worker = startWorker();
  } catch (e) {
    return { read: false, why: `no worker: ${e instanceof Error ? e.message : e}`, tried: false };
  }
  const job: PartJob = { source, assignment, since: options.since?.toISOString() };
  const result = new Promise<PartResult>((resolve) => {
    worker.onmessage = (e: MessageEvent<PartResult | "ready">) => {
      if (e.data === "ready") return worker.postMessage(job);
      if (!e.data.ok) failed = e.data.reason;
      resolve(e.data);
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      failed = `the worker failed: ${e.message}`;
      resolve({ ok: false, reason: failed });
    };
    worker.onmessageerror = () => {
      failed = "the worker's result could not be read";
      resolve({ ok: false, reason: failed });
    };
  });
  let stats: ReadStats;
  try {
    stats = await readAuditEvents(runtime, source, (event) => aggregator.add(event), {
      onProgress: options.onProgress,
      eventOfLine: usageEventOfLine,
      route: routeOf(assignment, 0, aggregator, () => failed !== undefined),
    });
  } catch (e) {
    worker.terminate();
    if (e instanceof PartsDisagree) {
      return { read: false, why: failed ?? e.message, tried: true };
    }
    throw e;
  }
  const other = await result;
  worker.terminate();
  if (!other.ok) return { read: false, why: other.reason, tried: true };
  if (other.lines !== stats.lines || other.events !== stats.events) {
    return { read: false, why: "the threads read different inputs", tried: true };
  }
  if (!aggregator.merge(other.part)) {
    return { read: false, why: "the parts cannot be merged exactly", tried: true };
  }
  return { read: true, stats };
}
