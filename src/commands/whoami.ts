/**
 * `kubectl token whoami`: who the API server thinks the credential is. SelfSubjectReview v1,
 * v1beta1, v1alpha1; on servers without it (before 1.26) TokenReview when allowed; else what the
 * credential itself says, marked as unverified.
 */
import { X509Certificate } from "node:crypto";
import type { CommandContext } from "../cli/context.ts";
import type { Credential } from "../kubeconfig/types.ts";
import { ApiError } from "../api/errors.ts";
import { CliError } from "../errors.ts";
import { parseOutputFlag, renderTable, toJson, toYaml } from "../output/printers.ts";
import { relativeTime, rfc3339 } from "../output/duration.ts";
import { inspectToken, type TokenReport } from "../jwt/inspect.ts";
import { isBootstrapToken } from "../jwt/decode.ts";

/** Flags of `whoami`. */
export interface WhoamiOptions {
  output: string;
}

/** The user as the API server reports it (authentication.k8s.io UserInfo). */
export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** What `whoami` found out. */
export interface Identity {
  user: UserInfo;
  /** Which API answered, or "credential" when nothing on the server could be asked. */
  source: string;
  /** Whether the API server confirmed the identity. */
  verified: boolean;
  /** When not verified: why TokenReview could not confirm it either. */
  unverifiedReason?: string;
  /** How the credential authenticates. */
  method: string;
  expiresAt?: Date;
}

const SSR_VERSIONS = ["v1", "v1beta1", "v1alpha1"];

/** Find out who the credential is and print it; returns the exit code. */
export async function runWhoami(ctx: CommandContext, options: WhoamiOptions): Promise<number> {
  const format = parseOutputFlag(options.output, ["text", "json", "yaml"], "text");
  const identity = await whoami(ctx);
  const out = ctx.runtime.stdout;
  if (format === "text") out.write(renderIdentity(identity, ctx.runtime.now()));
  else {
    const doc = identityDocument(identity);
    out.write(format === "json" ? toJson(doc) : toYaml(doc));
  }
  return 0;
}

/** Ask the server, falling back as far as needed. */
export async function whoami(ctx: CommandContext): Promise<Identity> {
  const client = await ctx.client();
  const credential = await ctx.credential();
  const config = await ctx.config();
  const described = describeCredential(credential, ctx.runtime.now());
  for (const version of SSR_VERSIONS) {
    try {
      const res = await client.post<{ status?: { userInfo?: UserInfo } }>(
        `/apis/authentication.k8s.io/${version}/selfsubjectreviews`,
        { apiVersion: `authentication.k8s.io/${version}`, kind: "SelfSubjectReview" },
      );
      return {
        user: res.body.status?.userInfo ?? {},
        source: `SelfSubjectReview authentication.k8s.io/${version}`,
        verified: true,
        ...described,
      };
    } catch (e) {
      if (!(e instanceof ApiError) || (e.code !== 404 && e.code !== 403)) throw e;
      ctx.log(6, `SelfSubjectReview ${version} not available (${e.code})`);
    }
  }
  // An older server: TokenReview tells who a token is, if we may ask. It cannot see
  // impersonation, so with --as it would answer for the wrong user; nor a client certificate,
  // which the server checks before a token, so with both it would answer for the token.
  let unverifiedReason = config.impersonate
    ? "TokenReview cannot see impersonation"
    : credential.certPem
    ? "TokenReview cannot check a client certificate"
    : credential.token
    ? "TokenReview is not allowed"
    : "TokenReview needs a token";
  if (credential.token && !credential.certPem && !config.impersonate) {
    try {
      const res = await client.post<
        { status?: { authenticated?: boolean; user?: UserInfo; error?: string } }
      >("/apis/authentication.k8s.io/v1/tokenreviews", {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token: credential.token },
      });
      if (!res.body.status?.authenticated) {
        unverifiedReason = "TokenReview did not confirm the token";
      } else {
        return {
          user: res.body.status.user ?? {},
          source: "TokenReview authentication.k8s.io/v1",
          verified: true,
          ...described,
        };
      }
    } catch (e) {
      if (!(e instanceof ApiError) || (e.code !== 404 && e.code !== 403)) throw e;
      ctx.log(6, `TokenReview not available (${e.code})`);
      unverifiedReason = e.code === 404 ? "no TokenReview either" : "TokenReview is not allowed";
    }
  }
  const claimed = claimedIdentity(credential, config.impersonate);
  if (!claimed) {
    throw new CliError(
      "Cannot tell who you are: the server offers no SelfSubjectReview, TokenReview is not " +
        "allowed, and the credential does not name its user",
    );
  }
  // The request above went through with this credential, so the server accepted it; the
  // name comes from the credential itself.
  return { user: claimed, source: "credential", verified: false, unverifiedReason, ...described };
}

interface Described {
  method: string;
  expiresAt?: Date;
}

