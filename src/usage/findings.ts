/**
 * What `kubectl token usage` says about the credentials of a {@link UsageSnapshot}: computed
 * from the aggregates alone (plus the Pods and Nodes the cluster reports, when asked), so that
 * a log file and the webhook's database answer alike. Pure: the rules and the cluster's facts
 * come in as arguments. Severities and `--fail-on` are those of `audit` (src/audit/findings.ts).
 *
 * Where the data cannot tell, no finding is raised: the reading is said instead (an info
 * finding, or a line of {@link UsageFindings.notEvaluated}).
 */
import { SEVERITIES, type Severity } from "../audit/findings.ts";
import { humanDuration } from "../output/duration.ts";
import type { CredentialUsage, Seen, TokenIssue, UsageSnapshot } from "./model.ts";
import { systemRequester } from "./aggregate.ts";
import type { ObservedRequest } from "./request.ts";

/** The kinds of usage finding. */
export type UsageFindingType =
  /** A Pod-bound token used from an address that is neither its Pod's nor its Node's. */
  | "foreign-ip"
  /** A credential used with a user agent first seen after its baseline. */
  | "new-user-agent"
  /** A credential used from a network first seen after its baseline. */
  | "new-network"
  /** A Pod-bound token used after its Pod was deleted (or replaced under the same name). */
  | "used-after-pod-deleted"
  /** A Pod-bound token whose Pod is gone, when the events cannot tell when (info). */
  | "pod-gone"
  /** Tokens minted through TokenRequest by a person or another account, not the cluster. */
  | "minted-by-user"
  /** Tokens requested with a lifetime above `--max-token-lifetime`. */
  | "long-lifetime"
  /** Many denied requests: probing, or a workload with too few rights. */
  | "denied"
  /** A legacy Secret-based token still in use. */
  | "legacy-token";

/** One finding, with the aggregates that show it. */
export interface UsageFinding {
  type: UsageFindingType;
  severity: Severity;
  /** The credential's key (model.ts), when the finding is about one credential. */
  credential?: string;
  /** Who, as printed: `ns/sa (token 1a2b3c4d)`, a user name, `ns/sa` for minted tokens. */
  subject: string;
  /** One line, safe to print (never a token). */
  reason: string;
  /** Lines from the aggregates, e.g. `203.0.113.9: 12 requests, 2026-12-01T10:00:01Z .. 10:05:00Z`. */
  evidence: string[];
}

/** A Pod as the cluster reports it now. */
export interface PodFacts {
  uid?: string;
  /** `status.podIPs` (or `podIP`) and `status.hostIPs` (or `hostIP`). */
  ips: string[];
  nodeName?: string;
  /** RFC 3339. */
  created?: string;
}

/** What the cluster said about the Pods and Nodes the credentials name. */
export interface ClusterFacts {
  /** By `namespace/name`: the Pod, null when it does not exist; absent when not looked up. */
  pods: Map<string, PodFacts | null>;
  /** A Node's addresses by name, null when it does not exist; absent when not looked up. */
  nodes: Map<string, string[] | null>;
}

/** The thresholds and the cluster's facts. */
export interface UsageRules {
  /** `--max-token-lifetime`, in seconds. */
  maxTokenLifetimeS: number;
  /** `--baseline`: how long after its first use a credential's clients and networks are learnt. */
  baselineMs: number;
  /** `--denied-threshold`: denied requests of one credential from which it is a finding. */
  deniedThreshold: number;
  /** `--denied-ratio`: and the share of its requests they must be at least. */
  deniedRatio: number;
  /** Undefined when the cluster was not asked; then `clusterSkipped` says why. */
  cluster?: ClusterFacts;
  clusterSkipped?: string;
}

/** Default thresholds (the flags' defaults). */
export const DEFAULT_RULES = {
  maxTokenLifetimeS: 24 * 3600,
  baselineMs: 3_600_000,
  deniedThreshold: 20,
  deniedRatio: 0.25,
} as const;

/**
 * How long after a Pod's deletion its token may still be seen without a finding: the default
 * termination grace period (30 s) and the API server's token cache (10 s), rounded up. A Pod
 * with a longer grace period may use its token for longer, legitimately.
 */
export const POD_DELETION_GRACE_MS = 60_000;

/** Distinct denied request shapes from which many denials look like probing rather than one missing right. */
export const PROBING_SHAPES = 5;

/** Findings, and which checks could not be made. */
export interface UsageFindings {
  findings: UsageFinding[];
  /** One line per check not (fully) made, e.g. `foreign-ip: 3 Pod-bound credentials not evaluated (--offline)`. */
  notEvaluated: string[];
}

