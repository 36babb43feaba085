/**
 * One interpretation of a credential, used by both `decode` and `whoami`: what kind it is, whom
 * the API server takes it for (the username, UID and groups, including the groups the server
 * adds itself) and when it stops working. Everything is read from the credential alone, the way
 * kube-apiserver 1.20+ reads it; what lives only on the server (a bootstrap token's Secret) is
 * "unknown" unless the caller read it.
 */
import type { Credential } from "../kubeconfig/types.ts";
import { relativeTime, rfc3339 } from "../output/duration.ts";
import { inspectToken, type TokenReport } from "../jwt/inspect.ts";
import { BOOTSTRAP_NAMESPACE, bootstrapSecretName } from "../bootstrap/token.ts";
import { DerError } from "../encoding/der.ts";
import { readPemCertificate, subjectAttributes } from "../encoding/x509.ts";

/** What a credential is. */
export type CredentialKind =
  | "bound-service-account-token"
  | "legacy-service-account-token"
  | "service-account-token"
  | "bootstrap-token"
  | "jwt"
  | "opaque-token"
  | "client-certificate"
  | "basic-auth"
  | "anonymous";

/** When the credential stops working. */
export type Expiry =
  | { kind: "at"; at: Date }
  | { kind: "never"; why: string }
  | { kind: "unknown"; why: string }
  | { kind: "invalid"; why: string };

/** The user the API server makes of the credential (authentication.k8s.io UserInfo). */
export interface DerivedUser {
  username?: string;
  uid?: string;
  /** Every group, the ones the server adds (system:authenticated, ...) included. */
  groups?: string[];
  /** Groups the server adds that cannot be known here, and why; absent when all are known. */
  unknownGroups?: string;
  extra?: Record<string, string[]>;
}

/** The interpretation of a credential. */
export interface CredentialInterpretation {
  kind: CredentialKind;
  /** For people: "bound service-account token (Pod-bound)". */
  label: string;
  /** Undefined when the credential does not say whom it stands for (an opaque token). */
  user?: DerivedUser;
  expiry: Expiry;
  /** The token's own report, for JWTs and bootstrap tokens. */
  report?: TokenReport;
}

/** What a bootstrap token's Secret says, when it could be read. */
export interface BootstrapSecretInfo {
  /** The `auth-extra-groups` field, split; empty when the field is absent. */
  extraGroups: string[];
  /** The `expiration` field; undefined when the token never expires. */
  expiration?: Date;
}

/** Impersonation as kubectl sends it (`--as`, `--as-group`, `--as-uid`). */
export interface Impersonation {
  user?: string;
  uid?: string;
  groups: string[];
}

/** Options for {@link interpretToken} and {@link interpretCredential}. */
export interface InterpretOptions {
  now: Date;
  /** A bootstrap token's Secret, when the caller could read it. */
  bootstrapSecret?: BootstrapSecretInfo;
}

const AUTHENTICATED = "system:authenticated";
const UNAUTHENTICATED = "system:unauthenticated";
const ANONYMOUS = "system:anonymous";
const BOOTSTRAPPERS = "system:bootstrappers";
const SA_PREFIX = "system:serviceaccount:";

/** Interpret a bearer token: a service-account token, a bootstrap token, another JWT, opaque. */
export function interpretToken(token: string, options: InterpretOptions): CredentialInterpretation {
  let report: TokenReport;
  try {
    report = inspectToken(token, options.now);
  } catch {
    return {
      kind: "opaque-token",
      label: "bearer token",
      expiry: { kind: "unknown", why: "the token is not a JWT and carries no expiry" },
    };
  }
  return interpretReport(report, options);
}

/** Interpret a token already read by inspectToken(). */
export function interpretReport(
  report: TokenReport,
  options: Pick<InterpretOptions, "bootstrapSecret"> = {},
): CredentialInterpretation {
  if (report.bootstrap) {
    return bootstrapInterpretation(report.bootstrap.tokenId, options.bootstrapSecret, report);
  }
  const expiry = tokenExpiry(report);
  const k8s = report.kubernetes;
  const ns = k8s?.namespace;
  const saName = k8s?.serviceAccount?.name;
  if (report.kind !== "jwt" && ns && saName) {
    const user: DerivedUser = {
      username: `${SA_PREFIX}${ns}:${saName}`,
      groups: [...serviceAccountGroups(ns), AUTHENTICATED],
    };
    if (k8s?.serviceAccount?.uid) user.uid = k8s.serviceAccount.uid;
    const extra = serviceAccountExtra(report);
    if (Object.keys(extra).length > 0) user.extra = extra;
    return { kind: kindOf(report), label: labelOf(report), user, expiry, report };
  }
  const user: DerivedUser | undefined = report.subject === undefined ? undefined : {
    username: report.subject,
    groups: [AUTHENTICATED],
    unknownGroups: "groups from the token's claims, as the API server's OIDC settings map them",
  };
  return { kind: kindOf(report), label: labelOf(report), user, expiry, report };
}

