/**
 * `kubectl token usage --audit-log PATH|-`: what each credential did, from the API server's audit
 * events, as a table (one row per credential), `-o wide`, or `-o json|yaml` (the snapshot and
 * the findings), then the findings with their evidence. `--fail-on` works as in `audit`.
 */
import type { CommandContext } from "../context.ts";
import { CliError, UsageError } from "../errors.ts";
import { parseOutputFlag, renderTable, toJson, toYaml } from "../output/printers.ts";
import { credentialJsonAt } from "../usage/credential_json.ts";
import { parseDaysFlag } from "../flags/duration.ts";
import { atLeast, parseSeverity, SEVERITIES, type Severity } from "../audit/findings.ts";
import { parseKindList } from "../flags/kinds.ts";
import { parseServiceAccountFlag, type ServiceAccountRef } from "./_service_account.ts";
import { readAuditEvents, type ReadStats } from "../usage/reader.ts";
import { usageEventOfLine } from "../usage/event_line.ts";
import { UsageAggregator } from "../usage/aggregate.ts";
import { HeapKeeper } from "../usage/heap.ts";
import { readInParts } from "../usage/parallel.ts";
import type { CredentialKind, CredentialUsage, UsageSnapshot } from "../usage/model.ts";
import {
  type ClusterFacts,
  second,
  type UsageFinding,
  type UsageFindings,
  usageFindings,
  type UsageRules,
} from "../usage/findings.ts";
import { ApiError } from "../api/errors.ts";
import type { Output } from "../runtime.ts";

const API_VERSION = "kubectl-token.dev/v1alpha1";

/** The credential kinds `--kind` accepts. */
export const USAGE_KINDS: readonly CredentialKind[] = [
  "token",
  "legacy-token",
  "pod",
  "service-account",
  "user",
];

/** Flags of `usage`. */
export interface UsageOptions {
  auditLog?: string;
  /** `--db` alone (true): the default database; `--db PATH`: that one. */
  db?: string | true;
  serviceAccount?: string;
  since?: string;
  /** `--kind`, repeatable, each a comma list. */
  kind?: string[];
  failOn?: string;
  output?: string;
  offline?: boolean;
  maxTokenLifetime: string;
  baseline: string;
  deniedThreshold: string;
  deniedRatio: string;
}

/** The validated request. */
export interface UsageRequest {
  auditLog?: string;
  db?: string | true;
  /** `-n`: only credentials of service accounts in this namespace. */
  namespace?: string;
  serviceAccount?: ServiceAccountRef;
  since?: Date;
  kinds?: ReadonlySet<CredentialKind>;
  failOn?: Severity;
  output: "table" | "wide" | "json" | "yaml";
  offline: boolean;
  maxTokenLifetimeS: number;
  baselineMs: number;
  deniedThreshold: number;
  deniedRatio: number;
}

/** `--since`: a duration back from now ("2h", "7d") or an RFC 3339 time. */
export function parseSince(value: string, now: Date): Date {
  const text = value.trim();
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = Date.parse(/T/.test(text) ? text : `${text}T00:00:00Z`);
    if (!Number.isNaN(t)) return new Date(t);
  } else {
    try {
      return new Date(now.getTime() - parseDaysFlag("since", text));
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
    }
  }
  throw new UsageError(
    `Invalid value "${value}" for flag --since: expected a duration such as 2h or 7d, or a ` +
      `time such as 2026-12-01T10:00:00Z`,
  );
}

function parseKinds(values: string[] | undefined): Set<CredentialKind> | undefined {
  return parseKindList(
    values,
    (word) =>
      (USAGE_KINDS as readonly string[]).includes(word) ? word as CredentialKind : undefined,
    USAGE_KINDS,
  );
}

function parseCount(flag: string, value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
    throw new UsageError(
      `Invalid value "${value}" for flag ${flag}: expected a whole number above 0`,
    );
  }
  return Number(value);
}

function parseRatio(flag: string, value: string): number {
  const n = Number(value.trim());
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new UsageError(
      `Invalid value "${value}" for flag ${flag}: expected a fraction from 0 to 1, such as 0.25`,
    );
  }
  return n;
}

