/**
 * The exec-credential cache's shortcut. The cache key names the cluster and user that the
 * kubeconfig resolves to, so finding it means parsing kubeconfig files: most of a cache hit's
 * cost. The shortcut key is computed without reading them: the request as given, the
 * environment that selects the configuration, and the identity (size, modification time,
 * inode) of every kubeconfig file kubectl would consider. It names a small entry, written on
 * the slow path, that holds the real cache key. Any change to a kubeconfig file changes the
 * shortcut, so the slow path resolves the configuration again.
 */
import type { ConnectionFlags } from "../kubeconfig/types.ts";
import type { Runtime } from "../runtime.ts";
import { kubeconfigCandidates } from "../kubeconfig/candidates.ts";
import { readEntry, writeEntry } from "./_store.ts";

const KIND = "CachedTokenShortcut";
const API_VERSION = "kubectl-token.dev/v1alpha1";

/** File names of shortcut entries (for clearing the cache). */
export const SHORTCUT_FILE_RE = /^shortcut-[0-9a-f]{64}\.json$/;

// Variables besides KUBECONFIG that change what kubectl connects to or as.
const ENVIRONMENT = ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "POD_NAMESPACE"];

/** The shortcut key for a request with these flags, in this environment. */
export async function shortcutKey(
  runtime: Runtime,
  flags: ConnectionFlags,
  request: unknown,
): Promise<string> {
  const files: unknown[] = [];
  for (const path of kubeconfigCandidates(runtime, flags).paths) {
    try {
      const info = await runtime.stat(path);
      files.push([path, info.size, info.mtime?.getTime() ?? null, info.ino]);
    } catch {
      files.push([path, null]);
    }
  }
  const canonical = JSON.stringify([
    "v1",
    runtime.cwd(),
    flags,
    request,
    ENVIRONMENT.map((name) => runtime.env(name) ?? null),
    files,
  ]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function shortcutName(shortcut: string): string {
  return `shortcut-${shortcut}.json`;
}

/**
 * The cache key a shortcut names, when its entry is ours (a regular 0600 file of the user's,
 * as `_store.ts` checks); `ignored` hears why an entry that is there was skipped.
 */
export async function readShortcut(
  runtime: Runtime,
  dir: string,
  shortcut: string,
  ignored: (why: string) => void = () => {},
): Promise<string | undefined> {
  const text = await readEntry(runtime, dir, shortcutName(shortcut), ignored);
  if (text === undefined) return undefined;
  try {
    const entry = JSON.parse(text);
    if (
      entry?.kind === KIND && entry.apiVersion === API_VERSION &&
      typeof entry.key === "string" && /^[0-9a-f]{64}$/.test(entry.key)
    ) return entry.key;
  } catch {
    // Reported below like any other entry that is not ours.
  }
  return void ignored(`ignoring "${shortcutName(shortcut)}": it is not a shortcut entry`);
}

/** Record that `shortcut` leads to the cache key `key` (a 0600 temp file renamed over it). */
export async function writeShortcut(
  runtime: Runtime,
  dir: string,
  shortcut: string,
  key: string,
): Promise<void> {
  const entry = { apiVersion: API_VERSION, kind: KIND, key };
  await writeEntry(runtime, dir, shortcutName(shortcut), JSON.stringify(entry) + "\n");
}
