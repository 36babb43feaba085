/** The path rules of the platform the program runs on, without node:path (see `_common.ts`). */

import * as posix from "./posix.ts";
import * as windows from "./windows.ts";

/** The path functions of one platform, each with Node's `path.posix` or `path.win32` results. */
export interface PathApi {
  /**
   * Node's `resolve(cwd, ...segments)` with `cwd` as the current directory: it must be
   * absolute (else this throws), and the process's own is never read.
   */
  resolve(cwd: string, ...segments: string[]): string;
  /** The non-empty segments joined with the separator, normalized. */
  join(...segments: string[]): string;
  /** `path` without its last segment. */
  dirname(path: string): string;
  /** The last segment of `path`. */
  basename(path: string): string;
  /** Whether `path` is absolute (on Windows: rooted, with or without a drive). */
  isAbsolute(path: string): boolean;
}

/** Whether the runtime runs on Windows (KUBECONFIG then splits on `;` and paths use `\`). */
export function isWindows(runtime: object): boolean {
  // Read defensively: `platform` is a recent addition to Runtime and tests may pass partial ones.
  const platform = (runtime as { platform?: { os?: string } }).platform;
  return platform?.os === "windows";
}

/** The Windows rules on Windows, else the POSIX ones. */
export function pathApi(windowsRules: boolean): PathApi {
  return windowsRules ? windows : posix;
}

/** The rules of the platform `runtime` runs on: what node:path's default export would use. */
export function runtimePath(runtime: object): PathApi {
  return pathApi(isWindows(runtime));
}
