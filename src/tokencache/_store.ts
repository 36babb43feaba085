/**
 * The token cache's files, guarded the way kubelogin and client-go guard theirs: the folder is
 * the user's own (a real folder, owned by them, writable by nobody else), or the program refuses
 * it and says what to fix; entries are read only when they are regular files owned by the user
 * with mode 0600, checked before opening (no symlink is followed) and again on the open file;
 * entries are replaced by renaming a fresh 0600 temp file over them, so a planted symlink is
 * replaced rather than followed; and one process at a time fills an entry, under an OS lock that
 * the kernel drops when its holder dies.
 *
 * Not `src/fs/atomic.ts`: that keeps a kubeconfig's mode and follows its symlinks, which is right
 * for a user's file and wrong for a token store. Not `src/fs/lock.ts`: kubectl must see a
 * kubeconfig's lock file, but a lock file that outlives a killed process would stall every
 * kubectl call that needs a token.
 */
import { CliError } from "../errors.ts";
import type { FileInfo, Runtime } from "../runtime.ts";
import { runtimePath } from "../path/platform.ts";

/**
 * Whether the cache folder exists (false: not yet); throws when it is not the user's own. The
 * folder itself is checked without following a symlink; the folders above it are the user's
 * choice (KUBECACHEDIR) and may be links.
 */
export async function checkCacheDir(runtime: Runtime, dir: string): Promise<boolean> {
  let info: FileInfo;
  try {
    info = await runtime.stat(dir, { follow: false });
  } catch (e) {
    if ((e as Error)?.name === "NotFound") return false;
    throw new CliError(`Cannot use the token cache "${dir}": ${(e as Error)?.message ?? e}`);
  }
  const refuse = (detail: string) => {
    throw new CliError(`Cannot use the token cache "${dir}": ${detail}`);
  };
  if (info.isSymlink) refuse("it is a symbolic link; remove it or choose another KUBECACHEDIR");
  if (!info.isDirectory) refuse("it is not a folder; remove it or choose another KUBECACHEDIR");
  const uid = runtime.uid();
  if (uid !== null && info.uid !== null && info.uid !== uid) {
    refuse(`it belongs to user ${info.uid}, not to you (${uid}); choose another KUBECACHEDIR`);
  }
  if (info.mode !== null && (info.mode & 0o022) !== 0) {
    refuse(
      `it is writable by ${(info.mode & 0o002) ? "others" : "its group"} (mode ` +
        `${octal(info.mode)}); run "chmod 700 ${dir}" or choose another KUBECACHEDIR`,
    );
  }
  return true;
}

/** Create the cache folder (0700) when missing, then check it as {@link checkCacheDir} does. */
export async function ensureCacheDir(runtime: Runtime, dir: string): Promise<void> {
  if (await checkCacheDir(runtime, dir)) return;
  await runtime.mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir succeeds on anything already there by then, a symlink to a folder included.
  if (!await checkCacheDir(runtime, dir)) {
    throw new CliError(`Cannot create the token cache "${dir}": it vanished after mkdir`);
  }
}

/** Why an entry (or lock file) is not ours to trust, or undefined when it is. */
function problem(info: FileInfo, uid: number | null): string | undefined {
  if (info.isSymlink) return "it is a symbolic link";
  if (!info.isFile) return "it is not a regular file";
  if (uid !== null && info.uid !== null && info.uid !== uid) {
    return `it belongs to user ${info.uid}, not to you (${uid})`;
  }
  if (info.mode !== null && (info.mode & 0o777) !== 0o600) {
    return `its mode is ${octal(info.mode)}, not 0600`;
  }
  return undefined;
}

/**
 * The text of entry `name` in `dir` when it is a regular file owned by the user with mode 0600;
 * undefined when it is missing, or (telling `ignored` why) anything else.
 */