/** The findings of a snapshot. */
export function usageFindings(snapshot: UsageSnapshot, rules: UsageRules): UsageFindings {
  const findings: UsageFinding[] = [];
  const notEvaluated: string[] = [];
  const unchecked = { ip: 0, ipReason: new Set<string>(), noBaseline: 0, shared: 0 };
  for (const c of snapshot.credentials) {
    if (c.pod) {
      const r = podFindings(c, snapshot, rules, findings);
      if (r) {
        unchecked.ip++;
        unchecked.ipReason.add(r);
      }
    }
    if (c.kind === "service-account") unchecked.shared++;
    else if (!noveltyFindings(c, rules, findings)) unchecked.noBaseline++;
    deniedFinding(c, rules, findings);
    // The server names a legacy token only once it authenticated: it works, even where RBAC
    // denied the request (a refused, invalidated token's row has no user name).
    if (c.kind === "legacy-token" && c.username !== "") findings.push(legacyFinding(c));
  }
  if (unchecked.ip > 0) {
    notEvaluated.push(
      `foreign-ip: ${plural(unchecked.ip, "Pod-bound credential")} not evaluated (${
        [...unchecked.ipReason].join("; ")
      })`,
    );
  }
  if (unchecked.noBaseline > 0) {
    notEvaluated.push(
      `new-user-agent, new-network: ${plural(unchecked.noBaseline, "credential")} seen for ` +
        `less than the baseline (${humanDuration(rules.baselineMs)}): nothing to compare with`,
    );
  }
  if (unchecked.shared > 0) {
    notEvaluated.push(
      `new-user-agent, new-network: ${plural(unchecked.shared, "service account")} whose ` +
        `tokens the events do not tell apart (a new Pod brings a new address)`,
    );
  }
  issueFindings(snapshot.issued, rules, findings, notEvaluated);
  findings.sort((a, b) =>
    SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity) ||
    a.type.localeCompare(b.type) || a.subject.localeCompare(b.subject)
  );
  return { findings, notEvaluated };
}

/** Who a credential is, as findings and tables print it. */
export function credentialLabel(c: CredentialUsage): string {
  const who = c.serviceAccount
    ? `${c.serviceAccount.namespace}/${c.serviceAccount.name}`
    : c.username === ""
    ? c.legacySecret ? "(rejected legacy token)" : "(unauthenticated)"
    : c.username;
  switch (c.kind) {
    case "token":
      return `${who} (token ${c.jti!.slice(0, 8)})`;
    case "legacy-token":
      return `${who} (Secret ${c.legacySecret ?? "unknown"})`;
    case "pod":
      return `${who} (Pod ${c.pod!.name})`;
    default:
      return who;
  }
}

/** `2026-12-01T10:00:01Z`: a canonical time to the second. */
export function second(time: string): string {
  return time.length >= 19 ? `${time.slice(0, 19)}Z` : time;
}

/** `2026-12-01T10:00:01Z .. 10:05:00Z` (the date once when both are on the same day). */
export function span(first: string, last: string): string {
  const a = second(first);
  const b = second(last);
  if (a === b) return a;
  return `${a} .. ${a.slice(0, 10) === b.slice(0, 10) ? b.slice(11) : b}`;
}

/** `203.0.113.9: 12 requests, 2026-12-01T10:00:01Z .. 10:05:00Z`. */
export function seenLine(label: string, seen: Seen): string {
  return `${label}: ${plural(seen.count, "request")}, ${span(seen.first, seen.last)}`;
}