/** How a credential authenticates and when it stops working, from the credential alone. */
export function describeCredential(credential: Credential, now: Date): Described {
  const via = credential.source === "exec"
    ? " (from an exec credential plugin)"
    : credential.source === "in-cluster"
    ? " (in-cluster service-account mount)"
    : credential.source === "token-file"
    ? " (from a token file)"
    : "";
  if (credential.certPem) {
    const cert = parseCertificate(credential.certPem);
    return {
      method: `client certificate${cert ? ` (${cert.subject})` : ""}${via}`,
      expiresAt: cert?.notAfter ?? credential.expiresAt,
    };
  }
  if (credential.token) {
    if (isBootstrapToken(credential.token)) {
      return { method: `bootstrap token${via}`, expiresAt: credential.expiresAt };
    }
    let report: TokenReport | undefined;
    try {
      report = inspectToken(credential.token, now);
    } catch {
      report = undefined;
    }
    if (!report) return { method: `bearer token${via}`, expiresAt: credential.expiresAt };
    const kind = {
      "bound-service-account": "bound service-account token",
      "legacy-service-account": "legacy service-account token (from a Secret)",
      "service-account": "service-account token",
      "jwt": "JWT bearer token",
      "bootstrap": "bootstrap token",
    }[report.kind] ?? "bearer token";
    return { method: `${kind}${via}`, expiresAt: report.expiresAt ?? credential.expiresAt };
  }
  if (credential.username !== undefined) return { method: "basic authentication" };
  return { method: "anonymous (no credential)" };
}

function claimedIdentity(
  credential: Credential,
  impersonate: { user?: string; groups: string[] } | undefined,
): UserInfo | undefined {
  if (impersonate?.user) {
    return { username: impersonate.user, groups: impersonate.groups };
  }
  if (credential.certPem) {
    const cert = parseCertificate(credential.certPem);
    if (cert) {
      return { username: cert.commonName, groups: [...cert.organizations, "system:authenticated"] };
    }
  }
  if (credential.token) {
    if (isBootstrapToken(credential.token)) {
      const id = credential.token.slice(0, 6);
      return {
        username: `system:bootstrap:${id}`,
        groups: ["system:bootstrappers", "system:authenticated"],
      };
    }
    try {
      const claims = inspectToken(credential.token, new Date(0));
      const sa = claims.kubernetes?.serviceAccount;
      const ns = claims.kubernetes?.namespace;
      if (sa?.name && ns) {
        const extra: Record<string, string[]> = {};
        if (claims.credentialId) {
          extra["authentication.kubernetes.io/credential-id"] = [`JTI=${claims.credentialId}`];
        }
        return {
          username: `system:serviceaccount:${ns}:${sa.name}`,
          uid: sa.uid,
          groups: [
            "system:serviceaccounts",
            `system:serviceaccounts:${ns}`,
            "system:authenticated",
          ],
          ...(Object.keys(extra).length ? { extra } : {}),
        };
      }
      if (claims.subject) return { username: claims.subject };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

interface CertificateInfo {
  subject: string;
  commonName?: string;
  organizations: string[];
  notAfter: Date;
}

function parseCertificate(pem: string): CertificateInfo | undefined {
  try {
    const cert = new X509Certificate(pem);
    const parts = cert.subject.split("\n");
    const commonName = parts.find((p) => p.startsWith("CN="))?.slice(3);
    const organizations = parts.filter((p) => p.startsWith("O=")).map((p) => p.slice(2));
    return {
      subject: parts.join(", "),
      commonName,
      organizations,
      notAfter: new Date(cert.validTo),
    };
  } catch {
    return undefined;
  }
}

/** kubectl auth whoami's table, with the way of authentication and the expiry added. */
export function renderIdentity(identity: Identity, now: Date): string {
  const rows: string[][] = [];
  const u = identity.user;
  if (u.username !== undefined) rows.push(["Username", u.username]);
  if (u.uid) rows.push(["UID", u.uid]);
  if (u.groups) rows.push(["Groups", `[${u.groups.join(" ")}]`]);
  for (const [key, values] of Object.entries(u.extra ?? {})) {
    rows.push([`Extra: ${key}`, `[${values.join(" ")}]`]);
  }
  rows.push(["Authenticated by", identity.method]);
  rows.push([
    "Credential expires",
    identity.expiresAt
      ? `${rfc3339(identity.expiresAt)} (${relativeTime(identity.expiresAt, now)})`
      : "unknown",
  ]);
  rows.push([
    "Confirmed by",
    identity.verified
      ? identity.source
      : `nobody: the server has no SelfSubjectReview and ${
        identity.unverifiedReason ?? "TokenReview is not allowed"
      }; shown is what the credential claims`,
  ]);
  return renderTable(["ATTRIBUTE", "VALUE"], rows);
}

/** The stable `-o json|yaml` document. */
export function identityDocument(identity: Identity): Record<string, unknown> {
  return {
    apiVersion: "kubectl-token.dev/v1alpha1",
    kind: "Identity",
    userInfo: identity.user,
    authentication: {
      method: identity.method,
      ...(identity.expiresAt ? { expiresAt: rfc3339(identity.expiresAt) } : {}),
    },
    source: identity.source,
    verified: identity.verified,
  };
}
