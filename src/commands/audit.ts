/**
 * `kubectl token audit` (alias `list`): inventory of token-bearing objects with findings, as a
 * table, `-o wide`, or `-o json|yaml`, printed page by page as the lists come in.
 */
import type { CommandContext } from "../context.ts";
import { CliError, UsageError } from "../errors.ts";
import { parseOutputFlag, toJson, toYaml } from "../output/printers.ts";
import { compactDuration, humanDuration, rfc3339 } from "../output/duration.ts";
import { parseDaysFlag } from "../flags/duration.ts";
import {
  atLeast,
  type AuditItem,
  day,
  type Finding,
  parseSeverity,
  SEVERITIES,
  type Severity,
  worstSeverity,
} from "../audit/findings.ts";
import { parseKindList } from "../flags/kinds.ts";
import {
  AUDIT_KINDS,
  type AuditKind,
  type RefusedList,
  scan,
  type ScanCounts,
} from "../audit/scan.ts";
import { StreamTable } from "../audit/_stream_table.ts";
import { consumerLabel, type SecretConsumer } from "../audit/consumers.ts";
import type { Output } from "../runtime.ts";
import type { ApiClient } from "../api/client.ts";
import { getServerVersion } from "../api/discovery.ts";
import { BOOTSTRAP_NAMESPACE } from "../bootstrap/token.ts";

/** Flags of `audit`. */
export interface AuditOptions {
  allNamespaces?: boolean;
  unusedFor: string;
  failOn?: string;
  output?: string;
  chunkSize: string;
  severity?: string;
  /** `--kind`, repeatable, each a comma list. */
  kind?: string[];
  selector?: string;
}

/** The validated request. */
export interface AuditRequest {
  allNamespaces: boolean;
  unusedForMs: number;
  failOn?: Severity;
  output: "table" | "wide" | "json" | "yaml";
  chunkSize: number;
  /** Show only items whose worst finding is this or worse. */
  severity?: Severity;
  /** The kinds to audit; undefined for all. */
  kinds?: ReadonlySet<AuditKind>;
  labelSelector?: string;
}

/** Names `--kind` accepts, kubectl-style (singular, plural, short), for each kind. */
const KIND_NAMES: Record<string, AuditKind> = {
  secret: "secret",
  secrets: "secret",
  bootstrap: "bootstrap",
  bootstraps: "bootstrap",
  bootstraptoken: "bootstrap",
  bootstraptokens: "bootstrap",
  "bootstrap-token": "bootstrap",
  "bootstrap-tokens": "bootstrap",
  serviceaccount: "serviceaccount",
  serviceaccounts: "serviceaccount",
  sa: "serviceaccount",
  issued: "issued",
  issuedtoken: "issued",
  issuedtokens: "issued",
  "issued-token": "issued",
  "issued-tokens": "issued",
};

/** Check `--kind` values: comma lists, repeatable; undefined when none is given. */
export function parseKinds(values: string[] | undefined): Set<AuditKind> | undefined {
  return parseKindList(values, (word: string) => KIND_NAMES[word], AUDIT_KINDS);
}

/** Check the flags (pure). */
export function validateAudit(options: AuditOptions): AuditRequest {
  const output = parseOutputFlag(
    options.output,
    ["wide", "json", "yaml"],
    "table",
  ) as AuditRequest["output"];
  const unusedForMs = parseDaysFlag("unused-for", options.unusedFor);
  if (unusedForMs <= 0) {
    throw new UsageError(
      `Invalid value "${options.unusedFor}" for flag --unused-for: the duration must be positive`,
    );
  }
  const failOn = options.failOn === undefined
    ? undefined
    : parseSeverity("--fail-on", options.failOn);
  const severity = options.severity === undefined
    ? undefined
    : parseSeverity("--severity", options.severity);
  if (options.selector !== undefined && options.selector.trim() === "") {
    throw new UsageError(`Invalid value "" for flag --selector: expected a label selector`);
  }
  return {
    severity,
    kinds: parseKinds(options.kind),
    labelSelector: options.selector?.trim(),
    allNamespaces: Boolean(options.allNamespaces),
    unusedForMs,
    failOn,
    output,
    chunkSize: parseChunkSize(options.chunkSize),
  };
}

/** Check `--chunk-size` (kubectl's flag: items per list request, 0 for all at once). */
export function parseChunkSize(value: string): number {
  if (!/^\d+$/.test(value.trim())) {
    throw new UsageError(
      `Invalid value "${value}" for flag --chunk-size: expected a whole number (0 for no paging)`,
    );
  }
  return Number(value);
}

