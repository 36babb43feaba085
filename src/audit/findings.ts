/**
 * What `kubectl token audit` says about each token-bearing object: legacy service-account token
 * Secrets, bootstrap tokens, service accounts that mount tokens automatically, and the registry
 * entries of revocable tokens. Pure: the time and the threshold come in as arguments.
 */
import { type BootstrapTokenInfo, readBootstrapSecret } from "../bootstrap/secret.ts";
import { BOOTSTRAP_NAMESPACE } from "../bootstrap/token.ts";
import { UsageError } from "../errors.ts";
import type { SecretConsumer } from "./consumers.ts";
import {
  type Secret,
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_UID_ANNOTATION,
} from "../api/secrets.ts";
import { entryOf, type IssuedState } from "../registry/issued.ts";
import { compactDuration, humanDuration, rfc3339 } from "../output/duration.ts";

/** How bad a finding is, from least to most. */
export const SEVERITIES = ["info", "low", "medium", "high", "critical"] as const;
/** One of {@link SEVERITIES}. */
export type Severity = typeof SEVERITIES[number];

/** The kinds of finding. */
export type FindingType =
  | "long-lived"
  | "unused"
  | "never-used"
  | "orphaned"
  | "invalidated"
  | "expired"
  | "no-expiry"
  | "automount"
  | "in-use"
  | "unpruned";

/** One finding on one object. */
export interface Finding {
  type: FindingType;
  severity: Severity;
  /** One line, safe to print: it never contains a token. */
  reason: string;
  /** What to use instead (a YAML snippet or a command), for `-o json|yaml`. */
  replacement?: string;
}

/** Label the API server sets on a legacy token Secret when its token is used (day resolution). */
export const LAST_USED_LABEL = "kubernetes.io/legacy-token-last-used";
/** Label the legacy token cleaner sets when it invalidates a token. */
export const INVALID_SINCE_LABEL = "kubernetes.io/legacy-token-invalid-since";
export {
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_TYPE,
  SERVICE_ACCOUNT_UID_ANNOTATION,
} from "../api/secrets.ts";

/** A legacy service-account token Secret as the audit reports it. */
export interface SecretTokenItem {
  kind: "Secret";
  namespace: string;
  name: string;
  uid?: string;
  serviceAccount: string;
  serviceAccountUid?: string;
  created?: Date;
  lastUsed?: Date;
  invalidSince?: Date;
  /**
   * How long the token has gone unused at least: since the end of the day of its last use (the
   * label holds only a day), or since it was created when the server tracks use and has recorded
   * none. Undefined when unknown: no creation time, or a server that does not track use.
   */
  idleMs?: number;
  /** Whether the server records use (false: "never used" means "not recorded"). */
  tracked: boolean;
  /**
   * The Pods that use it (secret volume, projected source, env, envFrom), or "unknown" when the
   * Pods could not be listed; undefined when not looked for.
   */
  consumers?: SecretConsumer[] | "unknown";
  findings: Finding[];
}

/** A bootstrap token as the audit reports it (never its secret). */
export interface BootstrapTokenItem extends BootstrapTokenInfo {
  kind: "BootstrapToken";
  namespace: string;
  uid?: string;
  expired: boolean;
  findings: Finding[];
}

/** A service account that mounts tokens into its pods. */
export interface ServiceAccountItem {
  kind: "ServiceAccount";
  namespace: string;
  name: string;
  uid?: string;
  created?: Date;
  /** The field as set: undefined when absent (which means true). */
  automountServiceAccountToken?: boolean;
  findings: Finding[];
}

/** A revocable token as its registry entry records it (`create --revocable`; never the token). */
export interface IssuedTokenItem {
  kind: "IssuedToken";
  namespace: string;
  /** The entry's Secret name: the token's registry ID. */
  name: string;
  uid?: string;
  serviceAccount: string;
  requester?: string;
  purpose?: string;
  created?: Date;
  expires?: Date;
  state: IssuedState;
  findings: Finding[];
}

/** Anything the audit lists. */
export type AuditItem =
  | SecretTokenItem
  | BootstrapTokenItem
  | ServiceAccountItem
  | IssuedTokenItem;

/** What the rules need besides the object. */
export interface AuditRules {
  now: Date;
  /** `--unused-for`, in milliseconds. */
  unusedForMs: number;
  /**
   * The server's version when it predates legacy token tracking (1.27), so that no Secret ever
   * gets the last-used label: "never used" then only means "not recorded".
   */
  untrackedBy?: string;
}

/** The service account a Secret names, as the audit found it (undefined: it does not exist). */
export interface ServiceAccountRef {
  uid?: string;
}

