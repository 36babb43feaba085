/**
 * The registry of issued tokens: a revocable token is bound to a small Secret of type
 * {@link ISSUED_TOKEN_TYPE} that records who asked for it and why, never the token itself.
 * Deleting the Secret ends the token (the API server checks the bound object on every login).
 * This module is the one definition of that Secret's shape; it does no I/O.
 */
import type { Secret } from "../api/secrets.ts";
import { rfc3339 } from "../output/duration.ts";

/** The Secret type of a registry entry. */
export const ISSUED_TOKEN_TYPE = "kubectl-token.io/issued-token";

const PREFIX = "kubectl-token.io/";

/** Label keys: the fields a selector picks by. */
export const LABELS = {
  serviceAccount: `${PREFIX}service-account`,
  /** The requester's user name in label syntax (see {@link requesterLabel}). */
  requester: `${PREFIX}requester`,
} as const;

/** Annotation keys: free text an operator reads later. */
export const ANNOTATIONS = {
  /** On a printed TokenRequest (`create --revocable -o json`): the token's registry ID. */
  id: `${PREFIX}issued-id`,
  requester: `${PREFIX}requester`,
  purpose: `${PREFIX}purpose`,
  /** JSON array of the token's audiences. */
  audiences: `${PREFIX}audiences`,
  issuedAt: `${PREFIX}issued-at`,
  expiresAt: `${PREFIX}expires-at`,
  jti: `${PREFIX}jti`,
  fingerprint: `${PREFIX}fingerprint`,
} as const;

/** Hex characters of SHA-256 that make a fingerprint: enough to tell tokens apart, not to forge. */
export const FINGERPRINT_LENGTH = 12;

/** The short fingerprint of a token: the first hex characters of its SHA-256. */
export async function fingerprint(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("")
    .slice(0, FINGERPRINT_LENGTH);
}

/**
 * A user name as a label value (63 characters of `[A-Za-z0-9_.-]`, alphanumeric at both ends):
 * other characters become `_`; a name too long for that keeps its start and gains a hash, so
 * distinct names stay distinct. The exact name is in the annotation.
 */
export async function requesterLabel(username: string): Promise<string> {
  const value = username.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^[^A-Za-z0-9]+/, "")
    .replace(/[^A-Za-z0-9]+$/, "");
  if (value.length > 0 && value.length <= 63) return value;
  const start = value.slice(0, 50).replace(/[^A-Za-z0-9]+$/, "");
  return `${start}${start ? "." : ""}${await fingerprint(username)}`;
}

/** What a registry entry records when it is created (before the token exists). */
export interface IssueRecord {
  namespace: string;
  serviceAccount: { name: string; uid: string };
  requester?: string;
  purpose?: string;
  audiences: string[];
}

/** The name prefix of an entry: the service account's name, shortened as generateName needs. */
export function entryNamePrefix(serviceAccount: string): string {
  // The server keeps 58 characters of generateName and adds 5.
  return `${serviceAccount.slice(0, 48).replace(/[-.]+$/, "")}-issued-`;
}

/** The Secret that anchors a revocable token (it holds no data). */
export async function entrySecret(record: IssueRecord): Promise<Secret> {
  const labels: Record<string, string> = {
    [LABELS.serviceAccount]: record.serviceAccount.name.length <= 63
      ? record.serviceAccount.name
      : await fingerprint(record.serviceAccount.name),
  };
  const annotations: Record<string, string> = {
    [ANNOTATIONS.audiences]: JSON.stringify(record.audiences),
  };
  if (record.requester !== undefined) {
    labels[LABELS.requester] = await requesterLabel(record.requester);
    annotations[ANNOTATIONS.requester] = record.requester;
  }
  if (record.purpose) annotations[ANNOTATIONS.purpose] = record.purpose;
  return {
    metadata: {
      generateName: entryNamePrefix(record.serviceAccount.name),
      namespace: record.namespace,
      labels,
      annotations,
      // Deleting the service account deletes its entries (the garbage collector does).
      ownerReferences: [{
        apiVersion: "v1",
        kind: "ServiceAccount",
        name: record.serviceAccount.name,
        uid: record.serviceAccount.uid,
      }],
    },
    type: ISSUED_TOKEN_TYPE,
  };
}