/** Check the flags (pure). */
export function validateUsage(
  options: UsageOptions,
  context: { now: Date; namespace?: string },
): UsageRequest {
  const output = parseOutputFlag(
    options.output,
    ["wide", "json", "yaml"],
    "table",
  ) as UsageRequest["output"];
  if (options.auditLog === undefined && options.db === undefined) {
    throw new UsageError(
      "Missing flag --audit-log: name the audit log to read (a file, a folder of rotated " +
        "files, or - for standard input)",
    );
  }
  if (options.auditLog !== undefined && options.db !== undefined) {
    throw new UsageError("Flags --audit-log and --db cannot be used together: choose one source");
  }
  if (options.auditLog === "") {
    throw new UsageError(
      `Invalid value "" for flag --audit-log: expected a path, or - for standard input`,
    );
  }
  const maxLifetimeMs = parseDaysFlag("max-token-lifetime", options.maxTokenLifetime);
  const baselineMs = parseDaysFlag("baseline", options.baseline);
  if (maxLifetimeMs <= 0 || baselineMs <= 0) {
    const [flag, value] = maxLifetimeMs <= 0
      ? ["--max-token-lifetime", options.maxTokenLifetime]
      : ["--baseline", options.baseline];
    throw new UsageError(
      `Invalid value "${value}" for flag ${flag}: the duration must be positive`,
    );
  }
  return {
    auditLog: options.auditLog,
    db: options.db,
    namespace: context.namespace,
    serviceAccount: options.serviceAccount === undefined
      ? undefined
      : parseServiceAccountFlag("--service-account", options.serviceAccount, context.namespace),
    since: options.since === undefined ? undefined : parseSince(options.since, context.now),
    kinds: parseKinds(options.kind),
    failOn: options.failOn === undefined ? undefined : parseSeverity("--fail-on", options.failOn),
    output,
    offline: Boolean(options.offline),
    maxTokenLifetimeS: Math.floor(maxLifetimeMs / 1000),
    baselineMs,
    deniedThreshold: parseCount("--denied-threshold", options.deniedThreshold),
    deniedRatio: parseRatio("--denied-ratio", options.deniedRatio),
  };
}

/** A snapshot and how complete the reading was. */
export interface LoadedSnapshot {
  snapshot: UsageSnapshot;
  /** Why the input was not read whole (malformed lines), for `--fail-on`; empty when whole. */
  incomplete: string[];
}

/**
 * The snapshot the report is made of: from the audit log, or from the usage database.
 * Filters by time happen here (per event for a log; by last use for a database).
 */
export async function loadSnapshot(
  ctx: CommandContext,
  request: UsageRequest,
): Promise<LoadedSnapshot> {
  if (request.db !== undefined) {
    const { defaultUsageDbPath, readUsageDb } = await import("../usage/store.ts");
    const path = request.db === true ? defaultUsageDbPath(ctx.runtime) : request.db;
    if (!path) {
      throw new CliError("Cannot find the usage database: name it with --db PATH, or set HOME");
    }
    // --since and the other filters apply by last use (filterSnapshot).
    return { snapshot: await readUsageDb(ctx.runtime, path), incomplete: [] };
  }
  const source = request.auditLog!;
  let aggregator = new UsageAggregator({ since: request.since });
  const progress = progressLine(ctx.runtime.stderr);
  const heap = ctx.runtime.heap?.();
  const keeper = heap ? new HeapKeeper(heap) : undefined;
  const onProgress = (s: Readonly<ReadStats>) => {
    progress.update(s);
    keeper?.check();
  };
  let stats: ReadStats;
  let threads: 1 | 2;
  try {
    const parts = await readInParts(ctx.runtime, source, aggregator, {
      since: request.since,
      onProgress,
    });
    threads = parts.read ? 2 : 1;
    if (parts.read) stats = parts.stats;
    else {
      if (!parts.tried) ctx.log(7, `one thread: ${parts.why}`);
      else {
        ctx.log(6, `read again on one thread: ${parts.why}`);
        aggregator = new UsageAggregator({ since: request.since });
        keeper?.collect();
      }
      stats = await readAuditEvents(ctx.runtime, source, (event) => aggregator.add(event), {
        onProgress,
        eventOfLine: usageEventOfLine,
      });
    }
  } finally {
    progress.clear();
  }
  const where = source === "-" ? "standard input" : `"${source}"`;
  if (stats.events === 0) {
    throw new CliError(
      `Cannot report token usage: no audit events in ${where}` +
        (stats.malformed > 0 ? ` (${stats.malformed} malformed lines)` : ""),
    );
  }
  const incomplete: string[] = [];
  if (stats.malformed > 0) {
    const first = stats.malformedSamples[0];
    const line = `${stats.malformed} malformed line${stats.malformed === 1 ? "" : "s"} skipped` +
      (first ? ` (first: ${first.file}:${first.line}: ${first.reason})` : "");
    ctx.warn(line);
    incomplete.push(line);
  }
  const snapshot = aggregator.finish();
  // What the aggregate held beyond the snapshot (its rows' maps) is garbage now.
  if (keeper?.collections) keeper.collect();
  ctx.log(
    6,
    `read ${stats.events} events, ${stats.lines} lines, ${stats.bytes} bytes on ${threads} ` +
      `thread${threads === 1 ? "" : "s"}` +
      (keeper ? `; ${keeper.collections} heap collections` : ""),
  );
  return { snapshot, incomplete };
}