/**
 * Audit one legacy token Secret; `sa` is its service account, undefined when gone, or "unknown"
 * when the service accounts could not be listed (then no orphan finding: a wrong one is worse
 * than none).
 */
export function auditSecret(
  secret: Secret,
  sa: ServiceAccountRef | "unknown" | undefined,
  rules: AuditRules,
): SecretTokenItem {
  const meta = secret.metadata ?? {};
  const labels = meta.labels ?? {};
  const annotations = meta.annotations ?? {};
  const namespace = meta.namespace ?? "";
  const saName = annotations[SERVICE_ACCOUNT_NAME_ANNOTATION] ?? "";
  const saUid = annotations[SERVICE_ACCOUNT_UID_ANNOTATION];
  const created = parseTime(meta.creationTimestamp);
  const lastUsed = parseDay(labels[LAST_USED_LABEL]);
  const invalidSince = parseDay(labels[INVALID_SINCE_LABEL]);
  const now = rules.now.getTime();
  const idleMs = leastIdleMs(lastUsed, rules.untrackedBy ? undefined : created, now);
  const threshold = compactDuration(rules.unusedForMs);
  const findings: Finding[] = [{
    type: "long-lived",
    severity: "medium",
    reason: "a Secret-based token never expires; prefer short-lived tokens (kubectl token create)",
  }];
  if (lastUsed && idleMs !== undefined && idleMs > rules.unusedForMs) {
    findings.push({
      type: "unused",
      severity: "high",
      reason: `last used on ${day(lastUsed)}, at least ${humanDuration(idleMs)} ago ` +
        `(more than ${threshold})`,
    });
  }
  if (!lastUsed && rules.untrackedBy) {
    // Not a finding that --fail-on counts: the server cannot say, so nothing is known.
    findings.push({
      type: "never-used",
      severity: "info",
      reason: `use not recorded: the API server (${rules.untrackedBy}) predates legacy token ` +
        `tracking (1.27)`,
    });
  } else if (!lastUsed) {
    const old = idleMs !== undefined && idleMs > rules.unusedForMs;
    findings.push({
      type: "never-used",
      severity: old ? "medium" : "low",
      reason: `no use recorded (no ${LAST_USED_LABEL} label)` +
        (created ? ` since it was created ${humanDuration(idleMs ?? 0)} ago` : ""),
    });
  }
  if (sa === "unknown") {
    // Nothing is known about the service account.
  } else if (!sa) {
    findings.push({
      type: "orphaned",
      severity: "high",
      reason: `service account "${saName}" does not exist; the Secret still holds a token`,
    });
  } else if (saUid && sa.uid && saUid !== sa.uid) {
    findings.push({
      type: "orphaned",
      severity: "high",
      reason: `service account "${saName}" was recreated: its UID ${sa.uid} is not the ` +
        `UID ${saUid} the Secret was issued for`,
    });
  }
  if (invalidSince) {
    findings.push({
      type: "invalidated",
      severity: "low",
      reason: `invalidated by the legacy token cleaner on ${day(invalidSince)}; it no longer ` +
        `authenticates and will be deleted (removing the label re-enables it)`,
    });
  }
  return {
    kind: "Secret",
    namespace,
    name: meta.name ?? "",
    uid: meta.uid,
    serviceAccount: saName,
    serviceAccountUid: saUid,
    created,
    lastUsed,
    invalidSince,
    idleMs,
    tracked: !rules.untrackedBy,
    findings,
  };
}

/**
 * The least time a token can have gone unused. A day-only label means "used at some time on
 * that day", so the idle time counts from the end of that day: a finding is never raised on the
 * reading that favours raising it.
 */
export function leastIdleMs(
  lastUsedDay: Date | undefined,
  created: Date | undefined,
  now: number,
): number | undefined {
  if (lastUsedDay) return Math.max(0, now - (lastUsedDay.getTime() + DAY_MS));
  if (created) return Math.max(0, now - created.getTime());
  return undefined;
}

const DAY_MS = 86_400_000;

