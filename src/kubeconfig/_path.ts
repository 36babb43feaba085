/** Path rules of the platform kubectl runs on (Go's `path/filepath`), without touching the disk. */

import { pathApi } from "../path/platform.ts";

/** Like Go's `filepath.Join(base, p)` unless `p` is already absolute; empty stays empty. */
export function resolveAgainst(p: string, base: string, windows: boolean): string {
  if (p === "") return p;
  const api = pathApi(windows);
  return api.isAbsolute(p) ? p : api.join(base, p);
}
