/**
 * `kubectl token exec-credential`: a client-go exec credential plugin. kubectl runs it on every
 * call, so a cache hit must be fast: this module loads the kubeconfig resolver (to know the
 * cluster and user the cache key names) and the cache, and nothing that talks to a cluster;
 * the API client and TokenRequest code load only on a miss.
 */
import { checkAudiences, parseExpirationFlag } from "./_lifetime.ts";
import type { CommandContext } from "../context.ts";
import { CliError, UsageError } from "../errors.ts";
import {
  cacheDir,
  type CachedToken,
  cacheKey,
  checkCacheDir,
  clearCache,
  ensureCacheDir,
  lockEntry,
  readCachedToken,
  writeCachedToken,
} from "../tokencache/cache.ts";
import { readShortcut, shortcutKey, writeShortcut } from "../tokencache/shortcut.ts";
import { EXEC_CREDENTIAL_VERSIONS, execCredential } from "../credential/exec_credential.ts";
import { isServiceAccountArg } from "./_service_account.ts";

/** Flags of `exec-credential`. */
export interface ExecCredentialOptions {
  serviceAccount?: string;
  audience: string[];
  duration?: string;
  clear?: boolean;
}

/** A validated call. */
export type ExecCredentialRequest =
  | { clear: true }
  | {
    clear: false;
    /** `NS/NAME`, or a bare NAME in the context's namespace. */
    serviceAccount: string;
    audiences: string[];
    expirationSeconds?: number;
  };

const API_VERSIONS: readonly string[] = EXEC_CREDENTIAL_VERSIONS;

/** Check the flags without touching anything; messages name the flag. */
export function validateExecCredential(options: ExecCredentialOptions): ExecCredentialRequest {
  if (options.clear) {
    if (options.serviceAccount || options.audience.length || options.duration) {
      throw new UsageError("Flag --clear cannot be combined with other exec-credential flags");
    }
    return { clear: true };
  }
  if (!options.serviceAccount) {
    throw new UsageError("Flag --service-account is required (NAMESPACE/NAME)");
  }
  const sa = options.serviceAccount;
  if (!isServiceAccountArg(sa)) {
    throw new UsageError(
      `Invalid value "${sa}" for flag --service-account: expected NAMESPACE/NAME`,
    );
  }
  const expirationSeconds = parseExpirationFlag(options.duration);
  checkAudiences(options.audience);
  return { clear: false, serviceAccount: sa, audiences: options.audience, expirationSeconds };
}

/** The apiVersion client-go asked for in KUBERNETES_EXEC_INFO (v1 when absent). */
export function requestedApiVersion(execInfo: string | undefined): string {
  if (!execInfo) return API_VERSIONS[0];
  let parsed: unknown;
  try {
    parsed = JSON.parse(execInfo);
  } catch {
    throw new CliError("Cannot read KUBERNETES_EXEC_INFO: it is not JSON");
  }
  const version = (parsed as { apiVersion?: unknown })?.apiVersion;
  if (typeof version !== "string" || !API_VERSIONS.includes(version)) {
    throw new CliError(
      `Cannot answer KUBERNETES_EXEC_INFO: apiVersion "${String(version)}" is not one of ` +
        API_VERSIONS.join(", "),
    );
  }
  return version;
}