/**
 * The server's version when it is older than 1.27 and so never labels a legacy token Secret with
 * its last use; undefined when it does (or its version cannot be read).
 */
async function untrackedBy(
  ctx: CommandContext,
  client: ApiClient,
): Promise<string | undefined> {
  try {
    const v = await getServerVersion(client);
    const major = parseInt(v.major ?? "", 10);
    const minor = parseInt(v.minor ?? "", 10);
    if (major === 1 && minor < 27) return v.gitVersion ?? `v${major}.${minor}`;
  } catch (e) {
    ctx.log(6, `server version unknown: ${e instanceof Error ? e.message : String(e)}`);
  }
  return undefined;
}

/** Run the audit and print it; returns the exit code. */
export async function runAudit(ctx: CommandContext, options: AuditOptions): Promise<number> {
  const request = validateAudit(options);
  // Every finding is judged at one instant: when the audit was asked for, before the client
  // (a heavy import) and the lists.
  const now = ctx.runtime.now();
  const config = await ctx.config();
  const namespace = request.allNamespaces ? undefined : config.namespace;
  const bootstrap = namespace === undefined || namespace === BOOTSTRAP_NAMESPACE;
  const kinds = request.kinds ?? new Set(AUDIT_KINDS);
  if (!bootstrap && kinds.size === 1 && kinds.has("bootstrap")) {
    throw new UsageError(
      `Flag --kind bootstrap needs -A or -n ${BOOTSTRAP_NAMESPACE}: bootstrap tokens live in ` +
        `${BOOTSTRAP_NAMESPACE}, not in "${namespace}"`,
    );
  }
  const client = await ctx.client();
  const err = ctx.runtime.stderr;
  const table = request.output === "table" || request.output === "wide";
  // On a terminal a table leaves out what is only information, unless asked (kubectl users
  // read the table; scripts get everything).
  const showFrom: Severity | undefined = request.severity ??
    (table && ctx.runtime.stdout.isTerminal() ? "low" : undefined);
  const shown = (item: AuditItem) => {
    if (!showFrom) return true;
    const worst = worstSeverity(item.findings);
    return worst !== undefined && atLeast(worst, showFrom);
  };
  const printer = makePrinter(ctx.runtime.stdout, request, now);
  const tally: Record<Severity, number> = { info: 0, low: 0, medium: 0, high: 0, critical: 0 };
  let hidden = 0;
  const progress = progressLine(err);
  printer.begin(namespace);
  const result = await scan(client, {
    namespace,
    now,
    unusedForMs: request.unusedForMs,
    untrackedBy: await untrackedBy(ctx, client),
    chunkSize: request.chunkSize,
    bootstrap,
    kinds,
    labelSelector: request.labelSelector,
    progress: progress.update,
    onRefused: (refused) => {
      progress.clear();
      err.write(`Warning: ${refusedLine(refused)}\n`);
    },
  }, (items) => {
    progress.clear();
    for (const item of items) {
      // --fail-on counts every finding, shown or not: the filter only changes what is printed.
      for (const f of item.findings) tally[f.severity]++;
      if (shown(item)) printer.item(item);
      else hidden++;
    }
    printer.flush();
  });
  progress.clear();
  const counts: ScanCounts = {
    serviceAccounts: result.serviceAccounts,
    secrets: result.secrets,
    bootstrapTokens: result.bootstrapTokens,
    issuedTokens: result.issuedTokens,
  };
  printer.end(counts, tally, {
    incomplete: result.refused,
    hidden: showFrom && request.severity ? hidden : undefined,
  });
  if (result.refused.length === result.lists) {
    throw new CliError(
      `Cannot audit: the server refused every list (${
        result.refused.map((r) => listName(r)).join(", ")
      }): ${result.refused[0]?.reason ?? ""}`,
    );
  }
  const total = counts.secrets + counts.bootstrapTokens + counts.serviceAccounts +
    counts.issuedTokens;
  if (table) {
    const read = readLine(counts, kinds);
    if (printer.empty && hidden === 0) {
      err.write(
        namespace === undefined
          ? "No token-bearing objects found.\n"
          : `No token-bearing objects found in ${namespace} namespace.\n`,
      );
    } else err.write(`${read}; findings: ${summary(tally)}\n`);
    if (hidden > 0) {
      err.write(
        request.severity
          ? `${hidden} row${hidden === 1 ? "" : "s"} below severity "${request.severity}" hidden\n`
          : `${hidden} info row${hidden === 1 ? "" : "s"} hidden (--severity info shows them)\n`,
      );
    }
  }
  ctx.log(6, `audited ${total} objects`);
  if (request.failOn) {
    const failOn = request.failOn;
    const reached = SEVERITIES.filter((s) => atLeast(s, failOn))
      .reduce((n, s) => n + tally[s], 0);
    if (reached > 0) {
      throw new CliError(
        `Found ${reached} finding${reached === 1 ? "" : "s"} of severity "${failOn}" or above ` +
          `(--fail-on ${failOn})`,
      );
    }
    if (result.refused.length > 0) {
      // A CI gate must not pass on an audit that could not see everything.
      throw new CliError(
        `Cannot pass --fail-on ${failOn}: the audit is incomplete (${
          result.refused.map((r) => listName(r)).join(", ")
        } not listed)`,
      );
    }
  }
  return 0;
}