/**
 * Interpret a whole credential: a token, a client certificate, basic auth, or none; then --as.
 * Async because a certificate that the DER reader cannot read for sure is read by `node:crypto`
 * (about 25 ms to load), which only that path pays.
 */
export async function interpretCredential(
  credential: Credential,
  options: InterpretOptions & { impersonate?: Impersonation },
): Promise<CredentialInterpretation> {
  let result: CredentialInterpretation;
  // The server checks a client certificate before a token.
  if (credential.certPem) result = await certificateInterpretation(credential.certPem);
  else if (credential.token) {
    result = interpretToken(credential.token, options);
    // An exec plugin's expirationTimestamp is all there is for an opaque token.
    if (result.expiry.kind === "unknown" && credential.expiresAt && !result.report) {
      result.expiry = { kind: "at", at: credential.expiresAt };
    }
  } else if (credential.username !== undefined) {
    result = {
      kind: "basic-auth",
      label: "basic authentication",
      user: {
        username: credential.username,
        groups: [AUTHENTICATED],
        unknownGroups: "the groups of the server's password file",
      },
      expiry: { kind: "unknown", why: "a password carries no expiry" },
    };
  } else {
    result = {
      kind: "anonymous",
      label: "anonymous (no credential)",
      user: { username: ANONYMOUS, groups: [UNAUTHENTICATED] },
      expiry: { kind: "never", why: "no credential" },
    };
  }
  if (options.impersonate?.user) {
    result = { ...result, user: impersonatedUser(options.impersonate) };
  }
  return result;
}

/**
 * The user an impersonating request acts as, as the API server's impersonation filter makes it:
 * a service account without --as-group gets its fixed groups; every user but anonymous gets
 * system:authenticated.
 */
export function impersonatedUser(imp: Impersonation): DerivedUser {
  const username = imp.user ?? "";
  let groups = [...imp.groups];
  const sa = splitServiceAccount(username);
  if (sa && groups.length === 0) groups = serviceAccountGroups(sa.namespace);
  if (username !== ANONYMOUS) {
    if (!groups.includes(AUTHENTICATED) && !groups.includes(UNAUTHENTICATED)) {
      groups.push(AUTHENTICATED);
    }
  } else if (!groups.includes(UNAUTHENTICATED)) groups.push(UNAUTHENTICATED);
  const user: DerivedUser = { username, groups };
  if (imp.uid) user.uid = imp.uid;
  return user;
}

/** "2026-11-29T02:00:00Z (in 47m)", "never (the token has no expiry)", "unknown (...)". */
export function expiryText(expiry: Expiry, now: Date): string {
  switch (expiry.kind) {
    case "at":
      return `${rfc3339(expiry.at)} (${expiryRelative(expiry.at, now)})`;
    case "never":
      return `never (${expiry.why})`;
    case "unknown":
      return `unknown (${expiry.why})`;
    case "invalid":
      return `invalid (${expiry.why})`;
  }
}

/** The `-o json|yaml` form of an expiry: `{kind, at?, reason?}`. */
export function expiryDocument(expiry: Expiry): Record<string, unknown> {
  return expiry.kind === "at"
    ? { kind: "at", at: rfc3339(expiry.at) }
    : { kind: expiry.kind, reason: expiry.why };
}

/** Groups as kubectl auth whoami prints them, with the unknown ones said: `[a b] and ...`. */
export function groupsText(user: DerivedUser): string {
  const known = `[${(user.groups ?? []).join(" ")}]`;
  return user.unknownGroups ? `${known} and ${user.unknownGroups} (unknown)` : known;
}

function expiryRelative(at: Date, now: Date): string {
  const diff = at.getTime() - now.getTime();
  return diff > 0 ? relativeTime(at, now) : `expired ${relativeTime(at, now)}`;
}

function tokenExpiry(report: TokenReport): Expiry {
  if (report.invalidTimeClaims.includes("exp")) {
    return {
      kind: "invalid",
      why: 'claim "exp" is not a valid NumericDate; the API server refuses the token',
    };
  }
  if (report.expiresAt) return { kind: "at", at: report.expiresAt };
  return { kind: "never", why: "the token has no expiry" };
}

function bootstrapInterpretation(
  id: string,
  secret: BootstrapSecretInfo | undefined,
  report: TokenReport,
): CredentialInterpretation {
  const where = `Secret ${BOOTSTRAP_NAMESPACE}/${bootstrapSecretName(id)}`;
  // The bootstrap authenticator: {system:bootstrappers} plus auth-extra-groups, sorted and
  // without duplicates; then system:authenticated is appended.
  const user: DerivedUser = { username: `system:bootstrap:${id}` };
  if (secret) {
    user.groups = [...new Set([BOOTSTRAPPERS, ...secret.extraGroups])].sort();
    user.groups.push(AUTHENTICATED);
  } else {
    user.groups = [BOOTSTRAPPERS, AUTHENTICATED];
    user.unknownGroups = `the "auth-extra-groups" of ${where}`;
  }
  const expiry: Expiry = !secret
    ? { kind: "unknown", why: `the "expiration" field of ${where}` }
    : secret.expiration
    ? { kind: "at", at: secret.expiration }
    : { kind: "never", why: `${where} has no "expiration"` };
  return {
    kind: "bootstrap-token",
    label: "bootstrap token",
    user,
    expiry,
    report,
  };
}

