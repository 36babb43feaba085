/**
 * What `usage` knows about credentials: aggregates only, never a raw event and never a token.
 * The aggregator (aggregate.ts) builds a {@link UsageSnapshot} from audit events, the SQLite
 * store (store.ts) keeps one across restarts, and findings and least-privilege rules are
 * computed from a snapshot, so that a log file and the webhook's database answer alike.
 *
 * Every map here is bounded by the aggregator (see the `LIMITS`), so that memory stays flat
 * whatever the input: a value beyond a limit is counted in `overflow`, not kept.
 */
import type { ObservedRequest } from "./request.ts";

/** How often something was seen, and when first and last (RFC 3339 instants). */
export interface Seen {
  count: number;
  first: string;
  last: string;
}

/** How a credential is identified, from the most to the least precise. */
export type CredentialKind =
  /** A bound service-account token known by its `jti` (credential-id extra, 1.29+). */
  | "token"
  /** A legacy Secret-based service-account token, known by its Secret (audit annotation, 1.24+... see aggregate.ts). */
  | "legacy-token"
  /** A Pod-bound token without a `jti` (older servers): known by its Pod. */
  | "pod"
  /** A service account whose token the events do not tell apart (older servers, unbound tokens). */
  | "service-account"
  /** Any other user (certificates, OIDC, static tokens, bootstrap tokens). */
  | "user";

/** One request shape a credential made, with how often and how often it was denied. */
export interface RequestUsage extends Seen {
  request: ObservedRequest;
  denied: number;
}

/** What one credential did. */
export interface CredentialUsage {
  /**
   * Stable identity: `token:<jti>`, `legacy-token:<ns>/<secret>`, `pod:<ns>/<sa>/<pod-uid or
   * name>`, `service-account:<ns>/<sa>`, `user:<username>`.
   */
  key: string;
  kind: CredentialKind;
  username: string;
  serviceAccount?: { namespace: string; name: string };
  jti?: string;
  legacySecret?: string;
  pod?: { name: string; uid?: string };
  node?: { name: string; uid?: string };
  firstSeen: string;
  lastSeen: string;
  /** Requests counted once each (one stage per request: see aggregate.ts). */
  requests: number;
  /** Of those, refused: 401/403 answers. */
  denied: number;
  sourceIPs: Record<string, Seen>;
  userAgents: Record<string, Seen>;
  /**
   * By `requestKey()` of request.ts. In a snapshot from `UsageAggregator.finish()` this is a
   * getter that builds a new record from the aggregate on each read (a large snapshot's
   * requests are never all in memory at once): read it once per use, and change a copy of the
   * credential (`{ ...c }` copies the record), not the credential.
   */
  readonly requestsMade: Record<string, RequestUsage>;
  /**
   * Identities this credential impersonated (`Impersonate-User`), by user name: the requests
   * are counted for the acting credential, never for the impersonated account's tokens.
   */
  impersonated?: Record<string, Seen>;
  /** Values not kept because a map was full, by map name (e.g. `{"sourceIPs": 3}`). */
  overflow?: Record<string, number>;
}

/** A token someone minted through TokenRequest (`create serviceaccounts/token`). */
export interface TokenIssue {
  at: string;
  /** Who asked for it (the acting credential's user name). */
  requester: string;
  /** The identity the requester impersonated, when it did. */
  as?: string;
  serviceAccount: { namespace: string; name: string };
  /** The `issued-credential-id` annotation's jti (1.30+). */
  jti?: string;
  /** From the request body when the policy logs it at Request level; else unknown. */
  expirationSeconds?: number;
  /** From the request body: what it is bound to, e.g. `Pod/web-1`. */
  boundObject?: string;
  /** The HTTP status of the TokenRequest. */
  code?: number;
}

/** A Pod deletion seen in the events (a bound token should not be used after it). */
export interface PodDeletion {
  namespace: string;
  name: string;
  uid?: string;
  at: string;
}

