/** Deleting something after a grace period, the way rotate retires what it replaced. */
import { ApiError, wrapApiError } from "../api/errors.ts";
import type { CommandContext } from "../context.ts";
import { formatGoDuration } from "../output/duration.ts";

/** The words of one kind of removal: "delete"/"Deleting"/"deleted"/"gone", or revoke's. */
export interface RemovalWords {
  verb: string;
  doing: string;
  done: string;
  gone: string;
}

/** Deleting an object. */
export const DELETE: RemovalWords = {
  verb: "delete",
  doing: "Deleting",
  done: "deleted",
  gone: "gone",
};

/** Ending a token by deleting what it is bound to. */
export const REVOKE: RemovalWords = {
  verb: "revoke",
  doing: "Revoking",
  done: "revoked",
  gone: "revoked",
};

/**
 * Wait `graceMs` (saying so), then run `remove`; a 404 means it is already gone, any other API
 * error names `what`.
 */
export async function removeAfterGrace(
  ctx: CommandContext,
  what: string,
  graceMs: number,
  remove: () => Promise<unknown>,
  words: RemovalWords = DELETE,
): Promise<void> {
  const err = ctx.runtime.stderr;
  if (graceMs > 0) {
    err.write(`${words.doing} ${what} in ${formatGoDuration(graceMs)} (--grace)...\n`);
    await ctx.runtime.sleep(graceMs);
  }
  try {
    await remove();
  } catch (e) {
    if (e instanceof ApiError && e.code === 404) {
      err.write(`${what} was already ${words.gone}\n`);
      return;
    }
    throw wrapApiError(e, `Cannot ${words.verb} ${what}`);
  }
  err.write(`${what} ${words.done}\n`);
}
