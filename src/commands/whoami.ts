/**
 * `kubectl token whoami`: who the API server thinks the credential is. SelfSubjectReview v1,
 * v1beta1, v1alpha1; on servers without it (before 1.26) TokenReview when allowed; else what the
 * credential itself says, marked as unverified.
 */
import type { CommandContext } from "../context.ts";
import type { Credential } from "../kubeconfig/types.ts";
import { ApiError } from "../api/errors.ts";
import { getSecret } from "../api/secrets.ts";
import { reviewSelf, reviewToken, reviewVersionAccess, type UserInfo } from "../api/reviews.ts";
import { CliError } from "../errors.ts";
import { parseOutputFlag, renderTable, toJson, toYaml } from "../output/printers.ts";
import { rfc3339 } from "../output/duration.ts";
import { bootstrapTokenId } from "../jwt/decode.ts";
import {
  type BootstrapSecretInfo,
  type Expiry,
  expiryDocument,
  expiryText,
  groupsText,
  interpretCredential,
} from "../credential/interpret.ts";
import { BOOTSTRAP_NAMESPACE, readBootstrapSecret } from "../bootstrap/secret.ts";
import { bootstrapSecretName } from "../bootstrap/token.ts";

/** Flags of `whoami`. */
export interface WhoamiOptions {
  output: string;
}

export type { UserInfo } from "../api/reviews.ts";

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
  /** When the credential stops working (never, at, unknown, invalid). */
  expiry: Expiry;
  /** Groups the server adds that could not be known here (only when not verified). */
  unknownGroups?: string;
}

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

/** Whether a 403 is the impersonation filter refusing --as/--as-group/--as-uid. */
function refusedImpersonation(e: ApiError): boolean {
  return e.code === 403 && /\bcannot impersonate\b/.test(e.message);
}

/** Ask the server, falling back as far as needed. */
export async function whoami(ctx: CommandContext): Promise<Identity> {
  const client = await ctx.client();
  const credential = await ctx.credential();
  const config = await ctx.config();
  const now = ctx.runtime.now();
  // A bootstrap token's extra groups and expiry live in its Secret: read it when this
  // credential may (it usually may not, and then they are unknown).
  let bootstrapSecret: BootstrapSecretInfo | undefined;
  const id = credential.token && !credential.certPem
    ? bootstrapTokenId(credential.token)
    : undefined;
  if (id !== undefined && !config.impersonate?.user) {
    bootstrapSecret = await readOwnBootstrapSecret(ctx, id);
  }
  const described = await describeCredential(credential, { now, bootstrapSecret });
  const reviewed = await reviewSelf(client, {
    onUnavailable: (version, e) => {
      // The impersonation filter runs before any API: its 403 is the answer, not a missing API.
      if (config.impersonate && refusedImpersonation(e)) throw e;
      ctx.log(6, `SelfSubjectReview ${version} not available (${e.code})`);
    },
  });
  if (reviewed) {
    return {
      user: reviewed.userInfo,
      source: `SelfSubjectReview ${reviewed.apiVersion}`,
      verified: true,
      ...described,
    };
  }
  // Without SelfSubjectReview nothing below asks the server as the impersonated user: a
  // SelfSubjectAccessReview (served since 1.6) passes the same impersonation filter, so a
  // refused --as is reported instead of printing the identity it asked for.
  if (config.impersonate) {
    try {
      await reviewVersionAccess(client);
    } catch (e) {
      if (e instanceof ApiError && refusedImpersonation(e)) throw e;
      ctx.log(6, `SelfSubjectAccessReview not available: ${(e as Error).message}`);
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
      const status = await reviewToken(client, credential.token);
      if (!status.authenticated) {
        unverifiedReason = "TokenReview did not confirm the token";
      } else {
        return {
          user: status.user ?? {},
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
  const claimed = await interpretCredential(credential, {
    now,
    impersonate: config.impersonate,
    bootstrapSecret,
  });
  if (!claimed.user?.username) {
    throw new CliError(
      "Cannot tell who you are: the server offers no SelfSubjectReview, TokenReview is not " +
        "allowed, and the credential does not name its user",
    );
  }
  const { unknownGroups, ...user } = claimed.user;
  // The request above went through with this credential, so the server accepted it; the
  // name comes from the credential itself.
  return {
    user,
    source: "credential",
    verified: false,
    unverifiedReason,
    method: described.method,
    expiry: claimed.expiry,
    ...(unknownGroups ? { unknownGroups } : {}),
  };
}

async function readOwnBootstrapSecret(
  ctx: CommandContext,
  id: string,
): Promise<BootstrapSecretInfo | undefined> {
  const client = await ctx.client();
  try {
    const secret = await getSecret(client, BOOTSTRAP_NAMESPACE, bootstrapSecretName(id));
    const info = readBootstrapSecret(secret);
    if (!info || info.invalidExpiration !== undefined) return undefined;
    return { extraGroups: info.groups, expiration: info.expires };
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    ctx.log(6, `bootstrap token Secret not readable (${e.code})`);
    return undefined;
  }
}

interface Described {
  method: string;
  expiry: Expiry;
}

/** How a credential authenticates and when it stops working, from the credential alone. */
export async function describeCredential(
  credential: Credential,
  options: { now: Date; bootstrapSecret?: BootstrapSecretInfo },
): Promise<Described> {
  const via = credential.source === "exec"
    ? " (from an exec credential plugin)"
    : credential.source === "in-cluster"
    ? " (in-cluster service-account mount)"
    : credential.source === "token-file"
    ? " (from a token file)"
    : "";
  const it = await interpretCredential(credential, options);
  return { method: `${it.label}${via}`, expiry: it.expiry };
}

/** kubectl auth whoami's table, with the way of authentication and the expiry added. */
export function renderIdentity(identity: Identity, now: Date): string {
  const rows: string[][] = [];
  const u = identity.user;
  if (u.username !== undefined) rows.push(["Username", u.username]);
  if (u.uid) rows.push(["UID", u.uid]);
  if (u.groups) rows.push(["Groups", groupsText({ ...u, unknownGroups: identity.unknownGroups })]);
  for (const [key, values] of Object.entries(u.extra ?? {})) {
    rows.push([`Extra: ${key}`, `[${values.join(" ")}]`]);
  }
  rows.push(["Authenticated by", identity.method]);
  rows.push(["Credential expires", expiryText(identity.expiry, now)]);
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
    ...(identity.unknownGroups ? { unknownGroups: identity.unknownGroups } : {}),
    authentication: {
      method: identity.method,
      ...(identity.expiry.kind === "at" ? { expiresAt: rfc3339(identity.expiry.at) } : {}),
      expiry: expiryDocument(identity.expiry),
    },
    source: identity.source,
    verified: identity.verified,
  };
}
