/** What a token is and what its claims say, read the way the Kubernetes API server reads them. */

import { bootstrapTokenId, decodeJwt } from "./decode.ts";
import { BOOTSTRAP_NAMESPACE, bootstrapSecretName } from "../bootstrap/token.ts";

/** The kinds of token `kubectl token decode` tells apart. */
export type TokenKind =
  | "bootstrap"
  | "bound-service-account"
  | "legacy-service-account"
  | "service-account"
  | "jwt";

/** A name and UID pair as the token carries it; either may be missing in odd tokens. */
export interface ObjectRef {
  name?: string;
  uid?: string;
}

/** The object a bound token is tied to: deleting it invalidates the token. */
export interface BoundObject extends ObjectRef {
  kind: "Pod" | "Secret" | "Node";
}

/** The Kubernetes identity a service-account token carries. */
export interface KubernetesInfo {
  namespace?: string;
  serviceAccount?: ObjectRef;
  boundObject?: BoundObject;
  /** The node of a Pod-bound token (1.30+), or the node a Node-bound token is tied to. */
  node?: ObjectRef;
  /** The Secret a legacy token was read from. */
  secretName?: string;
}

/** Where a bootstrap token lives; its secret half is never kept. */
export interface BootstrapInfo {
  tokenId: string;
  secretNamespace: typeof BOOTSTRAP_NAMESPACE;
  secretName: string;
  username: string;
}

/** Everything `kubectl token decode` shows about a token. */
export interface TokenReport {
  kind: TokenKind;
  header: { alg?: string; kid?: string; typ?: string };
  /** The decoded header as it is (empty for bootstrap tokens). */
  rawHeader: Record<string, unknown>;
  issuer?: string;
  subject?: string;
  /** The `aud` claim, always as a list. */
  audiences: string[];
  issuedAt?: Date;
  notBefore?: Date;
  expiresAt?: Date;
  /** `kubernetes.io.warnafter`: after this the API server counts the token as stale. */
  staleAfter?: Date;
  /** `exp - iat` in seconds. */
  lifetimeSeconds?: number;
  /** Whole seconds until `exp`, 0 once expired. */
  remainingSeconds?: number;
  /** Share of the lifetime left, 0 to 1; undefined without both `iat` and `exp`. */
  remainingFraction?: number;
  /** `now` is at or after `exp`. Always false for tokens without `exp` and bootstrap tokens. */
  expired: boolean;
  /** `now` is before `nbf`. */
  notYetValid: boolean;
  /** The `jti` claim, which the API server reports as `authentication.kubernetes.io/credential-id`. */
  credentialId?: string;
  kubernetes?: KubernetesInfo;
  bootstrap?: BootstrapInfo;
  /** The payload as it is, unknown claims included (empty for bootstrap tokens). */
  claims: Record<string, unknown>;
  /** Claims that are present but malformed, named without their values. */
  warnings: string[];
  /**
   * Time claims ("exp", "nbf", "iat") present but not whole, finite seconds: the token has no
   * usable expiry and the API server refuses it (`exp: 1e400` does not mean "never").
   */
  invalidTimeClaims: string[];
}

const LEGACY_ISSUER = "kubernetes/serviceaccount";
const LEGACY_PREFIX = "kubernetes.io/serviceaccount/";
const SA_SUBJECT_PREFIX = "system:serviceaccount:";

/**
 * Reads a token (a JWT or a bootstrap token) and reports what it is. Throws TokenFormatError
 * for anything else. Never verifies the signature: see verifyToken() for that.
 */
export function inspectToken(token: string, now: Date): TokenReport {
  const tokenId = bootstrapTokenId(token);
  if (tokenId !== undefined) return bootstrapReport(tokenId);

  const { header, payload } = decodeJwt(token);
  const read = new ClaimReader();
  const issuer = read.string(payload.iss, "iss");
  const subject = read.string(payload.sub, "sub");
  const audiences = read.audiences(payload.aud);
  const issuedAt = read.date(payload.iat, "iat");
  const notBefore = read.date(payload.nbf, "nbf");
  const expiresAt = read.date(payload.exp, "exp");
  const credentialId = read.string(payload.jti, "jti");

  const k8sClaim = payload["kubernetes.io"];
  let kind: TokenKind = "jwt";
  let kubernetes: KubernetesInfo | undefined;
  let staleAfter: Date | undefined;
  if (isObject(k8sClaim)) {
    kind = "bound-service-account";
    kubernetes = boundInfo(k8sClaim, read);
    staleAfter = read.date(k8sClaim.warnafter, "kubernetes.io.warnafter");
  } else if (
    issuer === LEGACY_ISSUER && Object.keys(payload).some((k) => k.startsWith(LEGACY_PREFIX))
  ) {
    kind = "legacy-service-account";
    kubernetes = legacyInfo(payload, read);
  } else if (subject?.startsWith(SA_SUBJECT_PREFIX)) {
    kind = "service-account";
    kubernetes = {};
  }
  if (kubernetes) fillFromSubject(kubernetes, subject);

  const nowMs = now.getTime();
  let lifetimeSeconds: number | undefined;
  let remainingSeconds: number | undefined;
  let remainingFraction: number | undefined;
  if (expiresAt) {
    const left = expiresAt.getTime() - nowMs;
    remainingSeconds = Math.max(0, Math.floor(left / 1000));
    if (issuedAt) {
      const lifetime = expiresAt.getTime() - issuedAt.getTime();
      lifetimeSeconds = lifetime / 1000;
      if (lifetime > 0) remainingFraction = Math.min(1, Math.max(0, left / lifetime));
    }
  }

  return {
    kind,
    header: {
      alg: typeof header.alg === "string" ? header.alg : undefined,
      kid: typeof header.kid === "string" ? header.kid : undefined,
      typ: typeof header.typ === "string" ? header.typ : undefined,
    },
    rawHeader: header,
    issuer,
    subject,
    audiences,
    issuedAt,
    notBefore,
    expiresAt,
    staleAfter,
    lifetimeSeconds,
    remainingSeconds,
    remainingFraction,
    expired: expiresAt !== undefined && nowMs >= expiresAt.getTime(),
    notYetValid: notBefore !== undefined && nowMs < notBefore.getTime(),
    credentialId,
    kubernetes,
    claims: payload,
    warnings: read.warnings,
    invalidTimeClaims: read.invalidTimes,
  };
}

