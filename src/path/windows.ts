/**
 * Windows path rules (`\` and `/`, drive letters, UNC roots), ported from Node.js's
 * `path.win32` in `lib/path.js` (MIT License, Copyright Joyent, Inc. and other Node
 * contributors), with the two additions of Deno's port of it, whose node:path this replaces
 * (`ext/node/polyfills/path/_win32.ts`, MIT License, Copyright the Deno authors): reserved
 * device names after a `\\?\` root and in join(). `resolve` takes the current directory as
 * an argument instead of reading it.
 */

import {
  BACKSLASH,
  COLON,
  isPosixSeparator,
  isWindowsSeparator as isSep,
  lastSegment,
  normalizeString,
} from "./_common.ts";

const RESERVED_NAMES = new Set([
  "CON",
  "PRN",
  "AUX",
  "NUL",
  "COM1",
  "COM2",
  "COM3",
  "COM4",
  "COM5",
  "COM6",
  "COM7",
  "COM8",
  "COM9",
  "LPT1",
  "LPT2",
  "LPT3",
  "LPT4",
  "LPT5",
  "LPT6",
  "LPT7",
  "LPT8",
  "LPT9",
  "COM\xb9",
  "COM\xb2",
  "COM\xb3",
  "LPT\xb9",
  "LPT\xb2",
  "LPT\xb3",
]);

function isReservedName(path: string, colonIndex: number): boolean {
  return RESERVED_NAMES.has(path.slice(0, colonIndex).toUpperCase());
}

function isDriveLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/**
 * Node's `path.win32.resolve(cwd, ...segments)` in a process whose current directory is
 * `cwd`, which must be absolute (it throws otherwise), so that nothing is read from the
 * process. Where Node looks up a drive's own current directory (`D:x` while `cwd` is on
 * `C:`), it reads the hidden `=D:` variable, which Deno cannot read (`Deno.env` rejects names
 * with `=`), so Node under Deno, and this function, fall back to `cwd`: the drive's root.
 */
export function resolve(cwd: string, ...segments: string[]): string {
  if (!isAbsolute(cwd)) {
    throw new TypeError(`Cannot resolve a path against "${cwd}": it is not absolute`);
  }
  const args = [cwd, ...segments];
  let resolvedDevice = "";
  let resolvedTail = "";
  let resolvedAbsolute = false;
  for (let i = args.length - 1; i >= -1; i--) {
    let path: string;
    if (i >= 0) {
      path = args[i];
      if (path.length === 0) continue;
    } else if (resolvedDevice.length === 0) {
      path = cwd;
    } else {
      path = cwd;
      // Node keeps a drive cwd only when it is on that drive; else the drive's root.
      if (
        path.slice(0, 2).toLowerCase() !== resolvedDevice.toLowerCase() &&
        path.charCodeAt(2) === BACKSLASH
      ) {
        path = `${resolvedDevice}\\`;
      }
    }

    const len = path.length;
    let rootEnd = 0;
    let device = "";
    let absolute = false;
    const code = path.charCodeAt(0);
    if (len === 1) {
      if (isSep(code)) {
        rootEnd = 1;
        absolute = true;
      }
    } else if (isSep(code)) {
      // A separator first: absolute, and maybe a UNC root `\\server\share`.
      absolute = true;
      if (isSep(path.charCodeAt(1))) {
        let j = 2;
        let last = j;
        while (j < len && !isSep(path.charCodeAt(j))) j++;
        if (j < len && j !== last) {
          const firstPart = path.slice(last, j);
          last = j;
          while (j < len && isSep(path.charCodeAt(j))) j++;
          if (j < len && j !== last) {
            last = j;
            while (j < len && !isSep(path.charCodeAt(j))) j++;
            if (j === len || j !== last) {
              if (firstPart !== "." && firstPart !== "?") {
                device = `\\\\${firstPart}\\${path.slice(last, j)}`;
                rootEnd = j;
              } else {
                // A device root such as \\.\PHYSICALDRIVE0.
                device = `\\\\${firstPart}`;
                rootEnd = 4;
              }
            }
          }
        }
      } else {
        rootEnd = 1;
      }
    } else if (isDriveLetter(code) && path.charCodeAt(1) === COLON) {
      device = path.slice(0, 2);
      rootEnd = 2;
      if (len > 2 && isSep(path.charCodeAt(2))) {
        absolute = true;
        rootEnd = 3;
      }
    }

    if (device.length > 0) {
      if (resolvedDevice.length > 0) {
        // A path on another device does not apply.
        if (device.toLowerCase() !== resolvedDevice.toLowerCase()) continue;
      } else {
        resolvedDevice = device;
      }
    }
    if (resolvedAbsolute) {
      if (resolvedDevice.length > 0) break;
    } else {
      resolvedTail = `${path.slice(rootEnd)}\\${resolvedTail}`;
      resolvedAbsolute = absolute;
      if (absolute && resolvedDevice.length > 0) break;
    }
  }

  resolvedTail = normalizeString(resolvedTail, !resolvedAbsolute, "\\", isSep);
  return resolvedAbsolute
    ? `${resolvedDevice}\\${resolvedTail}`
    : `${resolvedDevice}${resolvedTail}` || ".";
}

