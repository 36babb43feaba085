/**
 * `kubectl token revoke issued ID`: end one revocable token by deleting its registry Secret
 * (with a UID precondition), then prove it dead with TokenReview when the caller holds the
 * token, or say how long the server's login cache may still accept it.
 */
import { ApiError, wrapApiError } from "../api/errors.ts";
import { reviewToken as tokenReview } from "../api/reviews.ts";
import { deleteSecret, getSecret, type Secret } from "../api/secrets.ts";
import type { CommandContext } from "../context.ts";
import { CliError, UsageError } from "../errors.ts";
import { entryOf, fingerprint, ISSUED_TOKEN_TYPE } from "../registry/issued.ts";
import { confirm } from "./revoke.ts";

/** The flags of `revoke` that `revoke issued` reads. */
export interface RevokeIssuedOptions {
  name?: string;
  dryRun?: boolean;
  yes?: boolean;
  allNamespaces?: boolean;
  /** Revoke every issued token whose registry Secret matches this label selector. */
  selector?: string;
  chunkSize?: string;
  /** A file holding the token (or "-" for standard input): checked with TokenReview after. */
  tokenFile?: string;
  /** Flags of the other forms of revoke, refused here. */
  unusedFor?: string;
  orphaned?: boolean;
  expired?: boolean;
  invalidated?: boolean;
  deleteBoundObject?: boolean;
  recreateServiceAccount?: boolean;
}

/** How long a real API server caches a successful token login (measured on 1.20). */
export const AUTH_CACHE_SECONDS = 10;

/** Poll TokenReview this long at most for the token to be refused. */
const PROOF_TIMEOUT_MS = (AUTH_CACHE_SECONDS + 20) * 1000;

/** Revoke one issued token; returns the exit code. */
export async function runRevokeIssued(
  ctx: CommandContext,
  options: RevokeIssuedOptions,
): Promise<number> {
  const id = options.name?.trim();
  const other = ([
    ["--unused-for", options.unusedFor !== undefined],
    ["--orphaned", options.orphaned],
    ["--expired", options.expired],
    ["--invalidated", options.invalidated],
    ["--delete-bound-object", options.deleteBoundObject],
    ["--recreate-service-account", options.recreateServiceAccount],
  ] as const).find(([, set]) => set);
  if (other) {
    throw new UsageError(
      `Flag ${other[0]} does not work with revoke issued: give an ID or -l/--selector`,
    );
  }
  if (options.selector !== undefined) {
    if (id) throw new UsageError("Give an ID or --selector, not both");
    return await revokeSelected(ctx, options);
  }
  if (!id) {
    throw new UsageError(
      'An ID or --selector is required after "issued" (see kubectl token issued)',
    );
  }
  if (options.allNamespaces) {
    throw new UsageError("Flag --all-namespaces does not work with an ID: give -n NAMESPACE");
  }
  const config = await ctx.config();
  const client = await ctx.client();
  const ns = config.namespace;
  const what = `Cannot revoke issued token "${ns}/${id}"`;
  const token = options.tokenFile === undefined
    ? undefined
    : await readToken(ctx, options.tokenFile);
  let secret: Secret;
  try {
    secret = await getSecret(client, ns, id);
  } catch (e) {
    throw wrapApiError(e, what, {
      byCode: {
        404: `it is not in the registry (no Secret "${id}" in namespace "${ns}"; see ` +
          `kubectl token issued -n ${ns})`,
      },
    });
  }
  const entry = entryOf(secret, ctx.runtime.now());
  if (!entry) {
    throw new CliError(
      `${what}: Secret "${ns}/${id}" is of type "${secret.type ?? ""}", not ${ISSUED_TOKEN_TYPE}`,
    );
  }
  if (token !== undefined && entry.fingerprint && await fingerprint(token) !== entry.fingerprint) {
    throw new CliError(
      `${what}: the token given with --token-file is not this one (fingerprint ` +
        `"${await fingerprint(token)}", the registry has "${entry.fingerprint}")`,
    );
  }
  const out = ctx.runtime.stdout;
  const description = `issued token "${ns}/${id}" of service account "${entry.serviceAccount}"` +
    (entry.fingerprint ? ` (fingerprint ${entry.fingerprint})` : "");
  if (options.dryRun) {
    out.write(`${description} would be revoked (dry run)\n`);
    return 0;
  }
  if (!options.yes) await confirm(ctx, `Revoke ${description}?`);
  try {
    await deleteSecret(client, ns, id, { uid: entry.uid });
  } catch (e) {
    throw wrapApiError(e, what);
  }
  out.write(`${description} revoked\n`);
  if (token === undefined) {
    out.write(
      `The API server may still accept it for up to ~${AUTH_CACHE_SECONDS}s (its token ` +
        `authentication cache); pass --token-file to check with TokenReview.\n`,
    );
    return 0;
  }
  const started = ctx.runtime.now().getTime();
  for (;;) {
    const authenticated = await reviewToken(ctx, token);
    const waited = ctx.runtime.now().getTime() - started;
    if (!authenticated) {
      out.write(
        `TokenReview: the token is refused (checked ${Math.round(waited / 1000)}s after ` +
          `revoking)\n`,
      );
      return 0;
    }
    if (waited > PROOF_TIMEOUT_MS) {
      throw new CliError(
        `${what}: TokenReview still accepts the token ${Math.round(waited / 1000)}s after its ` +
          `registry Secret was deleted`,
      );
    }
    await ctx.runtime.sleep(1000);
  }
}

