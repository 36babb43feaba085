/**
 * Issuing a revocable token: create its registry entry (a Secret), request the token bound to
 * that Secret, then record on the entry what only the token tells (expiry, jti, fingerprint).
 * No token outlives a failure here: whenever a step after the TokenRequest fails, the entry is
 * deleted again, which ends the token.
 */
import { ApiError, wrapApiError } from "../api/errors.ts";
import { createSecret, deleteSecret, patchSecretMetadata } from "../api/secrets.ts";
import { getServiceAccount, type ServiceAccount } from "../api/serviceaccounts.ts";
import type { CommandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { decodeJwt } from "../jwt/decode.ts";
import { entrySecret, issuedAnnotations } from "../registry/issued.ts";
import type { CreateRequest } from "./create.ts";
import { type IssuedToken, requestToken } from "./_token_request.ts";
import type { ServiceAccountRef } from "./_service_account.ts";

/** A revocable token and its registry entry. */
export interface RevocableToken extends IssuedToken {
  /** The entry's Secret: its name is the token's ID. */
  entry: { namespace: string; name: string; uid: string };
}

/** Issue a token for `sa` bound to a new registry entry. */
export async function issueRevocable(
  ctx: CommandContext,
  sa: ServiceAccountRef,
  request: Pick<CreateRequest, "audiences" | "expirationSeconds"> & { purpose?: string },
): Promise<RevocableToken> {
  const what = `Cannot create revocable token for service account "${sa.namespace}/${sa.name}"`;
  const client = await ctx.client();
  let account: ServiceAccount;
  try {
    account = await getServiceAccount(client, sa.namespace, sa.name);
  } catch (e) {
    throw wrapApiError(e, what);
  }
  const requester = await requesterName(ctx);
  let secret;
  try {
    secret = await createSecret(
      client,
      sa.namespace,
      await entrySecret({
        namespace: sa.namespace,
        serviceAccount: { name: sa.name, uid: account.metadata.uid ?? "" },
        requester,
        purpose: request.purpose,
        audiences: request.audiences,
      }),
    );
  } catch (e) {
    throw e instanceof ApiError && e.code === 403
      ? wrapApiError(e, what, {
        byCode: {
          403: `you may not create Secrets in namespace "${sa.namespace}" (the registry entry ` +
            `needs the "create" right on "secrets"): ${e.message}`,
        },
      })
      : wrapApiError(e, `${what}: cannot create its registry entry`);
  }
  const entry = {
    namespace: sa.namespace,
    name: secret.metadata.name ?? "",
    uid: secret.metadata.uid ?? "",
  };
  const undo = async (cause: unknown) => {
    try {
      await deleteSecret(client, entry.namespace, entry.name, { uid: entry.uid });
    } catch (e) {
      ctx.warn(
        `cannot delete the registry entry Secret "${entry.namespace}/${entry.name}" again: ` +
          `${e instanceof Error ? e.message : String(e)}`,
      );
    }
    throw cause;
  };
  let issued: IssuedToken;
  try {
    issued = await requestToken(client, sa, {
      audiences: request.audiences,
      expirationSeconds: request.expirationSeconds,
      boundObject: { kind: "Secret", name: entry.name, uid: entry.uid },
    });
  } catch (e) {
    return await undo(e);
  }
  ctx.secret(issued.token);
  try {
    const claims = decodeJwt(issued.token).payload;
    const iat = typeof claims.iat === "number" ? new Date(claims.iat * 1000) : undefined;
    const aud = Array.isArray(claims.aud)
      ? claims.aud.filter((a): a is string => typeof a === "string")
      : typeof claims.aud === "string"
      ? [claims.aud]
      : undefined;
    await patchSecretMetadata(client, entry.namespace, entry.name, {
      annotations: await issuedAnnotations(issued.token, {
        issuedAt: iat ?? ctx.runtime.now(),
        expiresAt: issued.expiresAt,
        jti: typeof claims.jti === "string" ? claims.jti : undefined,
        audiences: aud,
      }),
    });
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return await undo(
      new CliError(
        `${what}: cannot record the token on its registry entry (the token was revoked again): ` +
          reason,
      ),
    );
  }
  return { ...issued, entry };
}

/** Who is asking, as the server or the credential tells; undefined when nothing does. */
async function requesterName(ctx: CommandContext): Promise<string | undefined> {
  const { whoami } = await import("./whoami.ts");
  try {
    return (await whoami(ctx)).user.username || undefined;
  } catch (e) {
    ctx.log(6, `requester unknown: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

/** Say on stderr which registry entry a new revocable token has, and how to revoke it. */
export function announceIssued(ctx: CommandContext, issued: RevocableToken): void {
  const { namespace, name } = issued.entry;
  ctx.runtime.stderr.write(
    `issued token "${name}" in namespace "${namespace}" (revoke it with: ` +
      `kubectl token revoke issued ${name} -n ${namespace})\n`,
  );
}
