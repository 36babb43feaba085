/**
 * Helpers shared by the POSIX and Windows path rules, ported from Node.js's `lib/path.js`
 * (MIT License, Copyright Joyent, Inc. and other Node contributors; see
 * https://github.com/nodejs/node/blob/main/lib/path.js). Kept apart from node:path because
 * loading any `node:*` module starts Deno's Node compatibility layer (about 9 ms, issue #12).
 */

/** `.` */
export const DOT = 46;
/** `/` */
export const SLASH = 47;
/** `\` */
export const BACKSLASH = 92;
/** `:` */
export const COLON = 58;

/** Whether `code` is `/` (the only separator on POSIX). */
export function isPosixSeparator(code: number): boolean {
  return code === SLASH;
}

/** Whether `code` is `/` or `\` (both separate on Windows). */
export function isWindowsSeparator(code: number): boolean {
  return code === SLASH || code === BACKSLASH;
}

/**
 * Resolve `.` and `..` segments and collapse repeated separators of a path without its root
 * (Node's `normalizeString`); `..` above the start is kept only when `allowAboveRoot`.
 */
export function normalizeString(
  path: string,
  allowAboveRoot: boolean,
  separator: string,
  isSeparator: (code: number) => boolean,
): string {
  let res = "";
  let lastSegmentLength = 0;
  let lastSlash = -1;
  let dots = 0;
  let code = 0;
  for (let i = 0; i <= path.length; ++i) {
    if (i < path.length) code = path.charCodeAt(i);
    else if (isSeparator(code)) break;
    else code = SLASH;
    if (isSeparator(code)) {
      if (lastSlash === i - 1 || dots === 1) {
        // An empty segment or ".": nothing to add.
      } else if (dots === 2) {
        if (
          res.length < 2 || lastSegmentLength !== 2 ||
          res.charCodeAt(res.length - 1) !== DOT || res.charCodeAt(res.length - 2) !== DOT
        ) {
          if (res.length > 2) {
            const lastSlashIndex = res.lastIndexOf(separator);
            if (lastSlashIndex === -1) {
              res = "";
              lastSegmentLength = 0;
            } else {
              res = res.slice(0, lastSlashIndex);
              lastSegmentLength = res.length - 1 - res.lastIndexOf(separator);
            }
            lastSlash = i;
            dots = 0;
            continue;
          } else if (res.length !== 0) {
            res = "";
            lastSegmentLength = 0;
            lastSlash = i;
            dots = 0;
            continue;
          }
        }
        if (allowAboveRoot) {
          res += res.length > 0 ? `${separator}..` : "..";
          lastSegmentLength = 2;
        }
      } else {
        if (res.length > 0) res += `${separator}${path.slice(lastSlash + 1, i)}`;
        else res = path.slice(lastSlash + 1, i);
        lastSegmentLength = i - lastSlash - 1;
      }
      lastSlash = i;
      dots = 0;
    } else if (code === DOT && dots !== -1) {
      ++dots;
    } else {
      dots = -1;
    }
  }
  return res;
}

/**
 * The last segment of `path` (Node's `basename` without a suffix): trailing separators are
 * ignored, and the scan stops at `start` (after a Windows drive letter).
 */
export function lastSegment(
  path: string,
  start: number,
  isSeparator: (code: number) => boolean,
): string {
  let end = -1;
  let matchedSlash = true;
  for (let i = path.length - 1; i >= start; --i) {
    if (isSeparator(path.charCodeAt(i))) {
      // A separator that is not part of the trailing run ends the segment.
      if (!matchedSlash) {
        start = i + 1;
        break;
      }
    } else if (end === -1) {
      matchedSlash = false;
      end = i + 1;
    }
  }
  return end === -1 ? "" : path.slice(start, end);
}