/** Revoke every entry the label selector matches (in the namespace, or all with -A). */
async function revokeSelected(ctx: CommandContext, options: RevokeIssuedOptions): Promise<number> {
  if (!options.selector?.trim()) {
    throw new UsageError('Invalid value "" for flag --selector: expected a label selector');
  }
  if (options.tokenFile !== undefined) {
    throw new UsageError("Flag --token-file checks one token: give its ID, not --selector");
  }
  const { findIssued, validateIssued } = await import("./issued.ts");
  const { chunkSize } = validateIssued({ chunkSize: options.chunkSize });
  const entries = await findIssued(ctx, {
    allNamespaces: Boolean(options.allNamespaces),
    labelSelector: options.selector,
    chunkSize,
  });
  const live = entries.filter((e) => e.state !== "revoked");
  const out = ctx.runtime.stdout;
  if (live.length === 0) {
    ctx.runtime.stderr.write(`No issued tokens match the selector "${options.selector}".\n`);
    return 0;
  }
  const { renderTable } = await import("../output/printers.ts");
  const table = renderTable(
    ["namespace", "id", "service account", "state", "fingerprint"],
    live.map((e) => [e.namespace, e.id, e.serviceAccount, e.state, e.fingerprint ?? "<none>"]),
  );
  if (options.dryRun) {
    out.write(table);
    out.write(`${live.length} issued token(s) would be revoked (dry run)\n`);
    return 0;
  }
  if (!options.yes) {
    ctx.runtime.stderr.write(table);
    await confirm(ctx, `Revoke these ${live.length} issued token(s)?`);
  }
  const client = await ctx.client();
  let failed = 0;
  for (const e of live) {
    try {
      await deleteSecret(client, e.namespace, e.id, { uid: e.uid });
      out.write(
        `issued token "${e.namespace}/${e.id}" of service account "${e.serviceAccount}" revoked\n`,
      );
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      failed++;
      ctx.runtime.stderr.write(
        `error: Cannot revoke issued token "${e.namespace}/${e.id}": ${err.message}\n`,
      );
    }
  }
  out.write(
    `The API server may still accept them for up to ~${AUTH_CACHE_SECONDS}s (its token ` +
      `authentication cache).\n`,
  );
  return failed > 0 ? 1 : 0;
}

/** Whether TokenReview accepts `token` (errors name TokenReview, never the token). */
async function reviewToken(ctx: CommandContext, token: string): Promise<boolean> {
  const client = await ctx.client();
  try {
    return (await tokenReview(client, token)).authenticated === true;
  } catch (e) {
    throw wrapApiError(e, "Cannot check the revoked token with TokenReview");
  }
}

async function readToken(ctx: CommandContext, file: string): Promise<string> {
  let text: string;
  if (file === "-") {
    text = new TextDecoder().decode(await ctx.runtime.stdin.readAll());
  } else {
    const { fileError } = await import("../fs/file_error.ts");
    try {
      text = await ctx.runtime.readTextFile(file);
    } catch (e) {
      throw fileError(`read token file "${file}"`, e);
    }
  }
  const token = text.trim();
  if (!token) throw new CliError(`Cannot read token from "${file}": it is empty`);
  ctx.secret(token);
  return token;
}