/** "serviceaccounts in namespace "x"", "secrets in all namespaces". */
function listName(r: RefusedList): string {
  return `${r.resource} ${r.namespace ? `in namespace "${r.namespace}"` : "in all namespaces"}`;
}

/** The warning for a refused list, one line. */
export function refusedLine(r: RefusedList): string {
  return `cannot list ${listName(r)}: ${r.reason.split("\n")[0]}` +
    (r.consequence ? `; ${r.consequence}` : "");
}

function readLine(counts: ScanCounts, kinds: ReadonlySet<AuditKind>): string {
  const parts: string[] = [];
  if (kinds.has("secret")) parts.push(`${counts.secrets} token Secrets`);
  if (kinds.has("bootstrap")) parts.push(`${counts.bootstrapTokens} bootstrap tokens`);
  if (kinds.has("serviceaccount")) parts.push(`${counts.serviceAccounts} service accounts`);
  if (kinds.has("issued")) parts.push(`${counts.issuedTokens} issued tokens`);
  return `${parts.join(", ")} read`;
}

function summary(tally: Record<Severity, number>): string {
  const parts = [...SEVERITIES].reverse().filter((s) => tally[s] > 0).map((s) =>
    `${tally[s]} ${s}`
  );
  return parts.length ? parts.join(", ") : "none";
}

interface Printer {
  begin(namespace: string | undefined): void;
  item(item: AuditItem): void;
  flush(): void;
  end(counts: ScanCounts, tally: Record<Severity, number>, extra: SummaryExtra): void;
  readonly empty: boolean;
}

/** What the document's summary says beyond the counts. */
interface SummaryExtra {
  /** Lists the server refused (recorded as `incomplete` when any). */
  incomplete: RefusedList[];
  /** Items left out by --severity (recorded as `hidden` when filtering). */
  hidden?: number;
}

function makePrinter(out: Output, request: AuditRequest, now: Date): Printer {
  if (request.output === "json") return new JsonPrinter(out, request, now);
  if (request.output === "yaml") return new YamlPrinter(out, request, now);
  return new TablePrinter(out, request.output === "wide", now);
}

const HEADERS = [
  "NAMESPACE",
  "KIND",
  "NAME",
  "SERVICE-ACCOUNT",
  "AGE",
  "LAST-USED",
  "TTL",
  "SEVERITY",
  "FINDINGS",
];
const WIDE_HEADERS = [
  "INVALID-SINCE",
  "USAGES",
  "EXTRA-GROUPS",
  "DESCRIPTION",
  "CONSUMERS",
  "REASONS",
];
const NONE = "<none>";
const TABLE_BATCH_ROWS = 1000;