/** `get secrets in kube-system`, `list pods`, `get /version`. */
export function requestLabel(r: ObservedRequest): string {
  if (r.nonResourceURL !== undefined) return `${r.verb} ${r.nonResourceURL}`;
  const resource = (r.apiGroup ? `${r.resource}.${r.apiGroup}` : r.resource ?? "") +
    (r.subresource ? `/${r.subresource}` : "");
  return `${r.verb} ${resource}${r.name ? ` "${r.name}"` : ""}${
    r.namespace ? ` in ${r.namespace}` : ""
  }`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function ms(time: string): number {
  return Date.parse(time);
}

/** Foreign IPs and use after the Pod's end; returns why the IP check was not made, if not. */
/** Each snapshot's Pod deletions by namespace and name, in their order: one pass, not one a credential. */
const deletionIndexes = new WeakMap<UsageSnapshot, Map<string, UsageSnapshot["podDeletions"]>>();

/** The Pod deletions of a snapshot that may be of `namespace`/`name` (the caller compares). */
function deletionsOf(
  snapshot: UsageSnapshot,
  namespace: string,
  name: string,
): UsageSnapshot["podDeletions"] {
  let index = deletionIndexes.get(snapshot);
  if (index === undefined) {
    index = new Map();
    for (const d of snapshot.podDeletions) {
      const key = `${d.namespace}/${d.name}`;
      const list = index.get(key);
      if (list) list.push(d);
      else index.set(key, [d]);
    }
    deletionIndexes.set(snapshot, index);
  }
  return index.get(`${namespace}/${name}`) ?? [];
}

function podFindings(
  c: CredentialUsage,
  snapshot: UsageSnapshot,
  rules: UsageRules,
  findings: UsageFinding[],
): string | undefined {
  const pod = c.pod!;
  const namespace = c.serviceAccount?.namespace;
  if (!namespace) return undefined;
  const podName = `${namespace}/${pod.name}`;
  const subject = credentialLabel(c);
  // Deleted in the events: a use well after the deletion is the token outliving its Pod.
  for (const d of deletionsOf(snapshot, namespace, pod.name)) {
    if (d.namespace !== namespace || d.name !== pod.name) continue;
    if (d.uid && pod.uid && d.uid !== pod.uid) continue;
    // A Pod of the same name created after the deletion has other tokens: only a credential
    // already in use before the deletion can be the deleted Pod's.
    if (ms(c.firstSeen) > ms(d.at)) continue;
    if (ms(c.lastSeen) <= ms(d.at) + POD_DELETION_GRACE_MS) continue;
    findings.push({
      type: "used-after-pod-deleted",
      severity: "high",
      credential: c.key,
      subject,
      reason: `Token bound to Pod "${podName}" used after the Pod was deleted`,
      evidence: [
        `Pod deleted at ${second(d.at)}`,
        `last used at ${second(c.lastSeen)} (${humanDuration(ms(c.lastSeen) - ms(d.at))} later); ${
          plural(c.denied, "request")
        } of ${c.requests} denied in all`,
        ...ipLines(c, Object.keys(c.sourceIPs), 5),
      ],
    });
    break;
  }
  if (!rules.cluster) return rules.clusterSkipped ?? "the cluster was not asked";
  const facts = rules.cluster.pods.get(podName);
  if (facts === undefined) return "the Pod could not be looked up";
  const recreated = facts && facts.uid && pod.uid && facts.uid !== pod.uid;
  if (facts === null || recreated) {
    const deletedInEvents = findings.some((f) =>
      f.type === "used-after-pod-deleted" && f.credential === c.key
    );
    if (deletedInEvents) return undefined;
    if (recreated && facts.created && ms(c.lastSeen) > ms(facts.created) + POD_DELETION_GRACE_MS) {
      // Names are unique: the token's Pod was gone before its namesake was created.
      findings.push({
        type: "used-after-pod-deleted",
        severity: "high",
        credential: c.key,
        subject,
        reason: `Token bound to Pod "${podName}" used after the Pod was replaced by another ` +
          `of the same name (so after it was deleted)`,
        evidence: [
          `Pod "${podName}" now has UID ${facts.uid}, created ${second(facts.created)}; ` +
          `the token's Pod had UID ${pod.uid}`,
          `last used at ${second(c.lastSeen)}`,
        ],
      });
      return undefined;
    }
    findings.push({
      type: "pod-gone",
      severity: "info",
      credential: c.key,
      subject,
      reason: `The token's Pod "${podName}" no longer exists; the events do not show when it ` +
        `was deleted, so whether the token was used after that cannot be told`,
      evidence: [`last used at ${second(c.lastSeen)}`],
    });
    return undefined;
  }
  if (facts.ips.length === 0) return "a Pod without an IP";
  const allowed = new Set(facts.ips);
  const nodeName = facts.nodeName ?? c.node?.name;
  if (nodeName) {
    const node = rules.cluster.nodes.get(nodeName);
    // Without the Node's addresses a request SNATed to the Node would read as foreign.
    if (node === undefined) return "the Node could not be looked up";
    for (const ip of node ?? []) allowed.add(ip);
  }
  const foreign = Object.keys(c.sourceIPs).filter((ip) => !allowed.has(ip));
  if (foreign.length > 0) {
    findings.push({
      type: "foreign-ip",
      severity: "high",
      credential: c.key,
      subject,
      reason: `Token bound to Pod "${podName}" used from ${
        plural(foreign.length, "address")
      } that ${foreign.length === 1 ? "is" : "are"} neither the Pod's nor its Node's (${
        [...allowed].join(", ")
      })`,
      evidence: [...ipLines(c, foreign, 10), ...agentLines(c, 3)],
    });
  }
  return undefined;
}

function ipLines(c: CredentialUsage, ips: string[], max: number): string[] {
  const sorted = [...ips].sort((a, b) => c.sourceIPs[b].count - c.sourceIPs[a].count);
  const lines = sorted.slice(0, max).map((ip) => seenLine(ip, c.sourceIPs[ip]));
  if (sorted.length > max) lines.push(`... and ${plural(sorted.length - max, "more address")}`);
  if (c.overflow?.sourceIPs) {
    lines.push(
      `${plural(c.overflow.sourceIPs, "request")} from addresses not kept (limit reached)`,
    );
  }
  return lines;
}

function agentLines(c: CredentialUsage, max: number): string[] {
  return Object.entries(c.userAgents).sort(([, a], [, b]) => b.count - a.count).slice(0, max)
    .map(([agent, seen]) => seenLine(`user agent "${agent}"`, seen));
}

/**
 * The network of an address: IPv4 /24 (`203.0.113.0/24`), IPv6 /64 (`2001:db8:1:2::/64`); an
 * IPv4-mapped IPv6 address counts as IPv4. Anything else is its own network.
 */
export function networkOf(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const v4 = mapped ? mapped[1] : ip;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(v4)) return `${v4.slice(0, v4.lastIndexOf("."))}.0/24`;
  if (!ip.includes(":")) return ip;
  const [head, tail] = ip.toLowerCase().split("%")[0].split("::");
  const left = head ? head.split(":") : [];
  const right = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups = tail === undefined
    ? left
    : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  if (groups.length !== 8) return ip;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}