/** Audit one bootstrap token Secret. */
export function auditBootstrapSecret(
  secret: Secret,
  rules: AuditRules,
): BootstrapTokenItem | undefined {
  const info = readBootstrapSecret(secret);
  if (!info) return undefined;
  const findings: Finding[] = [];
  const now = rules.now.getTime();
  let expired = false;
  if (info.invalidExpiration !== undefined) {
    expired = true;
    findings.push({
      type: "expired",
      severity: "low",
      reason: `its expiration "${info.invalidExpiration}" is not a valid time, so it no longer ` +
        `authenticates; delete it`,
    });
  } else if (!info.expires) {
    findings.push({
      type: "no-expiry",
      severity: "high",
      reason: `never expires: whoever holds it authenticates as system:bootstrap:${info.id}` +
        (info.usages.includes("authentication") ? "" : " once authentication is enabled"),
    });
  } else if (info.expires.getTime() <= now) {
    expired = true;
    findings.push({
      type: "expired",
      severity: "low",
      reason: `expired ${rfc3339(info.expires)} (${
        humanDuration(now - info.expires.getTime())
      } ago); the token cleaner has not deleted it yet`,
    });
  }
  return {
    kind: "BootstrapToken",
    namespace: secret.metadata?.namespace ?? BOOTSTRAP_NAMESPACE,
    uid: secret.metadata?.uid,
    ...info,
    expired,
    findings,
  };
}

/**
 * Audit one registry entry (a Secret of type kubectl-token.io/issued-token); undefined for a
 * Secret of another type. An entry outlives its token unless someone prunes it: past the
 * token's expiry it is an "unpruned" finding.
 */
export function auditIssuedSecret(secret: Secret, rules: AuditRules): IssuedTokenItem | undefined {
  const entry = entryOf(secret, rules.now);
  if (!entry) return undefined;
  const findings: Finding[] = [];
  if (entry.state === "expired" && entry.expiresAt) {
    // Low, not info: the token itself no longer authenticates, so nothing is exposed, but the
    // entry still reads as an issued token (`issued` lists it, a quota counts it), the same
    // clutter as an expired bootstrap token the cleaner has not deleted yet (also low). Info
    // would hide it from the terminal table, where the one-command remedy should be seen.
    const ns = entry.namespace;
    findings.push({
      type: "unpruned",
      severity: "low",
      reason: `issued token expired ${
        humanDuration(rules.now.getTime() - entry.expiresAt.getTime())
      } ago; its registry entry was never pruned (kubectl token issued -n ${ns} --prune)`,
      replacement: `kubectl token issued -n ${ns} --prune`,
    });
  }
  return {
    kind: "IssuedToken",
    namespace: entry.namespace,
    name: entry.id,
    uid: entry.uid,
    serviceAccount: entry.serviceAccount,
    requester: entry.requester,
    purpose: entry.purpose,
    created: entry.createdAt,
    expires: entry.expiresAt,
    state: entry.state,
    findings,
  };
}

/** Audit a service account; undefined when it does not mount tokens automatically. */
export function auditServiceAccount(sa: {
  metadata?: { name?: string; namespace?: string; uid?: string; creationTimestamp?: string };
  automountServiceAccountToken?: boolean;
}): ServiceAccountItem | undefined {
  if (sa.automountServiceAccountToken === false) return undefined;
  return {
    kind: "ServiceAccount",
    namespace: sa.metadata?.namespace ?? "",
    name: sa.metadata?.name ?? "",
    uid: sa.metadata?.uid,
    created: parseTime(sa.metadata?.creationTimestamp),
    automountServiceAccountToken: sa.automountServiceAccountToken,
    findings: [{
      type: "automount",
      severity: "info",
      reason: "every pod of this service account gets a token unless the pod opts out " +
        "(set automountServiceAccountToken: false)",
    }],
  };
}

/** The most severe finding's severity, or undefined without findings. */
export function worstSeverity(findings: Finding[]): Severity | undefined {
  let worst = -1;
  for (const f of findings) worst = Math.max(worst, SEVERITIES.indexOf(f.severity));
  return worst < 0 ? undefined : SEVERITIES[worst];
}

/** Check a severity flag's value (`--fail-on`, `--severity`); the error names the flag. */
export function parseSeverity(flag: string, value: string): Severity {
  const v = value.trim().toLowerCase();
  if (!(SEVERITIES as readonly string[]).includes(v)) {
    throw new UsageError(
      `Invalid value "${value}" for flag ${flag}: allowed values are ${SEVERITIES.join(", ")}`,
    );
  }
  return v as Severity;
}

/** Whether `severity` is at least `threshold`. */
export function atLeast(severity: Severity, threshold: Severity): boolean {
  return SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(threshold);
}

function parseTime(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : new Date(at);
}

/** The tracking labels hold a day, "2024-05-31": the start of that day (UTC), or undefined. */
function parseDay(value: string | undefined): Date | undefined {
  if (!value || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  const at = parseTime(`${value}T00:00:00Z`);
  // Date.parse() rolls 2026-02-30 over to March; a label that is not a real day is unreadable.
  return at && day(at) === value ? at : undefined;
}

/** A day as the tracking labels write it. */
export function day(date: Date): string {
  return rfc3339(date).slice(0, 10);
}