export async function readEntry(
  runtime: Runtime,
  dir: string,
  name: string,
  ignored: (why: string) => void,
): Promise<string | undefined> {
  const path = runtimePath(runtime).join(dir, name);
  const skip = (why: string) => void ignored(`ignoring "${name}": ${why}`);
  let before: FileInfo;
  try {
    before = await runtime.stat(path, { follow: false });
  } catch (e) {
    if ((e as Error)?.name === "NotFound") return undefined;
    return skip(`it cannot be read: ${(e as Error)?.message ?? e}`);
  }
  const uid = runtime.uid();
  const wrong = problem(before, uid);
  if (wrong) return skip(wrong);
  let file;
  try {
    file = await runtime.open(path);
  } catch (e) {
    if ((e as Error)?.name === "NotFound") return undefined;
    return skip(`it cannot be read: ${(e as Error)?.message ?? e}`);
  }
  try {
    // Deno has no O_NOFOLLOW: what was opened must be what lstat saw.
    const after = await file.stat();
    if (after.ino !== before.ino || after.dev !== before.dev) {
      return skip("it was replaced while being opened");
    }
    const changed = problem(after, uid);
    if (changed) return skip(changed);
    return new TextDecoder().decode(await file.readAll());
  } catch (e) {
    return skip(`it cannot be read: ${(e as Error)?.message ?? e}`);
  } finally {
    file.close();
  }
}

/**
 * Replace entry `name` in `dir` with `text`: a new 0600 temp file in the folder, synced, renamed
 * over the entry. The entry's path is never opened, so whatever is there (a symlink included)
 * is replaced, not written through.
 */
export async function writeEntry(
  runtime: Runtime,
  dir: string,
  name: string,
  text: string,
): Promise<void> {
  const { join } = runtimePath(runtime);
  const temp = join(dir, `.${name}.tmp-${randomHex(6)}`);
  await runtime.writeFile(temp, text, { createNew: true, mode: 0o600, sync: true });
  try {
    // A umask such as 0277 narrows the mode; our own reads want exactly 0600.
    await runtime.chmod(temp, 0o600);
    await runtime.rename(temp, join(dir, name));
  } catch (e) {
    await runtime.remove(temp).catch(() => {});
    throw e;
  }
  await runtime.syncDir(dir);
}

/**
 * Take the OS lock of entry `name` (on `<name>.lock`, a 0600 file kept in the folder), waiting
 * while another process holds it; returns the release. A killed holder's lock is gone at once.
 * A lock file that fails the entry checks (a symlink, say) is removed and made anew.
 */
export async function lockEntry(
  runtime: Runtime,
  dir: string,
  name: string,
): Promise<() => void> {
  const path = runtimePath(runtime).join(dir, `${name}.lock`);
  const uid = runtime.uid();
  const fail = (detail: string): never => {
    throw new CliError(`Cannot lock the token cache entry "${path}": ${detail}`);
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    let file;
    try {
      file = await runtime.open(path, { createNew: true, mode: 0o600 });
    } catch (e) {
      if ((e as Error)?.name !== "AlreadyExists") fail((e as Error)?.message ?? String(e));
    }
    if (!file) {
      let before: FileInfo;
      try {
        before = await runtime.stat(path, { follow: false });
      } catch (e) {
        if ((e as Error)?.name === "NotFound") continue;
        return fail((e as Error)?.message ?? String(e));
      }
      if (problem(before, uid)) {
        // Lock files of older versions (mode 0) land here too.
        await runtime.remove(path).catch(() => {});
        continue;
      }
      try {
        file = await runtime.open(path, { write: true });
      } catch (e) {
        if ((e as Error)?.name === "NotFound") continue;
        return fail((e as Error)?.message ?? String(e));
      }
      const after = await file.stat();
      if (after.ino !== before.ino || after.dev !== before.dev) {
        file.close();
        continue;
      }
    }
    try {
      await file.lock();
    } catch (e) {
      file.close();
      fail((e as Error)?.message ?? String(e));
    }
    // `--clear` may have removed the file while we waited: a lock on it excludes nobody.
    const held = await file.stat();
    const now = await runtime.stat(path, { follow: false }).catch(() => undefined);
    if (now?.ino !== held.ino || now?.dev !== held.dev) {
      file.close();
      continue;
    }
    return () => file.close();
  }
  return fail("it keeps being replaced by another process");
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
}

function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