/** Print an ExecCredential for the service account; returns the exit code. */
export async function runExecCredential(
  ctx: CommandContext,
  options: ExecCredentialOptions,
): Promise<number> {
  const request = validateExecCredential(options);
  const runtime = ctx.runtime;
  const dir = cacheDir(runtime);
  if (request.clear) {
    if (!dir) throw new CliError("Cannot find the token cache: set KUBECACHEDIR or HOME");
    const n = await clearCache(runtime, dir);
    runtime.stderr.write(`Removed ${n} cached token${n === 1 ? "" : "s"} from "${dir}"\n`);
    return 0;
  }
  const apiVersion = requestedApiVersion(runtime.env("KUBERNETES_EXEC_INFO"));
  const print = (token: CachedToken) => {
    const credential = execCredential(token.token, { expiresAt: token.expiresAt, apiVersion });
    runtime.stdout.write(JSON.stringify(credential) + "\n");
    return 0;
  };
  // A folder that is not the user's own is refused before anything in it is read.
  const cacheExists = dir ? await checkCacheDir(runtime, dir) : false;
  const why = (reason: string, level: 1 | 6 = 1) => ctx.log(level, `token cache: ${reason}`);
  // The hot path: kubectl runs this on every call. Find the cache entry without reading the
  // kubeconfig when nothing that selects it has changed since the last call.
  const shortcut = dir ? await shortcutKey(runtime, ctx.flags, request) : undefined;
  if (dir && cacheExists && shortcut) {
    const known = await readShortcut(runtime, dir, shortcut, why);
    const cached = known ? await readCachedToken(runtime, dir, known, runtime.now()) : undefined;
    if (cached) {
      ctx.log(6, "token cache: hit (shortcut)");
      return print(cached);
    }
  }
  const config = await ctx.config();
  if (
    config.auth.kind === "exec" && config.auth.exec.args?.[0] === "exec-credential" &&
    /kubectl-token/.test(config.auth.exec.command)
  ) {
    throw new CliError(
      `Cannot get credentials: user "${config.userName ?? ""}" itself runs ` +
        `"kubectl-token exec-credential"; pass the --context of a user with its own credentials`,
    );
  }
  const sa = request.serviceAccount.includes("/")
    ? request.serviceAccount
    : `${config.namespace}/${request.serviceAccount}`;
  const key = await cacheKey({
    server: config.server,
    cluster: config.clusterName,
    userFile: config.origin.userFile,
    user: config.userName ?? config.origin.kind,
    serviceAccount: sa,
    audiences: request.audiences,
    durationSeconds: request.expirationSeconds,
  });
  let token: CachedToken | undefined;
  if (dir && cacheExists) token = await readCachedToken(runtime, dir, key, runtime.now(), why);
  if (token) ctx.log(6, "token cache: hit");
  else token = await fetchAndCache(ctx, dir, key, sa, request, why);
  if (dir && shortcut) {
    // Best effort: without it the next call only takes the longer way.
    await writeShortcut(runtime, dir, shortcut, key).catch((e) =>
      why(`cannot write the shortcut: ${(e as Error).message}`, 6)
    );
  }
  return print(token);
}

/** A cache miss: one process at a time asks the server, the others wait and read its answer. */
async function fetchAndCache(
  ctx: CommandContext,
  dir: string | undefined,
  key: string,
  sa: string,
  request: Extract<ExecCredentialRequest, { clear: false }>,
  why: (reason: string, level?: 1 | 6) => void,
): Promise<CachedToken> {
  const runtime = ctx.runtime;
  if (!dir) {
    ctx.log(6, "token cache: no folder (KUBECACHEDIR and HOME unset); not caching");
    return await fetchToken(ctx, sa, request);
  }
  await ensureCacheDir(runtime, dir);
  // An OS lock: parallel calls queue here, and a killed holder's lock dies with it.
  const release = await lockEntry(runtime, dir, `${key}.json`);
  try {
    // Another process may have written it between our read and our lock.
    const again = await readCachedToken(runtime, dir, key, runtime.now(), why);
    if (again) {
      ctx.log(6, "token cache: filled by a parallel call");
      return again;
    }
    const token = await fetchToken(ctx, sa, request);
    // The token is good either way; an entry path we cannot replace (a folder) costs a request
    // per call, not the call.
    await writeCachedToken(runtime, dir, key, token.token, token.expiresAt).catch((e) =>
      why(`cannot store the token: ${(e as Error)?.message ?? e}`)
    );
    return token;
  } finally {
    release();
  }
}

async function fetchToken(
  ctx: CommandContext,
  sa: string,
  request: Extract<ExecCredentialRequest, { clear: false }>,
): Promise<CachedToken> {
  const [{ requestToken }, { refreshTime, jwtTimes }] = await Promise.all([
    import("./_token_request.ts"),
    import("../tokencache/cache.ts"),
  ]);
  const [namespace, name] = sa.split("/");
  const issued = await requestToken(await ctx.client(), { namespace, name }, {
    audiences: request.audiences,
    expirationSeconds: request.expirationSeconds,
  });
  for (const w of issued.warnings) ctx.warn(w);
  const claims = jwtTimes(issued.token);
  const expiresAt = claims ? new Date(claims.exp * 1000) : issued.expiresAt;
  if (!expiresAt) {
    throw new CliError(
      `Cannot use the token for service account "${sa}": it has no expiry to cache by`,
    );
  }
  return { token: issued.token, expiresAt, refreshAt: refreshTime(claims, expiresAt) };
}