/** Everything `usage` aggregated from a set of events. */
export interface UsageSnapshot {
  /** Events read (after de-duplicating the stages of one request), and the time they span. */
  events: number;
  firstEvent?: string;
  lastEvent?: string;
  credentials: CredentialUsage[];
  issued: TokenIssue[];
  podDeletions: PodDeletion[];
  /** What the events could not tell, e.g. "no credential-id extra: per-token answers need 1.29+". */
  notes: string[];
  /**
   * What was counted but not kept because a list was full, by list name: `credentials`
   * (requests of credentials beyond the limit), `issued`, `podDeletions`.
   */
  overflow?: Record<string, number>;
}

function earlier(a: string, b: string): string {
  return Date.parse(a) <= Date.parse(b) ? a : b;
}

function later(a: string, b: string): string {
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

/** `a` and `b` together (neither is changed). */
export function mergeSeen(a: Seen, b: Seen): Seen {
  return {
    count: a.count + b.count,
    first: earlier(a.first, b.first),
    last: later(a.last, b.last),
  };
}

function addCounts(
  a: Record<string, number> | undefined,
  b: Record<string, number> | undefined,
): Record<string, number> | undefined {
  if (!a && !b) return undefined;
  const out: Record<string, number> = { ...a };
  for (const [k, n] of Object.entries(b ?? {})) out[k] = (out[k] ?? 0) + n;
  return out;
}

function mergeRecords<T extends Seen>(
  a: Record<string, T>,
  b: Record<string, T>,
  merge: (x: T, y: T) => T,
): Record<string, T> {
  const out: Record<string, T> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? merge(out[k], v) : v;
  return out;
}

/** Two aggregates of the same credential (same `key`) as one. */
export function mergeCredential(a: CredentialUsage, b: CredentialUsage): CredentialUsage {
  const overflow = addCounts(a.overflow, b.overflow);
  const impersonated = a.impersonated || b.impersonated
    ? mergeRecords(a.impersonated ?? {}, b.impersonated ?? {}, mergeSeen)
    : undefined;
  return {
    ...a,
    ...Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)),
    firstSeen: earlier(a.firstSeen, b.firstSeen),
    lastSeen: later(a.lastSeen, b.lastSeen),
    requests: a.requests + b.requests,
    denied: a.denied + b.denied,
    sourceIPs: mergeRecords(a.sourceIPs, b.sourceIPs, mergeSeen),
    userAgents: mergeRecords(a.userAgents, b.userAgents, mergeSeen),
    requestsMade: mergeRecords(
      a.requestsMade,
      b.requestsMade,
      (x, y) => ({ ...mergeSeen(x, y), request: x.request, denied: x.denied + y.denied }),
    ),
    ...(impersonated ? { impersonated } : {}),
    ...(overflow ? { overflow } : {}),
  };
}

/** Two snapshots as one (e.g. what the store held and a new webhook batch). */
export function mergeSnapshots(a: UsageSnapshot, b: UsageSnapshot): UsageSnapshot {
  const byKey = new Map(a.credentials.map((c) => [c.key, c]));
  for (const c of b.credentials) {
    const old = byKey.get(c.key);
    byKey.set(c.key, old ? mergeCredential(old, c) : c);
  }
  const firstEvent = a.firstEvent && b.firstEvent
    ? earlier(a.firstEvent, b.firstEvent)
    : a.firstEvent ?? b.firstEvent;
  const lastEvent = a.lastEvent && b.lastEvent
    ? later(a.lastEvent, b.lastEvent)
    : a.lastEvent ?? b.lastEvent;
  return {
    events: a.events + b.events,
    ...(firstEvent ? { firstEvent } : {}),
    ...(lastEvent ? { lastEvent } : {}),
    credentials: [...byKey.values()],
    issued: [...a.issued, ...b.issued],
    podDeletions: [...a.podDeletions, ...b.podDeletions],
    notes: [...new Set([...a.notes, ...b.notes])],
    ...(a.overflow || b.overflow ? { overflow: addCounts(a.overflow, b.overflow) } : {}),
  };
}

/** An empty snapshot. */
export function emptySnapshot(): UsageSnapshot {
  return { events: 0, credentials: [], issued: [], podDeletions: [], notes: [] };
}
