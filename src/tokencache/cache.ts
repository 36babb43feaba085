/**
 * The exec-credential token cache: one JSON file per (cluster, user, service account,
 * audiences, duration), in a 0700 folder, each file 0600. This module is on the hot path of
 * every kubectl call through `exec-credential`, so it imports nothing heavy: no YAML, no HTTP,
 * no Kubernetes client.
 */
import { join } from "node:path";
import type { Runtime } from "../runtime.ts";
import { writeFileAtomic } from "../fs/atomic.ts";
import { SHORTCUT_FILE_RE } from "./shortcut.ts";

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

/** The file of one key. */
export function cacheFile(dir: string, key: string): string {
  return join(dir, `${key}.json`);
}

/**
 * The cached token for `key` when the file is ours, well-formed and still fresh; undefined
 * otherwise. A file that is not exactly what we write (other permissions, another key, a token
 * whose claims disagree) is never trusted. `reason` hears why an entry was skipped.
 */
export async function readCachedToken(
  runtime: Runtime,
  dir: string,
  key: string,
  now: Date,
  reason: (why: string) => void = () => {},
): Promise<CachedToken | undefined> {
  const file = cacheFile(dir, key);
  let text: string;
  try {
    const info = await runtime.stat(file, { follow: false });
    if (!info.isFile) return void reason("the cache entry is not a regular file");
    if (info.mode !== null && (info.mode & 0o077) !== 0) {
      return void reason("the cache entry is readable by others");
    }
    text = await runtime.readTextFile(file);
  } catch (e) {
    if ((e as Error)?.name !== "NotFound") reason("the cache entry cannot be read");
    return undefined;
  }
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(text);
  } catch {
    return void reason("the cache entry is not JSON");
  }
  if (
    typeof entry !== "object" || entry === null || entry.kind !== KIND ||
    entry.apiVersion !== API_VERSION || entry.key !== key || typeof entry.token !== "string"
  ) return void reason("the cache entry is not ours");
  const claims = jwtTimes(entry.token);
  const expiresAt = new Date(String(entry.expirationTimestamp));
  if (!claims || claims.exp !== Math.floor(expiresAt.getTime() / 1000)) {
    return void reason("the cached token does not match its entry");
  }
  const refreshAt = refreshTime(claims, expiresAt);
  if (now.getTime() >= refreshAt.getTime()) {
    return void reason("the cached token is due for renewal");
  }
  return { token: entry.token, expiresAt, refreshAt };
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
  await writeFileAtomic(runtime, cacheFile(dir, key), JSON.stringify(entry) + "\n", {
    forceMode: 0o600,
  });
}

/** Create the cache folder (0700). */
export async function ensureCacheDir(runtime: Runtime, dir: string): Promise<void> {
  await runtime.mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing folder's mode alone, and the umask may have widened nothing but
  // a folder made by an older version could be wider: tokens live here.
  await runtime.chmod(dir, 0o700).catch(() => {});
}

/** Remove every cache entry (and left-over locks and temp files); returns how many tokens. */
export async function clearCache(runtime: Runtime, dir: string): Promise<number> {
  let names: string[];
  try {
    names = await runtime.readDir(dir);
  } catch (e) {
    if ((e as Error)?.name === "NotFound") return 0;
    throw e;
  }
  let removed = 0;
  for (const name of names) {
    const ours = FILE_RE.test(name) || /^[0-9a-f]{64}\.json\.lock$/.test(name) ||
      /^\.[0-9a-f]{64}\.json\.tmp-/.test(name) || SHORTCUT_FILE_RE.test(name) ||
      /^\.shortcut-[0-9a-f]{64}\.json\.tmp-/.test(name);
    if (!ours) continue;
    await runtime.remove(join(dir, name)).catch(() => {});
    if (FILE_RE.test(name)) removed++;
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
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(
      Uint8Array.from(atob(b64 + "=".repeat((4 - b64.length % 4) % 4)), (c) => c.charCodeAt(0)),
    );
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