/**
 * New user agents and networks: "new" is first seen at or after the end of the baseline, the
 * credential's first `baselineMs` in the events; the baseline is everything seen before. A
 * credential seen for less than the baseline has none: returns false (nothing compared).
 */
function noveltyFindings(c: CredentialUsage, rules: UsageRules, findings: UsageFinding[]): boolean {
  const start = ms(c.firstSeen);
  if (ms(c.lastSeen) - start < rules.baselineMs) return false;
  const end = start + rules.baselineMs;
  const severity: Severity = c.kind === "user" ? "low" : "medium";
  const subject = credentialLabel(c);
  const baselineLine = `baseline: ${span(c.firstSeen, new Date(end).toISOString())}`;
  const newAgents = Object.entries(c.userAgents).filter(([, s]) => ms(s.first) >= end);
  if (newAgents.length > 0) {
    const known = Object.entries(c.userAgents).filter(([, s]) => ms(s.first) < end);
    findings.push({
      type: "new-user-agent",
      severity,
      credential: c.key,
      subject,
      reason: `Used with ${plural(newAgents.length, "user agent")} not seen in its first ${
        humanDuration(rules.baselineMs)
      }`,
      evidence: [
        ...newAgents.map(([agent, seen]) => seenLine(`new "${agent}"`, seen)),
        ...known.slice(0, 3).map(([agent, seen]) => seenLine(`known "${agent}"`, seen)),
        baselineLine,
      ],
    });
  }
  const known = new Set<string>();
  for (const [ip, seen] of Object.entries(c.sourceIPs)) {
    if (ms(seen.first) < end) known.add(networkOf(ip));
  }
  const fresh = new Map<string, string[]>();
  for (const [ip, seen] of Object.entries(c.sourceIPs)) {
    const net = networkOf(ip);
    if (ms(seen.first) >= end && !known.has(net)) fresh.set(net, [...fresh.get(net) ?? [], ip]);
  }
  if (fresh.size > 0) {
    findings.push({
      type: "new-network",
      severity,
      credential: c.key,
      subject,
      reason: `Used from ${plural(fresh.size, "network")} (${[...fresh.keys()].join(", ")}) ` +
        `not seen in its first ${humanDuration(rules.baselineMs)}`,
      evidence: [
        ...[...fresh.values()].flat().map((ip) => seenLine(ip, c.sourceIPs[ip])),
        `known networks: ${[...known].join(", ") || "none"}`,
        baselineLine,
      ],
    });
  }
  return true;
}

