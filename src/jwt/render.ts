/** Text and machine-readable forms of a {@link TokenReport}, for `kubectl token decode`. */

import { compactDuration, relativeTime, rfc3339 } from "../output/duration.ts";
import type { ObjectRef, TokenReport } from "./inspect.ts";
import type { VerifyResult } from "./verify.ts";
import {
  expiryDocument,
  expiryText,
  groupsText,
  interpretReport,
  labelOf,
} from "../credential/interpret.ts";

/** Options for {@link renderTokenReport}. */
export interface RenderOptions {
  /** The outcome of verifyToken(), shown as "Signature" and "Expiry" lines when given. */
  verification?: VerifyResult;
  /** The token's registry entry (`create --revocable`), when the cluster could be asked. */
  registry?: { id: string; state: string };
}

// Claims the report already shows on their own lines.
const SHOWN_CLAIMS = new Set(["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "kubernetes.io"]);
const LEGACY_PREFIX = "kubernetes.io/serviceaccount/";

/**
 * Describes a token for people, as aligned `Key:  value` lines like `kubectl describe`, ending
 * with a newline. Bootstrap tokens show only their ID: the secret half never appears.
 */
export function renderTokenReport(
  report: TokenReport,
  now: Date,
  options: RenderOptions = {},
): string {
  const rows: [string, string][] = [];
  const add = (label: string, value: string | undefined) => {
    if (value !== undefined) rows.push([label, value]);
  };

  // The same interpretation whoami prints: who the API server takes the token for, and when
  // it stops working.
  const it = interpretReport(report);
  if (report.kind === "bootstrap" && report.bootstrap) {
    const { tokenId, secretNamespace, secretName } = report.bootstrap;
    add("Type", it.label);
    add("Token ID", tokenId);
    add("Username", it.user?.username);
    if (it.user) add("Groups", groupsText(it.user));
    add("Secret", `${secretNamespace}/${secretName}`);
    add("Expires", expiryText(it.expiry, now));
    return alignRows(rows) + `\nThe secret part of the token is not shown.\n`;
  }

  const at = (date: Date | undefined) =>
    date === undefined ? undefined : `${rfc3339(date)} (${relativeTime(date, now)})`;
  add("Type", labelOf(report));
  add("Algorithm", report.header.alg);
  add("Key ID", report.header.kid);
  add("Issuer", report.issuer ?? "<none>");
  add("Subject", report.subject ?? "<none>");
  add("Audiences", report.audiences.length > 0 ? report.audiences.join(", ") : "<none>");
  add("Issued", at(report.issuedAt) ?? "<none>");
  if (report.notBefore && report.notBefore.getTime() !== report.issuedAt?.getTime()) {
    add("Not before", at(report.notBefore));
  }
  add("Expires", expiryText(it.expiry, now));
  if (report.remainingFraction !== undefined && report.lifetimeSeconds !== undefined) {
    const percent = Math.floor(report.remainingFraction * 100);
    add("Lifetime left", `${percent}% of ${compactDuration(report.lifetimeSeconds * 1000)}`);
  }
  add("Stale after", at(report.staleAfter));
  if (report.credentialId !== undefined) add("Credential ID", `JTI=${report.credentialId}`);

  const k8s = report.kubernetes;
  if (k8s) {
    add("Namespace", k8s.namespace);
    add("Service account", refText(k8s.serviceAccount));
    add("Secret", k8s.secretName);
    if (k8s.boundObject) {
      add("Bound to", `${k8s.boundObject.kind} ${refText(k8s.boundObject) ?? "<unknown>"}`);
    }
    if (k8s.node && k8s.boundObject?.kind !== "Node") add("Node", refText(k8s.node));
  }
  if (options.registry) {
    add("Registry ID", `${options.registry.id} (${options.registry.state})`);
  }
  if (it.user?.username !== undefined) {
    add("Username", it.user.username);
    add("Groups", groupsText(it.user));
  }
  const verification = options.verification;
  if (verification) {
    add("Signature", signatureText(verification));
    add("Expiry", verification.time.text);
  }

  let text = alignRows(rows);
  const extra = Object.entries(report.claims).filter(([name]) =>
    !SHOWN_CLAIMS.has(name) &&
    !(report.kind === "legacy-service-account" && name.startsWith(LEGACY_PREFIX))
  );
  if (extra.length > 0) {
    text += "Other claims:\n" + alignRows(
      extra.map((
        [name, value],
      ) => [name, typeof value === "string" ? value : JSON.stringify(value)]),
      "  ",
    );
  }
  if (report.warnings.length > 0) {
    text += "Warnings:\n" + report.warnings.map((w) => `  ${w}\n`).join("");
  }
  return text;
}

/**
 * The stable document printed by `kubectl token decode -o json|yaml`. Keys come in a fixed
 * order; times are RFC 3339 strings; absent values are null rather than missing.
 */
export function tokenReportDocument(
  report: TokenReport,
  verification?: VerifyResult,
): Record<string, unknown> {
  const time = (date: Date | undefined) => (date === undefined ? null : rfc3339(date));
  const ref = (value: ObjectRef | undefined) =>
    value === undefined ? null : { name: value.name ?? null, uid: value.uid ?? null };
  const k8s = report.kubernetes;
  const it = interpretReport(report);
  const doc: Record<string, unknown> = {
    apiVersion: "kubectl-token.dev/v1alpha1",
    kind: "TokenInfo",
    type: report.kind,
    header: report.rawHeader,
    claims: report.claims,
    issuer: report.issuer ?? null,
    subject: report.subject ?? null,
    audiences: report.audiences,
    issuedAt: time(report.issuedAt),
    notBefore: time(report.notBefore),
    expiresAt: time(report.expiresAt),
    expiry: expiryDocument(it.expiry),
    user: it.user
      ? {
        username: it.user.username ?? null,
        uid: it.user.uid ?? null,
        groups: it.user.groups ?? [],
        unknownGroups: it.user.unknownGroups ?? null,
      }
      : null,
    // A bootstrap token's expiry lives in its Secret, so it is unknown here.
    expired: report.kind === "bootstrap" ? null : report.expired,
    notYetValid: report.kind === "bootstrap" ? null : report.notYetValid,
    remainingSeconds: report.remainingSeconds ?? null,
    lifetimeSeconds: report.lifetimeSeconds ?? null,
    staleAfter: time(report.staleAfter),
    credentialId: report.credentialId ?? null,
    kubernetes: k8s === undefined ? null : {
      namespace: k8s.namespace ?? null,
      serviceAccount: ref(k8s.serviceAccount),
      boundObject: k8s.boundObject === undefined
        ? null
        : { kind: k8s.boundObject.kind, ...ref(k8s.boundObject) },
      node: ref(k8s.node),
      secretName: k8s.secretName ?? null,
    },
  };
  if (report.bootstrap) {
    const { tokenId, secretNamespace, secretName, username } = report.bootstrap;
    doc.bootstrap = { tokenId, username, secret: { namespace: secretNamespace, name: secretName } };
  }
  if (report.warnings.length > 0) doc.warnings = report.warnings;
  if (verification) {
    doc.verification = {
      valid: verification.valid,
      reason: verification.reason ?? null,
      kid: verification.kid ?? null,
      algorithm: verification.algorithm ?? null,
      signature: {
        valid: verification.signature.valid,
        reason: verification.signature.reason ?? null,
      },
      time: verification.time,
    };
  }
  return doc;
}

function refText(ref: ObjectRef | undefined): string | undefined {
  if (ref === undefined) return undefined;
  if (ref.name === undefined) return ref.uid === undefined ? undefined : `(uid ${ref.uid})`;
  return ref.uid === undefined ? ref.name : `${ref.name} (uid ${ref.uid})`;
}

function signatureText(result: VerifyResult): string {
  const { signature, kid } = result;
  if (signature.valid) return kid ? `valid (key "${kid}")` : "valid";
  return `invalid: ${signature.reason ?? "unknown reason"}`;
}

// Aligns labels like kubectl describe (tabwriter, two spaces of padding). Values come from
// the token, so control characters are escaped rather than sent to the terminal.
function alignRows(rows: [string, string][], indent = ""): string {
  const width = Math.max(...rows.map(([label]) => [...label].length + 1));
  return rows.map(([label, value]) =>
    `${indent}${`${label}:`.padEnd(width)}  ${printable(value)}`.trimEnd() + "\n"
  ).join("");
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

function printable(text: string): string {
  return text.replace(CONTROL, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