class TablePrinter implements Printer {
  #table: StreamTable;
  #wide: boolean;
  #now: Date;
  constructor(out: Output, wide: boolean, now: Date) {
    this.#wide = wide;
    this.#now = now;
    this.#table = new StreamTable(out, wide ? [...HEADERS, ...WIDE_HEADERS] : HEADERS);
  }
  begin() {}
  #queued = 0;
  item(item: AuditItem) {
    this.#table.add(tableRow(item, this.#now, this.#wide));
    this.#queued++;
  }
  flush() {
    // Small audits come out as one aligned table; large ones a batch of rows at a time.
    if (this.#queued < TABLE_BATCH_ROWS) return;
    this.#table.flush();
    this.#queued = 0;
  }
  end() {
    this.#table.flush();
  }
  get empty() {
    return this.#table.empty && this.#queued === 0;
  }
}

/** One table row (exported for tests). */
export function tableRow(item: AuditItem, now: Date, wide: boolean): string[] {
  const age = (d?: Date) => d ? humanDuration(now.getTime() - d.getTime()) : NONE;
  const severity = worstSeverity(item.findings) ?? NONE;
  const types = item.findings.length ? item.findings.map((f) => f.type).join(",") : NONE;
  let row: string[];
  let wideCells: string[];
  switch (item.kind) {
    case "Secret":
      row = [
        item.namespace,
        "Secret",
        item.name,
        item.serviceAccount || NONE,
        age(item.created),
        item.lastUsed ? day(item.lastUsed) : item.tracked ? "<never>" : "<untracked>",
        "<forever>",
      ];
      wideCells = [
        item.invalidSince ? day(item.invalidSince) : NONE,
        NONE,
        NONE,
        NONE,
        item.consumers === "unknown"
          ? "<unknown>"
          : item.consumers?.map(consumerLabel).join(",") || NONE,
      ];
      break;
    case "BootstrapToken":
      row = [
        item.namespace,
        "BootstrapToken",
        item.id,
        NONE,
        age(item.created),
        NONE,
        item.invalidExpiration !== undefined
          ? "<invalid>"
          : !item.expires
          ? "<forever>"
          : item.expired
          ? "<expired>"
          : humanDuration(item.expires.getTime() - now.getTime()),
      ];
      wideCells = [
        NONE,
        item.usages.join(",") || NONE,
        item.groups.join(",") || NONE,
        item.description ?? NONE,
        NONE,
      ];
      break;
    case "ServiceAccount":
      row = [item.namespace, "ServiceAccount", item.name, item.name, age(item.created), NONE, NONE];
      wideCells = [NONE, NONE, NONE, NONE, NONE];
      break;
    case "IssuedToken":
      row = [
        item.namespace,
        "IssuedToken",
        item.name,
        item.serviceAccount || NONE,
        age(item.created),
        NONE,
        item.state !== "active"
          ? `<${item.state}>`
          : item.expires
          ? humanDuration(item.expires.getTime() - now.getTime())
          : NONE,
      ];
      wideCells = [NONE, NONE, NONE, item.purpose ?? NONE, NONE];
      break;
  }
  row.push(severity, types);
  if (wide) row.push(...wideCells, item.findings.map((f) => f.reason).join("; ") || NONE);
  return row;
}

/** The `-o json|yaml` form of one item (exported for tests). */
export function itemDocument(item: AuditItem, now: Date): Record<string, unknown> {
  const time = (d?: Date) => d ? rfc3339(d) : undefined;
  const findings = item.findings.map((f: Finding) => ({
    type: f.type,
    severity: f.severity,
    reason: f.reason,
    ...(f.replacement ? { replacement: f.replacement } : {}),
  }));
  switch (item.kind) {
    case "Secret":
      return {
        kind: "Secret",
        namespace: item.namespace,
        name: item.name,
        uid: item.uid,
        serviceAccount: { name: item.serviceAccount, uid: item.serviceAccountUid },
        creationTimestamp: time(item.created),
        lastUsed: item.lastUsed ? day(item.lastUsed) : undefined,
        invalidSince: item.invalidSince ? day(item.invalidSince) : undefined,
        idleSeconds: item.idleMs === undefined ? undefined : Math.floor(item.idleMs / 1000),
        consumers: item.consumers === undefined ? undefined : consumersDocument(item.consumers),
        findings,
      };
    case "BootstrapToken":
      return {
        kind: "BootstrapToken",
        namespace: item.namespace,
        name: item.name,
        tokenID: item.id,
        creationTimestamp: time(item.created),
        expires: time(item.expires),
        ttl: item.expires && !item.expired
          ? compactDuration(item.expires.getTime() - now.getTime())
          : undefined,
        expired: item.expired,
        usages: item.usages,
        extraGroups: item.groups,
        description: item.description,
        findings,
      };
    case "ServiceAccount":
      return {
        kind: "ServiceAccount",
        namespace: item.namespace,
        name: item.name,
        uid: item.uid,
        creationTimestamp: time(item.created),
        automountServiceAccountToken: item.automountServiceAccountToken ?? null,
        findings,
      };
    case "IssuedToken":
      return {
        kind: "IssuedToken",
        namespace: item.namespace,
        name: item.name,
        uid: item.uid,
        serviceAccount: item.serviceAccount,
        requester: item.requester,
        purpose: item.purpose,
        creationTimestamp: time(item.created),
        expires: time(item.expires),
        ttl: item.expires && item.state === "active"
          ? compactDuration(item.expires.getTime() - now.getTime())
          : undefined,
        state: item.state,
        findings,
      };
  }
}

/** The `consumers` of a Secret in `-o json|yaml`: null when they could not be listed. */
function consumersDocument(consumers: SecretConsumer[] | "unknown") {
  if (consumers === "unknown") return null;
  return consumers.map((c) => ({
    kind: c.kind,
    namespace: c.namespace,
    name: c.name,
    phase: c.phase,
    references: c.references,
    controller: c.controller,
    workload: c.workload ?? c.controller,
  }));
}

const API_VERSION = "kubectl-token.dev/v1alpha1";

function summaryDocument(
  counts: ScanCounts,
  tally: Record<Severity, number>,
  extra: SummaryExtra,
) {
  return {
    ...counts,
    findings: tally,
    ...(extra.hidden !== undefined ? { hidden: extra.hidden } : {}),
    ...(extra.incomplete.length
      ? {
        incomplete: extra.incomplete.map((r) => ({
          resource: r.resource,
          namespace: r.namespace ?? null,
          reason: r.reason,
        })),
      }
      : {}),
  };
}

/** What the JSON and YAML printers share: the document head, a buffer of items, the count. */
abstract class DocumentPrinter implements Printer {
  protected out: Output;
  protected now: Date;
  protected count = 0;
  protected buffer = "";
  #request: AuditRequest;
  constructor(out: Output, request: AuditRequest, now: Date) {
    this.out = out;
    this.#request = request;
    this.now = now;
  }
  protected head(namespace: string | undefined) {
    return {
      apiVersion: API_VERSION,
      kind: "TokenAudit",
      namespace: namespace ?? null,
      unusedFor: compactDuration(this.#request.unusedForMs),
    };
  }
  abstract begin(namespace: string | undefined): void;
  abstract item(item: AuditItem): void;
  abstract end(counts: ScanCounts, tally: Record<Severity, number>, extra: SummaryExtra): void;
  flush() {
    this.out.write(this.buffer);
    this.buffer = "";
  }
  get empty() {
    return this.count === 0;
  }
}

/** Writes `{"apiVersion", "kind", "items": [...], "summary"}` an item at a time. */
class JsonPrinter extends DocumentPrinter {
  begin(namespace: string | undefined) {
    // Reopen the object to append the items.
    this.out.write(toJson(this.head(namespace)).replace(/\n}\n$/, ',\n    "items": ['));
  }
  item(item: AuditItem) {
    const text = toJson(itemDocument(item, this.now)).trimEnd().replace(/\n/g, "\n        ");
    this.buffer += `${this.count++ === 0 ? "" : ","}\n        ${text}`;
  }
  end(counts: ScanCounts, tally: Record<Severity, number>, extra: SummaryExtra) {
    this.flush();
    const tail = toJson(summaryDocument(counts, tally, extra)).trimEnd().replace(/\n/g, "\n    ");
    this.out.write(`${this.count ? "\n    " : ""}],\n    "summary": ${tail}\n}\n`);
  }
}

/** Writes the same document as YAML an item at a time. */
class YamlPrinter extends DocumentPrinter {
  begin(namespace: string | undefined) {
    this.out.write(toYaml(this.head(namespace)));
  }
  item(item: AuditItem) {
    if (this.count++ === 0) this.buffer += "items:\n";
    this.buffer += toYaml([itemDocument(item, this.now)]);
  }
  end(counts: ScanCounts, tally: Record<Severity, number>, extra: SummaryExtra) {
    this.flush();
    if (this.count === 0) this.out.write("items: []\n");
    this.out.write(toYaml({ summary: summaryDocument(counts, tally, extra) }));
  }
}

/** A progress line on stderr, only when stderr is a terminal. */
export function progressLine(err: Output): { update: (c: ScanCounts) => void; clear: () => void } {
  if (!err.isTerminal()) return { update: () => {}, clear: () => {} };
  let shown = false;
  return {
    update: (c) => {
      shown = true;
      err.write(
        `\rRead ${c.serviceAccounts} service accounts, ${c.secrets} token Secrets, ` +
          `${c.bootstrapTokens} bootstrap tokens, ${c.issuedTokens} issued tokens...\x1b[K`,
      );
    },
    clear: () => {
      if (shown) err.write("\r\x1b[K");
      shown = false;
    },
  };
}