/** Node's `path.win32.normalize`: `.` and `..` resolved, separators made `\` and collapsed. */
export function normalize(path: string): string {
  const len = path.length;
  if (len === 0) return ".";
  let rootEnd = 0;
  let device: string | undefined;
  let absolute = false;
  const code = path.charCodeAt(0);
  if (len === 1) return isPosixSeparator(code) ? "\\" : path;
  if (isSep(code)) {
    // A separator first: absolute, and maybe a UNC root `\\server\share`.
    absolute = true;
    if (isSep(path.charCodeAt(1))) {
      let j = 2;
      let last = j;
      while (j < len && !isSep(path.charCodeAt(j))) j++;
      if (j < len && j !== last) {
        const firstPart = path.slice(last, j);
        last = j;
        while (j < len && isSep(path.charCodeAt(j))) j++;
        if (j < len && j !== last) {
          last = j;
          while (j < len && !isSep(path.charCodeAt(j))) j++;
          if (j === len || j !== last) {
            if (firstPart === "." || firstPart === "?") {
              // A device root such as \\.\PHYSICALDRIVE0.
              device = `\\\\${firstPart}`;
              rootEnd = 4;
              // Deno's addition: a reserved name after it (`\\?\COM1:`) joins the root.
              const name = path.slice(4, path.indexOf(":") + 1);
              if (isReservedName(name, name.length - 1)) {
                device = `\\\\?\\${name}`;
                rootEnd = 4 + name.length;
              }
            } else if (j === len) {
              // A UNC root and nothing more.
              return `\\\\${firstPart}\\${path.slice(last)}\\`;
            } else {
              device = `\\\\${firstPart}\\${path.slice(last, j)}`;
              rootEnd = j;
            }
          }
        }
      }
    } else {
      rootEnd = 1;
    }
  } else {
    const colonIndex = path.indexOf(":");
    if (colonIndex > 0) {
      if (isDriveLetter(code) && colonIndex === 1) {
        device = path.slice(0, 2);
        rootEnd = 2;
        if (len > 2 && isSep(path.charCodeAt(2))) {
          absolute = true;
          rootEnd = 3;
        }
      } else if (isReservedName(path, colonIndex)) {
        device = path.slice(0, colonIndex + 1);
        rootEnd = colonIndex + 1;
      }
    }
  }

  let tail = rootEnd < len ? normalizeString(path.slice(rootEnd), !absolute, "\\", isSep) : "";
  if (tail.length === 0 && !absolute) tail = ".";
  if (tail.length > 0 && isSep(path.charCodeAt(len - 1))) tail += "\\";
  if (!absolute && device === undefined && path.includes(":")) {
    // A relative path must not normalize into one that Windows reads as absolute
    // (CVE-2024-36139): `x/../c:y` stays relative as `.\c:y`.
    if (tail.length >= 2 && isDriveLetter(tail.charCodeAt(0)) && tail.charCodeAt(1) === COLON) {
      return `.\\${tail}`;
    }
    let index = path.indexOf(":");
    do {
      if (index === len - 1 || isSep(path.charCodeAt(index + 1))) return `.\\${tail}`;
    } while ((index = path.indexOf(":", index + 1)) !== -1);
  }
  if (isReservedName(path, path.indexOf(":"))) return `.\\${device ?? ""}${tail}`;
  if (device === undefined) return absolute ? `\\${tail}` : tail;
  return absolute ? `${device}\\${tail}` : `${device}${tail}`;
}