/** What a client certificate stands for: its subject's CN and O, and its notAfter. */
export async function certificateInterpretation(pem: string): Promise<CredentialInterpretation> {
  return certificateInterpretationFromDer(pem) ?? await certificateInterpretationWithNode(pem);
}

/**
 * certificateInterpretation() read from the DER alone; undefined where the result would not
 * surely be what node:crypto's reading gives (then that decides).
 */
export function certificateInterpretationFromDer(
  pem: string,
): CredentialInterpretation | undefined {
  let attributes;
  let notAfter;
  try {
    const cert = readPemCertificate(pem);
    if (!cert) return undefined;
    attributes = subjectAttributes(cert.subject);
    notAfter = cert.notAfter;
  } catch (e) {
    if (e instanceof DerError) return undefined;
    throw e;
  }
  // node:crypto prints notAfter as text that Date reads back only for four-digit years.
  const year = notAfter.getUTCFullYear();
  if (!attributes || year < 1950 || year > 9999) return undefined;
  const commonName = attributes.find((a) => a.type === "CN")?.value;
  const organizations = attributes.filter((a) => a.type === "O").map((a) => a.value);
  return {
    kind: "client-certificate",
    label: `client certificate (${attributes.map((a) => `${a.type}=${a.value}`).join(", ")})`,
    user: { username: commonName, groups: [...organizations, AUTHENTICATED] },
    expiry: { kind: "at", at: notAfter },
  };
}

/** certificateInterpretation() as node:crypto reads the certificate. */
export async function certificateInterpretationWithNode(
  pem: string,
): Promise<CredentialInterpretation> {
  const { X509Certificate } = await import("node:crypto");
  try {
    const cert = new X509Certificate(pem);
    const parts = cert.subject.split("\n");
    const commonName = parts.find((p) => p.startsWith("CN="))?.slice(3);
    const organizations = parts.filter((p) => p.startsWith("O=")).map((p) => p.slice(2));
    return {
      kind: "client-certificate",
      label: `client certificate (${parts.join(", ")})`,
      user: { username: commonName, groups: [...organizations, AUTHENTICATED] },
      expiry: { kind: "at", at: new Date(cert.validTo) },
    };
  } catch {
    return {
      kind: "client-certificate",
      label: "client certificate",
      expiry: { kind: "unknown", why: "the certificate cannot be read" },
    };
  }
}

function kindOf(report: TokenReport): CredentialKind {
  switch (report.kind) {
    case "bound-service-account":
      return "bound-service-account-token";
    case "legacy-service-account":
      return "legacy-service-account-token";
    case "service-account":
      return "service-account-token";
    case "bootstrap":
      return "bootstrap-token";
    case "jwt":
      return "jwt";
  }
}

/** The label `decode` shows as "Type" and `whoami` as "Authenticated by". */
export function labelOf(report: TokenReport): string {
  switch (report.kind) {
    case "bound-service-account": {
      const kind = report.kubernetes?.boundObject?.kind;
      return kind ? `bound service-account token (${kind}-bound)` : "bound service-account token";
    }
    case "legacy-service-account":
      return "legacy service-account token (Secret-based)";
    case "service-account":
      return "service-account token";
    case "bootstrap":
      return "bootstrap token";
    case "jwt":
      return "JWT";
  }
}

function serviceAccountGroups(namespace: string): string[] {
  return ["system:serviceaccounts", `system:serviceaccounts:${namespace}`];
}

function splitServiceAccount(username: string): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SA_PREFIX)) return undefined;
  const parts = username.slice(SA_PREFIX.length).split(":");
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") return undefined;
  return { namespace: parts[0], name: parts[1] };
}

// The user extra the server adds: the Pod of a Pod-bound token (both name and UID, as
// ServiceAccountInfo.UserInfo requires), its Node (1.30+) and the credential ID (1.29+ `jti`).
function serviceAccountExtra(report: TokenReport): Record<string, string[]> {
  const extra: Record<string, string[]> = {};
  const bound = report.kubernetes?.boundObject;
  if (bound?.kind === "Pod" && bound.name && bound.uid) {
    extra["authentication.kubernetes.io/pod-name"] = [bound.name];
    extra["authentication.kubernetes.io/pod-uid"] = [bound.uid];
  }
  const node = report.kubernetes?.node;
  if (node?.name && node.uid) {
    extra["authentication.kubernetes.io/node-name"] = [node.name];
    extra["authentication.kubernetes.io/node-uid"] = [node.uid];
  }
  if (report.credentialId) {
    extra["authentication.kubernetes.io/credential-id"] = [`JTI=${report.credentialId}`];
  }
  return extra;
}