/** What is known once the token was issued: written onto the entry. */
export async function issuedAnnotations(
  token: string,
  issued: { issuedAt: Date; expiresAt?: Date; jti?: string; audiences?: string[] },
): Promise<Record<string, string>> {
  const out: Record<string, string> = {
    [ANNOTATIONS.issuedAt]: rfc3339(issued.issuedAt),
    [ANNOTATIONS.fingerprint]: await fingerprint(token),
  };
  if (issued.expiresAt) out[ANNOTATIONS.expiresAt] = rfc3339(issued.expiresAt);
  if (issued.jti) out[ANNOTATIONS.jti] = issued.jti;
  if (issued.audiences) out[ANNOTATIONS.audiences] = JSON.stringify(issued.audiences);
  return out;
}

/** The state of an issued token, as far as its entry tells. */
export type IssuedState = "active" | "expired" | "revoked";

/** A registry entry as the commands show it. */
export interface IssuedEntry {
  /** The entry's Secret name: the token's ID. */
  id: string;
  namespace: string;
  uid?: string;
  serviceAccount: string;
  requester?: string;
  purpose?: string;
  audiences: string[];
  createdAt?: Date;
  issuedAt?: Date;
  expiresAt?: Date;
  jti?: string;
  fingerprint?: string;
  state: IssuedState;
}

/** Read an entry from its Secret; undefined for a Secret of another type. */
export function entryOf(secret: Secret, now: Date): IssuedEntry | undefined {
  if (secret.type !== ISSUED_TOKEN_TYPE) return undefined;
  const m = secret.metadata;
  const a = m.annotations ?? {};
  const owner = m.ownerReferences?.find((o) => o.kind === "ServiceAccount");
  const expiresAt = date(a[ANNOTATIONS.expiresAt]);
  const state: IssuedState = m.deletionTimestamp
    ? "revoked"
    : expiresAt && expiresAt.getTime() <= now.getTime()
    ? "expired"
    : "active";
  return {
    id: m.name ?? "",
    namespace: m.namespace ?? "",
    uid: m.uid,
    serviceAccount: owner?.name ?? m.labels?.[LABELS.serviceAccount] ?? "",
    requester: a[ANNOTATIONS.requester],
    purpose: a[ANNOTATIONS.purpose],
    audiences: audiences(a[ANNOTATIONS.audiences]),
    createdAt: date(m.creationTimestamp),
    issuedAt: date(a[ANNOTATIONS.issuedAt]),
    expiresAt,
    jti: a[ANNOTATIONS.jti],
    fingerprint: a[ANNOTATIONS.fingerprint],
    state,
  };
}

/** The entry as a JSON/YAML document. */
export function entryDocument(entry: IssuedEntry): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    id: entry.id,
    namespace: entry.namespace,
    serviceAccount: entry.serviceAccount,
    state: entry.state,
    audiences: entry.audiences,
  };
  if (entry.uid) doc.uid = entry.uid;
  if (entry.requester !== undefined) doc.requester = entry.requester;
  if (entry.purpose !== undefined) doc.purpose = entry.purpose;
  if (entry.issuedAt) doc.issuedAt = rfc3339(entry.issuedAt);
  if (entry.expiresAt) doc.expiresAt = rfc3339(entry.expiresAt);
  if (entry.jti) doc.jti = entry.jti;
  if (entry.fingerprint) doc.fingerprint = entry.fingerprint;
  return doc;
}

function audiences(text: string | undefined): string[] {
  if (!text) return [];
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x) => typeof x === "string") : [];
  } catch {
    return [];
  }
}

function date(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** What the registry says about a token bound to Secret `ref` (for `decode`). */
export interface RegistryStatus {
  id: string;
  namespace: string;
  state: IssuedState;
}

/**
 * The registry status of a token bound to the Secret `ref`, given that Secret as the server has
 * it (undefined: not found). Undefined when the Secret is no registry entry; a missing entry,
 * or one recreated under the same name, means the token was revoked.
 */
export function registryStatus(
  ref: { namespace: string; name: string; uid?: string },
  secret: Secret | undefined,
  now: Date,
): RegistryStatus | undefined {
  const status = (state: IssuedState) => ({ id: ref.name, namespace: ref.namespace, state });
  if (!secret) return ENTRY_NAME.test(ref.name) ? status("revoked") : undefined;
  const entry = entryOf(secret, now);
  if (!entry) return undefined;
  if (ref.uid && entry.uid && ref.uid !== entry.uid) return status("revoked");
  return status(entry.state);
}

/** A name {@link entryNamePrefix} and the server's five random characters make. */
const ENTRY_NAME = /-issued-[bcdfghjklmnpqrstvwxz2456789]{5}$/;
