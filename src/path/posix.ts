/**
 * POSIX path rules (`/` only), ported from Node.js's `path.posix` in `lib/path.js` (MIT
 * License, Copyright Joyent, Inc. and other Node contributors). Same results as Node for the
 * functions here; `resolve` takes the current directory as an argument instead of reading it.
 */

import { isPosixSeparator, lastSegment, normalizeString, SLASH } from "./_common.ts";

/**
 * Node's `path.posix.resolve(cwd, ...segments)`: the segments from the right up to the first
 * absolute one, normalized. `cwd` stands for the current directory and must be absolute (it
 * throws otherwise), so the process's own is never read.
 */
export function resolve(cwd: string, ...segments: string[]): string {
  if (!isAbsolute(cwd)) {
    throw new TypeError(`Cannot resolve a path against "${cwd}": it is not absolute`);
  }
  let resolvedPath = "";
  let resolvedAbsolute = false;
  // The absolute cwd ends the loop at the latest: Node's fallback to process.cwd() is unreachable.
  for (let i = segments.length - 1; i >= -1 && !resolvedAbsolute; i--) {
    const path = i >= 0 ? segments[i] : cwd;
    if (path.length === 0) continue;
    resolvedPath = `${path}/${resolvedPath}`;
    resolvedAbsolute = path.charCodeAt(0) === SLASH;
  }
  return `/${normalizeString(resolvedPath, false, "/", isPosixSeparator)}`;
}

/** Node's `path.posix.normalize`: `.` and `..` resolved, separators collapsed. */
export function normalize(path: string): string {
  if (path.length === 0) return ".";
  const absolute = path.charCodeAt(0) === SLASH;
  const trailingSeparator = path.charCodeAt(path.length - 1) === SLASH;
  let normalized = normalizeString(path, !absolute, "/", isPosixSeparator);
  if (normalized.length === 0) {
    if (absolute) return "/";
    return trailingSeparator ? "./" : ".";
  }
  if (trailingSeparator) normalized += "/";
  return absolute ? `/${normalized}` : normalized;
}

/** Node's `path.posix.isAbsolute`: whether `path` starts with `/`. */
export function isAbsolute(path: string): boolean {
  return path.length > 0 && path.charCodeAt(0) === SLASH;
}

/** Node's `path.posix.join`: the non-empty segments joined with `/`, normalized. */
export function join(...segments: string[]): string {
  const parts = segments.filter((s) => s.length > 0);
  return parts.length === 0 ? "." : normalize(parts.join("/"));
}

/** Node's `path.posix.dirname`: `path` without its last segment and trailing separators. */
export function dirname(path: string): string {
  if (path.length === 0) return ".";
  const hasRoot = path.charCodeAt(0) === SLASH;
  let end = -1;
  let matchedSlash = true;
  for (let i = path.length - 1; i >= 1; --i) {
    if (path.charCodeAt(i) === SLASH) {
      if (!matchedSlash) {
        end = i;
        break;
      }
    } else {
      matchedSlash = false;
    }
  }
  if (end === -1) return hasRoot ? "/" : ".";
  if (hasRoot && end === 1) return "//";
  return path.slice(0, end);
}

/** Node's `path.posix.basename(path)` (no suffix): the last segment. */
export function basename(path: string): string {
  return lastSegment(path, 0, isPosixSeparator);
}
