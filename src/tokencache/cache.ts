/**
 * The exec-credential token cache: one JSON file per (cluster, user, service account,
 * audiences, duration), in a 0700 folder of the user's own, each file 0600 (the rules are in
 * `_store.ts`). This module is on the hot path of every kubectl call through `exec-credential`,
 * so it imports nothing heavy: no YAML, no HTTP, no Kubernetes client.
 */
import type { Runtime } from "../runtime.ts";
import { runtimePath } from "../path/platform.ts";
import { checkCacheDir, readEntry, writeEntry } from "./_store.ts";
import { SHORTCUT_FILE_RE } from "./shortcut.ts";
import { decodeBase64Url } from "../encoding/base64.ts";

export { checkCacheDir, ensureCacheDir, lockEntry } from "./_store.ts";

/** What a cache entry is for; hashed into its file name. */
export interface CacheKeyParts {
  server: string;
  cluster?: string;
  /** The kubeconfig file that defines the user, and the user's name. */
  userFile?: string;
  user?: string;
  serviceAccount: string;
  audiences: string[];
  durationSeconds?: number;
}

/** A usable cached token. */
export interface CachedToken {
  token: string;
  expiresAt: Date;
  /** After this the token is replaced: 80% of its lifetime, or its `warnafter`. */
  refreshAt: Date;
}

const KIND = "CachedToken";
const API_VERSION = "kubectl-token.dev/v1alpha1";
const FILE_RE = /^[0-9a-f]{64}\.json$/;

/** The cache folder: `$KUBECACHEDIR/kubectl-token`, else `~/.kube/cache/kubectl-token`. */
export function cacheDir(runtime: Runtime): string | undefined {
  const { join } = runtimePath(runtime);
  const base = runtime.env("KUBECACHEDIR") ||
    (runtime.homeDir() ? join(runtime.homeDir()!, ".kube", "cache") : undefined);
  return base ? join(base, "kubectl-token") : undefined;
}

/** The hex SHA-256 of the key parts (audiences sorted: their order does not matter). */
export async function cacheKey(parts: CacheKeyParts): Promise<string> {
  const canonical = JSON.stringify([
    "v1",
    parts.server,
    parts.cluster ?? "",
    parts.userFile ?? "",
    parts.user ?? "",
    parts.serviceAccount,
    [...parts.audiences].sort(),
    parts.durationSeconds ?? 0,
  ]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The cached token for `key` when the file is ours, well-formed and still fresh at `now`;
 * undefined otherwise. A file that is not exactly what we write (not a regular file of ours
 * with mode 0600, another key, a token whose claims disagree) is never trusted. `reason` hears
 * why an entry was skipped: level 1 for an entry that should not be there, 6 for one that is
 * merely due for renewal.
 */
export async function readCachedToken(
  runtime: Runtime,
  dir: string,
  key: string,
  now: Date,
  reason: (why: string, level: 1 | 6) => void = () => {},
): Promise<CachedToken | undefined> {
  const text = await readEntry(runtime, dir, `${key}.json`, (why) => reason(why, 1));
  if (text === undefined) return undefined;
  const entry = parseEntry(text, key);
  if (typeof entry === "string") return void reason(entry, 1);
  const refreshAt = refreshTime(entry.claims, entry.expiresAt);
  if (now.getTime() >= refreshAt.getTime()) {
    return void reason("the cached token is due for renewal", 6);
  }
  return { token: entry.token, expiresAt: entry.expiresAt, refreshAt };
}

/** The token, expiry and times of an entry's text, or why it is not a good entry for `key`. */
function parseEntry(
  text: string,
  key: string,
): { token: string; expiresAt: Date; claims: JwtTimes } | string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(text);
  } catch {
    return "the cache entry is not JSON";
  }
  if (
    typeof entry !== "object" || entry === null || entry.kind !== KIND ||
    entry.apiVersion !== API_VERSION || entry.key !== key || typeof entry.token !== "string"
  ) return "the cache entry is not ours";
  const claims = jwtTimes(entry.token);
  const expiresAt = new Date(String(entry.expirationTimestamp));
  if (!claims || claims.exp !== Math.floor(expiresAt.getTime() / 1000)) {
    return "the cached token does not match its entry";
  }
  return { token: entry.token, expiresAt, claims };
}

/** Store a token for `key` (atomically, mode 0600). */
export async function writeCachedToken(
  runtime: Runtime,
  dir: string,
  key: string,
  token: string,
  expiresAt: Date,
): Promise<void> {
  const entry = {
    apiVersion: API_VERSION,
    kind: KIND,
    key,
    expirationTimestamp: expiresAt.toISOString().replace(/\.\d{3}Z$/, "Z"),
    token,
  };
  await writeEntry(runtime, dir, `${key}.json`, JSON.stringify(entry) + "\n");
}

/**
 * Remove every cache entry (and locks and left-over temp files) from a folder that
 * {@link checkCacheDir} accepts; returns how many tokens. Only names the cache writes are
 * removed, each as the link or file it is: nothing outside the folder is touched.
 */
export async function clearCache(runtime: Runtime, dir: string): Promise<number> {
  if (!await checkCacheDir(runtime, dir)) return 0;
  let removed = 0;
  for (const name of await runtime.readDir(dir)) {
    const ours = FILE_RE.test(name) || /^[0-9a-f]{64}\.json\.lock$/.test(name) ||
      /^\.[0-9a-f]{64}\.json\.tmp-/.test(name) || SHORTCUT_FILE_RE.test(name) ||
      /^\.shortcut-[0-9a-f]{64}\.json\.tmp-/.test(name);
    if (!ours) continue;
    const path = runtimePath(runtime).join(dir, name);
    const info = await runtime.stat(path, { follow: false }).catch(() => undefined);
    // remove() takes a symlink itself, never its target; a folder is left alone.
    if (!info || info.isDirectory) continue;
    await runtime.remove(path).catch(() => {});
    if (FILE_RE.test(name) && info.isFile) removed++;
  }
  return removed;
}

interface JwtTimes {
  iat?: number;
  exp: number;
  warnafter?: number;
}

/** When a token should be replaced: 80% into its lifetime, or at `warnafter` if earlier. */
export function refreshTime(claims: JwtTimes | undefined, expiresAt: Date): Date {
  const exp = expiresAt.getTime();
  let at = exp - 60_000;
  if (claims?.iat !== undefined && claims.iat * 1000 < exp) {
    at = Math.min(at, claims.iat * 1000 + 0.8 * (exp - claims.iat * 1000));
  }
  if (claims?.warnafter !== undefined) at = Math.min(at, claims.warnafter * 1000);
  return new Date(at);
}

/** `iat`, `exp` and `kubernetes.io.warnafter` of a JWT, without verifying it. */
export function jwtTimes(token: string): JwtTimes | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const json = new TextDecoder().decode(decodeBase64Url(parts[1]));
    const payload = JSON.parse(json);
    if (typeof payload?.exp !== "number") return undefined;
    const k8s = payload["kubernetes.io"];
    return {
      exp: payload.exp,
      iat: typeof payload.iat === "number" ? payload.iat : undefined,
      warnafter: typeof k8s?.warnafter === "number" ? k8s.warnafter : undefined,
    };
  } catch {
    return undefined;
  }
}