/** Node's `path.win32.isAbsolute`: a separator first, or a drive letter, `:` and a separator. */
export function isAbsolute(path: string): boolean {
  const len = path.length;
  if (len === 0) return false;
  const code = path.charCodeAt(0);
  return isSep(code) ||
    (len > 2 && isDriveLetter(code) && path.charCodeAt(1) === COLON && isSep(path.charCodeAt(2)));
}

/** Node's `path.win32.join`: the non-empty segments joined with `\`, normalized. */
export function join(...segments: string[]): string {
  const parts = segments.filter((s) => s.length > 0);
  if (parts.length === 0) return ".";
  let joined = parts.join("\\");
  const firstPart = parts[0];
  // A first segment of exactly two separators and a name (`//server`) is meant as a UNC path;
  // any other run of leading separators collapses into one, so that normalize() does not
  // mistake it for a UNC root.
  let needsReplace = true;
  let slashCount = 0;
  if (isSep(firstPart.charCodeAt(0))) {
    ++slashCount;
    const firstLen = firstPart.length;
    if (firstLen > 1 && isSep(firstPart.charCodeAt(1))) {
      ++slashCount;
      if (firstLen > 2) {
        if (isSep(firstPart.charCodeAt(2))) ++slashCount;
        else needsReplace = false;
      }
    }
  }
  if (needsReplace) {
    while (slashCount < joined.length && isSep(joined.charCodeAt(slashCount))) slashCount++;
    if (slashCount >= 2) joined = `\\${joined.slice(slashCount)}`;
  }
  // Deno's addition: with a reserved device name among the segments (`CON:`), `..` must not
  // resolve through it, so only `/` becomes `\`.
  if (hasReservedSegment(joined)) return joined.split("/").join("\\");
  return normalize(joined);
}

function hasReservedSegment(path: string): boolean {
  return path.split(/[\\/]/).some((segment) => {
    const colon = segment.indexOf(":");
    return colon !== -1 && isReservedName(segment, colon);
  });
}

/** Node's `path.win32.dirname`: `path` without its last segment, keeping drive and UNC roots. */
export function dirname(path: string): string {
  const len = path.length;
  if (len === 0) return ".";
  let rootEnd = -1;
  let offset = 0;
  const code = path.charCodeAt(0);
  if (len === 1) return isSep(code) ? path : ".";
  if (isSep(code)) {
    // A separator first, and maybe a UNC root `\\server\share`.
    rootEnd = offset = 1;
    if (isSep(path.charCodeAt(1))) {
      let j = 2;
      let last = j;
      while (j < len && !isSep(path.charCodeAt(j))) j++;
      if (j < len && j !== last) {
        last = j;
        while (j < len && isSep(path.charCodeAt(j))) j++;
        if (j < len && j !== last) {
          last = j;
          while (j < len && !isSep(path.charCodeAt(j))) j++;
          // A UNC root alone is its own dirname.
          if (j === len) return path;
          // The separator after a UNC root belongs to the root.
          if (j !== last) rootEnd = offset = j + 1;
        }
      }
    }
  } else if (isDriveLetter(code) && path.charCodeAt(1) === COLON) {
    rootEnd = len > 2 && isSep(path.charCodeAt(2)) ? 3 : 2;
    offset = rootEnd;
  }
  let end = -1;
  let matchedSlash = true;
  for (let i = len - 1; i >= offset; --i) {
    if (isSep(path.charCodeAt(i))) {
      if (!matchedSlash) {
        end = i;
        break;
      }
    } else {
      matchedSlash = false;
    }
  }
  if (end === -1) {
    if (rootEnd === -1) return ".";
    end = rootEnd;
  }
  return path.slice(0, end);
}

/** Node's `path.win32.basename(path)` (no suffix): the last segment, after any drive letter. */
export function basename(path: string): string {
  const drive = path.length >= 2 && isDriveLetter(path.charCodeAt(0)) &&
    path.charCodeAt(1) === COLON;
  return lastSegment(path, drive ? 2 : 0, isSep);
}