/** The part of a snapshot that the filters keep (-n, --service-account, --kind). */
export function filterSnapshot(snapshot: UsageSnapshot, request: UsageRequest): UsageSnapshot {
  const sa = request.serviceAccount;
  const ns = sa?.namespace ?? request.namespace;
  const inScope = (ref: { namespace: string; name: string } | undefined) =>
    ns === undefined || (ref?.namespace === ns && (!sa || ref.name === sa.name));
  const since = request.since?.getTime();
  return {
    ...snapshot,
    credentials: snapshot.credentials.filter((c) =>
      inScope(c.serviceAccount) && (!request.kinds || request.kinds.has(c.kind)) &&
      (since === undefined || Date.parse(c.lastSeen) >= since)
    ),
    issued: snapshot.issued.filter((i) =>
      inScope(i.serviceAccount) && (since === undefined || Date.parse(i.at) >= since)
    ),
    podDeletions: snapshot.podDeletions.filter((d) =>
      (ns === undefined || d.namespace === ns) && (since === undefined || Date.parse(d.at) >= since)
    ),
  };
}

/** At most this many Pods are looked up; the others' IP checks are reported as not evaluated. */
const MAX_POD_LOOKUPS = 500;

/** What the cluster says about the Pods and Nodes the credentials name. */
async function clusterFacts(
  ctx: CommandContext,
  snapshot: UsageSnapshot,
  request: UsageRequest,
): Promise<{ facts?: ClusterFacts; skipped?: string; failed?: string }> {
  const wanted = new Map<string, { namespace: string; name: string }>();
  for (const c of snapshot.credentials) {
    if (c.pod && c.serviceAccount) {
      wanted.set(`${c.serviceAccount.namespace}/${c.pod.name}`, {
        namespace: c.serviceAccount.namespace,
        name: c.pod.name,
      });
    }
  }
  if (wanted.size === 0) return {};
  if (request.offline) return { skipped: "--offline" };
  let client: Awaited<ReturnType<CommandContext["client"]>>;
  try {
    await ctx.config();
    client = await ctx.client();
  } catch (e) {
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    ctx.log(2, `no cluster to look up Pods in: ${why}`);
    return { skipped: "no cluster configured" };
  }
  const { readPod, podAddresses } = await import("../api/pods.ts");
  const { readNode, nodeAddresses } = await import("../api/nodes.ts");
  const facts: ClusterFacts = { pods: new Map(), nodes: new Map() };
  // An HTTP answer (ApiError) concerns one object; anything else means no answer at all.
  const unreachable = (e: unknown) => {
    if (e instanceof ApiError && e.code !== 0) return undefined;
    ctx.warn(
      `cannot look up the Pods and Nodes the tokens name: ${
        e instanceof Error ? e.message.split("\n")[0] : String(e)
      }`,
    );
    return "the cluster is unreachable";
  };
  let looked = 0;
  for (const [key, ref] of wanted) {
    if (looked++ >= MAX_POD_LOOKUPS) break;
    try {
      const pod = await readPod(client, ref.namespace, ref.name);
      facts.pods.set(
        key,
        pod
          ? {
            uid: pod.metadata?.uid,
            ips: podAddresses(pod),
            nodeName: pod.spec?.nodeName || undefined,
            created: pod.metadata?.creationTimestamp,
          }
          : null,
      );
    } catch (e) {
      const down = unreachable(e);
      if (down) return { skipped: down, failed: down };
      ctx.log(2, `cannot read Pod "${key}": ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const nodes = new Set<string>();
  for (const c of snapshot.credentials) {
    if (!c.pod || !c.serviceAccount) continue;
    const pod = facts.pods.get(`${c.serviceAccount.namespace}/${c.pod.name}`);
    const node = pod?.nodeName ?? c.node?.name;
    if (node) nodes.add(node);
  }
  for (const name of nodes) {
    try {
      const node = await readNode(client, name);
      facts.nodes.set(name, node ? nodeAddresses(node) : null);
    } catch (e) {
      const down = unreachable(e);
      if (down) return { skipped: down, failed: down };
      ctx.log(2, `cannot read Node "${name}": ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { facts };
}

/** Run the report; returns the exit code. */
export async function runUsage(ctx: CommandContext, options: UsageOptions): Promise<number> {
  const now = ctx.runtime.now();
  const request = validateUsage(options, { now, namespace: ctx.flags.namespace });
  const loaded = await loadSnapshot(ctx, request);
  const snapshot = filterSnapshot(loaded.snapshot, request);
  const cluster = await clusterFacts(ctx, snapshot, request);
  const rules: UsageRules = {
    maxTokenLifetimeS: request.maxTokenLifetimeS,
    baselineMs: request.baselineMs,
    deniedThreshold: request.deniedThreshold,
    deniedRatio: request.deniedRatio,
    cluster: cluster.facts,
    clusterSkipped: cluster.skipped,
  };
  const result = usageFindings(snapshot, rules);
  const incomplete = [...loaded.incomplete, ...(cluster.failed ? [cluster.failed] : [])];
  const out = ctx.runtime.stdout;
  if (request.output === "json" || request.output === "yaml") {
    writeDocument(
      out,
      request.output,
      reportDocument({ ...snapshot, credentials: [] }, result, rules, incomplete),
      snapshot.credentials,
    );
  } else {
    printReport(out, snapshot, result, request.output === "wide");
    const rows = snapshot.credentials.length;
    ctx.runtime.stderr.write(
      rows === 0
        ? "No credentials match.\n"
        : `${snapshot.credentials.reduce((n, c) => n + c.requests, 0)} requests of ${rows} ` +
          `credential${rows === 1 ? "" : "s"}${
            snapshot.firstEvent && snapshot.lastEvent
              ? `, ${second(snapshot.firstEvent)} .. ${second(snapshot.lastEvent)}`
              : ""
          }; findings: ${summary(result.findings)}\n`,
    );
  }
  if (request.failOn) {
    const failOn = request.failOn;
    const reached = result.findings.filter((f) => atLeast(f.severity, failOn)).length;
    if (reached > 0) {
      throw new CliError(
        `Found ${reached} finding${reached === 1 ? "" : "s"} of severity "${failOn}" or above ` +
          `(--fail-on ${failOn})`,
      );
    }
    if (incomplete.length > 0) {
      // A CI gate must not pass on a report that could not see everything.
      throw new CliError(
        `Cannot pass --fail-on ${failOn}: the report is incomplete (${incomplete.join("; ")})`,
      );
    }
  }
  return 0;
}

function summary(findings: UsageFinding[]): string {
  const tally = new Map<Severity, number>();
  for (const f of findings) tally.set(f.severity, (tally.get(f.severity) ?? 0) + 1);
  const parts = [...SEVERITIES].reverse().filter((s) => tally.has(s)).map((s) =>
    `${tally.get(s)} ${s}`
  );
  return parts.length ? parts.join(", ") : "none";
}

/** The `-o json|yaml` document: the rules, the snapshot, the findings. */
function reportDocument(
  snapshot: UsageSnapshot,
  result: UsageFindings,
  rules: UsageRules,
  incomplete: string[],
) {
  return {
    apiVersion: API_VERSION,
    kind: "TokenUsage",
    rules: {
      maxTokenLifetimeSeconds: rules.maxTokenLifetimeS,
      baselineSeconds: rules.baselineMs / 1000,
      deniedThreshold: rules.deniedThreshold,
      deniedRatio: rules.deniedRatio,
      cluster: rules.cluster ? "consulted" : rules.clusterSkipped ?? "not needed",
    },
    snapshot,
    findings: result.findings,
    notEvaluated: result.notEvaluated,
    incomplete,
  };
}

/** Where the credentials go in the document (a string no value of the snapshot can be). */
const CREDENTIALS_MARK = "\u0000credentials\u0000";

/**
 * Print `doc` as `toJson`/`toYaml` would with `credentials` as its `snapshot.credentials`, one
 * credential at a time: a large snapshot's document is never one string in memory (tens of MB,
 * several copies while encoding).
 */
function writeDocument(
  out: Output,
  format: "json" | "yaml",
  doc: ReturnType<typeof reportDocument>,
  credentials: CredentialUsage[],
): void {
  const marked = { ...doc, snapshot: { ...doc.snapshot, credentials: CREDENTIALS_MARK } };
  const text = format === "json" ? toJson(marked) : toYaml(marked);
  const at = text.indexOf(format === "json" ? '"\\u0000credentials\\u0000"' : "credentials: ");
  const lineStart = text.lastIndexOf("\n", at) + 1;
  let depth = lineStart;
  while (text[depth] === " ") depth++;
  const indent = " ".repeat(depth - lineStart);
  const lineEnd = text.indexOf("\n", at);
  let buffer = "";
  const flush = (force: boolean) => {
    if (force || buffer.length > 65_536) {
      out.write(buffer);
      buffer = "";
    }
  };
  if (format === "json") {
    // `"credentials": "<mark>",` becomes `"credentials": [ ... ],` (items one level deeper).
    buffer += text.slice(0, at);
    if (credentials.length === 0) buffer += "[]";
    else {
      // The items, one level deeper than the key (toJson indents by 4 spaces a level).
      const depth = indent.length / 4 + 1;
      buffer += "[";
      credentials.forEach((c, i) => {
        buffer += (i ? ",\n" : "\n") + credentialJsonAt(c, depth);
        flush(false);
      });
      buffer += `\n${indent}]`;
    }
    buffer += text.slice(at + '"\\u0000credentials\\u0000"'.length);
  } else {
    // `credentials: <mark>` becomes `credentials:` and its items (kubectl's YAML does not
    // indent a sequence under its key).
    buffer += text.slice(0, at);
    if (credentials.length === 0) buffer += "credentials: []";
    else {
      buffer += "credentials:";
      for (const c of credentials) {
        buffer += "\n" + toYaml([c]).trimEnd().replace(/^/gm, indent).trimEnd();
        flush(false);
      }
    }
    buffer += text.slice(lineEnd);
  }
  flush(true);
}

const HEADERS = [
  "SERVICE ACCOUNT/USER",
  "KIND",
  "POD",
  "FIRST SEEN",
  "LAST SEEN",
  "REQUESTS",
  "DENIED",
  "SOURCE IPS",
  "USER AGENTS",
];
const WIDE_HEADERS = ["TOKEN", "NODE", "VERBS", "RESOURCES", "IMPERSONATED"];

/** The most used keys of a map, as `a,b +2`. */
function top(record: Record<string, { count: number }>, max: number, shorten = (s: string) => s) {
  const keys = Object.keys(record).sort((a, b) =>
    record[b].count - record[a].count || (a < b ? -1 : 1)
  );
  if (keys.length === 0) return "<none>";
  const shown = keys.slice(0, max).map(shorten).join(",");
  return keys.length > max ? `${shown} +${keys.length - max}` : shown;
}

/** A user agent's first product token: `kubectl/v1.32.0` of `kubectl/v1.32.0 (linux/amd64) ...`. */
function product(agent: string): string {
  const space = agent.indexOf(" ");
  return space === -1 ? agent : agent.slice(0, space);
}

function subjectOf(c: CredentialUsage): string {
  return c.serviceAccount
    ? `${c.serviceAccount.namespace}/${c.serviceAccount.name}`
    : c.username === ""
    ? c.legacySecret ? "(rejected legacy token)" : "(unauthenticated)"
    : c.username;
}

function rowOf(c: CredentialUsage, wide: boolean): string[] {
  const row = [
    subjectOf(c),
    c.kind,
    c.pod?.name ?? "<none>",
    second(c.firstSeen),
    second(c.lastSeen),
    String(c.requests),
    String(c.denied),
    top(c.sourceIPs, wide ? 5 : 2),
    top(c.userAgents, wide ? 3 : 1, product),
  ];
  if (wide) {
    const made = Object.values(c.requestsMade);
    const verbs = [...new Set(made.map((r) => r.request.verb))].sort();
    const resources = [
      ...new Set(made.map((r) => r.request.resource ?? r.request.nonResourceURL ?? "")),
    ].sort();
    row.push(
      c.jti ?? (c.legacySecret ? `Secret/${c.legacySecret}` : "<none>"),
      c.node?.name ?? "<none>",
      verbs.join(",") || "<none>",
      resources.join(",") || "<none>",
      c.impersonated ? Object.keys(c.impersonated).join(",") : "<none>",
    );
  }
  return row;
}

function printReport(out: Output, snapshot: UsageSnapshot, result: UsageFindings, wide: boolean) {
  const credentials = [...snapshot.credentials].sort((a, b) =>
    subjectOf(a).localeCompare(subjectOf(b)) || a.kind.localeCompare(b.kind) ||
    a.firstSeen.localeCompare(b.firstSeen)
  );
  if (credentials.length > 0) {
    out.write(
      renderTable(
        wide ? [...HEADERS, ...WIDE_HEADERS] : HEADERS,
        credentials.map((c) => rowOf(c, wide)),
      ),
    );
  }
  const sections: string[] = [];
  if (result.findings.length > 0) {
    sections.push(
      "Findings:\n" +
        result.findings.map((f) =>
          `  ${f.severity} ${f.type} ${f.subject}: ${f.reason}\n` +
          f.evidence.map((line) => `      ${line}\n`).join("")
        ).join(""),
    );
  }
  if (result.notEvaluated.length > 0) {
    sections.push(
      "Not evaluated:\n" + result.notEvaluated.map((line) => `  ${line}\n`).join(""),
    );
  }
  if (snapshot.notes.length > 0 || snapshot.overflow) {
    const overflow = Object.entries(snapshot.overflow ?? {}).map(([list, n]) =>
      `${n} ${list === "credentials" ? "requests of credentials" : list} beyond the limits ` +
      `counted but not kept`
    );
    sections.push(
      "Notes:\n" + [...snapshot.notes, ...overflow].map((line) => `  ${line}\n`).join(""),
    );
  }
  if (sections.length > 0) out.write((credentials.length > 0 ? "\n" : "") + sections.join("\n"));
}

/** A progress line on stderr, only when stderr is a terminal (and only for large inputs). */
function progressLine(
  err: Output,
): { update: (s: Readonly<ReadStats>) => void; clear: () => void } {
  if (!err.isTerminal()) return { update: () => {}, clear: () => {} };
  let shown = false;
  return {
    update: (s) => {
      shown = true;
      err.write(
        `\rRead ${s.events} events, ${(s.bytes / 1_048_576).toFixed(0)} MB...\x1b[K`,
      );
    },
    clear: () => {
      if (shown) err.write("\r\x1b[K");
      shown = false;
    },
  };
}
