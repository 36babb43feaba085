/** Path rules of the platform kubectl runs on (Go's `path/filepath`), without touching the disk. */

import path from "node:path";

/** The path functions for one platform. */
export type PathApi = typeof path.posix;

/** Whether the runtime runs on Windows (KUBECONFIG then splits on `;` and paths use `\`). */
export function isWindows(runtime: object): boolean {
  // Read defensively: `platform` is a recent addition to Runtime and tests may pass partial ones.
  const platform = (runtime as { platform?: { os?: string } }).platform;
  return platform?.os === "windows";
}

/** `path.win32` on Windows, else `path.posix`. */
export function pathApi(windows: boolean): PathApi {
  return windows ? path.win32 : path.posix;
}

/** Like Go's `filepath.Join(base, p)` unless `p` is already absolute; empty stays empty. */
export function resolveAgainst(p: string, base: string, windows: boolean): string {
  if (p === "") return p;
  const api = pathApi(windows);
  return api.isAbsolute(p) ? p : api.join(base, p);
}