function deniedFinding(c: CredentialUsage, rules: UsageRules, findings: UsageFinding[]): void {
  if (c.denied < rules.deniedThreshold || c.denied < rules.deniedRatio * c.requests) return;
  const denied = Object.values(c.requestsMade).filter((r) => r.denied > 0)
    .sort((a, b) => b.denied - a.denied);
  const probing = denied.length >= PROBING_SHAPES;
  findings.push({
    type: "denied",
    severity: probing ? "high" : "medium",
    credential: c.key,
    subject: credentialLabel(c),
    reason: `${c.denied} of ${plural(c.requests, "request")} denied` +
      (probing
        ? `, for ${denied.length} different requests: probing for rights`
        : denied.length > 0
        ? `, for ${plural(denied.length, "kind")} of request: a missing right, or probing`
        : ""),
    evidence: [
      ...denied.slice(0, 5).map((r) => `${requestLabel(r.request)}: ${r.denied} denied`),
      ...(denied.length > 5 ? [`... and ${plural(denied.length - 5, "more request")}`] : []),
      ...ipLines(c, Object.keys(c.sourceIPs), 3),
      ...agentLines(c, 2),
    ],
  });
}

function legacyFinding(c: CredentialUsage): UsageFinding {
  return {
    type: "legacy-token",
    severity: "medium",
    credential: c.key,
    subject: credentialLabel(c),
    reason: c.legacySecret
      ? `Legacy Secret token "${c.legacySecret}" still in use: it never expires`
      : `A legacy Secret token of this service account is still in use (the server does not ` +
        `name the Secret before 1.28): it never expires`,
    evidence: [
      `${plural(c.requests, "request")} (${c.denied} denied), ${span(c.firstSeen, c.lastSeen)}`,
      ...ipLines(c, Object.keys(c.sourceIPs), 3),
      ...agentLines(c, 2),
    ],
  };
}

function issueLine(i: TokenIssue): string {
  const parts = [
    i.expirationSeconds !== undefined
      ? `lifetime ${humanDuration(i.expirationSeconds * 1000)}`
      : "lifetime unknown",
  ];
  if (i.boundObject) parts.push(`bound to ${i.boundObject}`);
  if (i.jti) parts.push(`jti ${i.jti}`);
  if (i.as) parts.push(`as ${i.as}`);
  return `${second(i.at)}: ${parts.join(", ")}`;
}

function succeeded(i: TokenIssue): boolean {
  return i.code === undefined || (i.code >= 200 && i.code < 300);
}

function issueFindings(
  issued: TokenIssue[],
  rules: UsageRules,
  findings: UsageFinding[],
  notEvaluated: string[],
): void {
  const groups = new Map<string, { byUser: TokenIssue[]; long: TokenIssue[] }>();
  let unknown = 0;
  for (const i of issued) {
    if (!succeeded(i)) continue;
    const key = `${i.requester}\u0000${i.serviceAccount.namespace}/${i.serviceAccount.name}`;
    let g = groups.get(key);
    if (!g) groups.set(key, g = { byUser: [], long: [] });
    if (!systemRequester(i.requester, i.serviceAccount)) g.byUser.push(i);
    if (i.expirationSeconds === undefined) unknown++;
    else if (i.expirationSeconds > rules.maxTokenLifetimeS) g.long.push(i);
  }
  const lines = (list: TokenIssue[]) => [
    ...list.slice(0, 10).map(issueLine),
    ...(list.length > 10 ? [`... and ${plural(list.length - 10, "more token")}`] : []),
  ];
  for (const [key, g] of groups) {
    const [requester, sa] = key.split("\u0000");
    const who = requester === "" ? "(unknown requester)" : requester;
    if (g.byUser.length > 0) {
      findings.push({
        type: "minted-by-user",
        severity: "medium",
        subject: sa,
        reason: `${who} minted ${plural(g.byUser.length, "token")} for service account "${sa}"` +
          ` (not the cluster, not the account itself)`,
        evidence: lines(g.byUser),
      });
    }
    if (g.long.length > 0) {
      const longest = Math.max(...g.long.map((i) => i.expirationSeconds!));
      findings.push({
        type: "long-lifetime",
        severity: longest > 30 * 24 * 3600 ? "high" : "medium",
        subject: sa,
        reason: `${who} requested ${plural(g.long.length, "token")} for "${sa}" living longer ` +
          `than ${humanDuration(rules.maxTokenLifetimeS * 1000)} (up to ${
            humanDuration(longest * 1000)
          }; the server may have shortened them)`,
        evidence: lines(g.long),
      });
    }
  }
  if (unknown > 0) {
    notEvaluated.push(
      `long-lifetime: ${plural(unknown, "issued token")} of unknown lifetime (the audit ` +
        `policy does not log the TokenRequest body at Request level)`,
    );
  }
}