// Reads claims by type, noting (by name only: claim values are parts of the token) any that
// are present but malformed.
class ClaimReader {
  warnings: string[] = [];
  invalidTimes: string[] = [];

  string(value: unknown, name: string): string | undefined {
    if (value === undefined || typeof value === "string") return value;
    this.warnings.push(`claim "${name}" is not a string`);
    return undefined;
  }

  date(value: unknown, name: string): Date | undefined {
    if (value === undefined) return undefined;
    // JSON.parse reads 1e400 as Infinity; fractions and out-of-range values are refused too.
    if (typeof value === "number" && Number.isInteger(value)) {
      const date = new Date(value * 1000);
      if (!Number.isNaN(date.getTime())) return date;
    }
    if (["exp", "nbf", "iat"].includes(name)) this.invalidTimes.push(name);
    this.warnings.push(`claim "${name}" is not a valid NumericDate (seconds since 1970)`);
    return undefined;
  }

  audiences(value: unknown): string[] {
    if (value === undefined) return [];
    if (typeof value === "string") return [value];
    if (Array.isArray(value) && value.every((a) => typeof a === "string")) return [...value];
    this.warnings.push('claim "aud" is neither a string nor a list of strings');
    return [];
  }

  ref(value: unknown, name: string): ObjectRef | undefined {
    if (value === undefined) return undefined;
    if (!isObject(value)) {
      this.warnings.push(`claim "${name}" is not an object`);
      return undefined;
    }
    const ref: ObjectRef = {};
    const refName = this.string(value.name, `${name}.name`);
    const uid = this.string(value.uid, `${name}.uid`);
    if (refName !== undefined) ref.name = refName;
    if (uid !== undefined) ref.uid = uid;
    return ref;
  }
}

function bootstrapReport(tokenId: string): TokenReport {
  return {
    kind: "bootstrap",
    header: {},
    rawHeader: {},
    audiences: [],
    expired: false,
    notYetValid: false,
    bootstrap: {
      tokenId,
      secretNamespace: BOOTSTRAP_NAMESPACE,
      secretName: bootstrapSecretName(tokenId),
      username: `system:bootstrap:${tokenId}`,
    },
    claims: {},
    warnings: [],
    invalidTimeClaims: [],
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function boundInfo(claim: Record<string, unknown>, read: ClaimReader): KubernetesInfo {
  const info: KubernetesInfo = {};
  const namespace = read.string(claim.namespace, "kubernetes.io.namespace");
  if (namespace !== undefined) info.namespace = namespace;
  const sa = read.ref(claim.serviceaccount, "kubernetes.io.serviceaccount");
  if (sa) info.serviceAccount = sa;
  const pod = read.ref(claim.pod, "kubernetes.io.pod");
  const secret = read.ref(claim.secret, "kubernetes.io.secret");
  const node = read.ref(claim.node, "kubernetes.io.node");
  if (pod) info.boundObject = { kind: "Pod", ...pod };
  else if (secret) info.boundObject = { kind: "Secret", ...secret };
  else if (node) info.boundObject = { kind: "Node", ...node };
  if (node) info.node = node;
  return info;
}

function legacyInfo(payload: Record<string, unknown>, read: ClaimReader): KubernetesInfo {
  const claim = (name: string) => read.string(payload[LEGACY_PREFIX + name], LEGACY_PREFIX + name);
  const info: KubernetesInfo = {};
  const namespace = claim("namespace");
  const secretName = claim("secret.name");
  const saName = claim("service-account.name");
  const saUid = claim("service-account.uid");
  if (namespace !== undefined) info.namespace = namespace;
  if (saName !== undefined || saUid !== undefined) {
    info.serviceAccount = {};
    if (saName !== undefined) info.serviceAccount.name = saName;
    if (saUid !== undefined) info.serviceAccount.uid = saUid;
  }
  if (secretName !== undefined) info.secretName = secretName;
  return info;
}

// `system:serviceaccount:<namespace>:<name>` fills in what the claims left out.
function fillFromSubject(info: KubernetesInfo, subject: string | undefined): void {
  if (!subject?.startsWith(SA_SUBJECT_PREFIX)) return;
  const parts = subject.slice(SA_SUBJECT_PREFIX.length).split(":");
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") return;
  info.namespace ??= parts[0];
  info.serviceAccount ??= {};
  info.serviceAccount.name ??= parts[1];
}
