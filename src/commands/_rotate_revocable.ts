/**
 * Rotating a revocable token keeps it revocable: the successor gets its own registry entry (same
 * purpose), and the old entry, which is what keeps the old token alive, is deleted once the new
 * token is in place (after --grace).
 */
import { ApiError } from "../api/errors.ts";
import { deleteSecret, getSecret } from "../api/secrets.ts";
import type { CommandContext } from "../context.ts";
import { entryOf, type IssuedEntry } from "../registry/issued.ts";
import { issueRevocable, type RevocableToken } from "./_issue_revocable.ts";
import { removeAfterGrace, REVOKE } from "./_grace.ts";
import type { ServiceAccountRef } from "./_service_account.ts";

/**
 * The registry entry a token is bound to, or undefined when the Secret is no entry. A Secret
 * that cannot be read (403) counts as no entry: the token is then rotated as before, bound to
 * the same Secret, and a warning says so.
 */
export async function registryEntryOf(
  ctx: CommandContext,
  sa: ServiceAccountRef,
  bound: { kind: string; name: string; uid?: string } | undefined,
): Promise<IssuedEntry | undefined> {
  if (bound?.kind !== "Secret") return undefined;
  try {
    const secret = await getSecret(await ctx.client(), sa.namespace, bound.name);
    const entry = entryOf(secret, ctx.runtime.now());
    return entry && (!bound.uid || entry.uid === bound.uid) ? entry : undefined;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.code !== 404) {
      ctx.warn(
        `cannot read Secret "${sa.namespace}/${bound.name}" the token is bound to (${e.message}): ` +
          `if it is a registry entry, the new token shares it`,
      );
    }
    return undefined;
  }
}

/** A successor for the token of registry entry `old`: revocable, with the same purpose. */
export function issueSuccessor(
  ctx: CommandContext,
  sa: ServiceAccountRef,
  old: IssuedEntry,
  request: { audiences: string[]; expirationSeconds?: number },
): Promise<RevocableToken> {
  return issueRevocable(ctx, sa, { ...request, purpose: old.purpose });
}

/** Delete the registry entry of the old token (after `graceMs`): that ends the old token. */
export async function retireEntry(
  ctx: CommandContext,
  old: IssuedEntry,
  graceMs: number,
): Promise<void> {
  const what = `issued token "${old.namespace}/${old.id}" (the old token)`;
  await removeAfterGrace(
    ctx,
    what,
    graceMs,
    async () => deleteSecret(await ctx.client(), old.namespace, old.id, { uid: old.uid }),
    REVOKE,
  );
}

/** Undo a successor that could not be put in place (its entry goes, and with it the token). */
export async function discardSuccessor(ctx: CommandContext, issued: RevocableToken) {
  try {
    await deleteSecret(await ctx.client(), issued.entry.namespace, issued.entry.name, {
      uid: issued.entry.uid,
    });
  } catch (e) {
    ctx.warn(
      `cannot delete the new registry entry "${issued.entry.namespace}/${issued.entry.name}": ` +
        `${e instanceof Error ? e.message : String(e)}`,
    );
  }
}
