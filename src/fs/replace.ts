/**
 * Replacing a user's file (a kubeconfig, a token file) the one way this code base does it:
 * under the file's `<file>.lock`, read under the lock (so a parallel writer's change is never
 * lost), the owner checked before anything is written, the previous content backed up when asked,
 * the new content written atomically, then read back: a file that does not read back as intended
 * gets its previous content again.
 */
import { CliError } from "../errors.ts";
import type { FileInfo, Runtime } from "../runtime.ts";
import { checkOwnerKept, OwnerError, writeFileAtomic } from "./atomic.ts";
import { fileError, fileErrorDetail } from "./file_error.ts";
import { withLock } from "./lock.ts";

/** The backup of `file` that `--backup` writes. */
export function backupPath(file: string): string {
  return `${file}.bak`;
}

/** The new content of a file, and how to tell that it reads back as intended. */
export interface Replacement {
  next: string;
  /** What is wrong with the file as read back, or undefined. */
  check: (text: string) => string | undefined;
}

/** Options of {@link replaceFile}. */
export interface ReplaceOptions {
  /** `kubeconfig "..."`, for messages. */
  what: string;
  /** Whether a missing file is created (else reading it fails). */
  create?: boolean;
  /** Mode of a new file (an existing one keeps its own). */
  mode?: number;
  /** Mode of the file, new or not. */
  forceMode?: number;
  /** Keep the previous content as `<file>.bak` (mode 0600). */
  backup?: boolean;
  /** Wait this long for another writer's lock; default 30 s. */
  lockTimeoutMs?: number;
  /** Test seam, see {@link writeFileAtomic}. */
  beforeRename?: (tempPath: string) => Promise<void>;
  /** Test seam: runs after the rename, before the file is read back. */
  afterRename?: (path: string) => Promise<void>;
}

/** What {@link replaceFile} did. */
export interface ReplaceResult {
  /** Whether the file was written (`edit` may leave it as it is). */
  changed: boolean;
  /** Whether the file did not exist before. */
  created: boolean;
  /** The backup file, when one was written. */
  backupPath?: string;
}

/**
 * Under the file's lock, read `file` (undefined when it does not exist and `create` is set) and
 * replace it with what `edit` makes of it; `edit` returns undefined to leave the file as it is,
 * and may throw to refuse.
 */
export async function replaceFile(
  runtime: Runtime,
  file: string,
  options: ReplaceOptions & { edit: (previous: string | undefined) => Replacement | undefined },
): Promise<ReplaceResult> {
  return await withLock(runtime, file, async () => {
    let previous: string | undefined;
    try {
      previous = await runtime.readTextFile(file);
    } catch (e) {
      if ((e as Error)?.name !== "NotFound" || !options.create) {
        throw fileError(`read ${options.what}`, e);
      }
    }
    const created = previous === undefined;
    const replacement = options.edit(previous);
    if (!replacement) return { changed: false, created };
    const backup = await writeChecked(runtime, file, previous, replacement, options);
    return { changed: true, created, backupPath: backup };
  }, { timeoutMs: options.lockTimeoutMs, what: options.what });
}

/**
 * Owner check first (nothing is written when the owner cannot be kept), backup, atomic replace,
 * read back, restore. Returns the backup's path, when one was written.
 */
async function writeChecked(
  runtime: Runtime,
  file: string,
  previous: string | undefined,
  r: Replacement,
  options: ReplaceOptions,
): Promise<string | undefined> {
  const fail = (detail: string, cause?: unknown): never => {
    throw new CliError(`Cannot write ${options.what}: ${detail}`, { cause });
  };
  let info: FileInfo | undefined;
  if (previous !== undefined) {
    info = await runtime.stat(file).catch(() => undefined);
    try {
      if (info) checkOwnerKept(runtime, info);
    } catch (e) {
      if (e instanceof OwnerError) fail(e.message, e);
      throw e;
    }
  }
  let backup: string | undefined;
  if (options.backup && previous !== undefined) {
    backup = backupPath(file);
    try {
      await writeFileAtomic(runtime, backup, previous, {
        forceMode: 0o600,
        owner: info && { uid: info.uid, gid: info.gid },
      });
    } catch (e) {
      fail(`cannot write the backup "${backup}": ${fileErrorDetail(e)}`, e);
    }
  }
  try {
    await writeFileAtomic(runtime, file, r.next, {
      mode: options.mode,
      forceMode: options.forceMode,
      keepOwner: true,
      beforeRename: options.beforeRename,
    });
  } catch (e) {
    fail(fileErrorDetail(e), e);
  }
  if (options.afterRename) await options.afterRename(file);
  let problem: string | undefined;
  try {
    problem = r.check(await runtime.readTextFile(file));
  } catch (e) {
    problem = `it cannot be read back: ${fileErrorDetail(e)}`;
  }
  if (problem === undefined) return backup;
  // We hold the lock: nobody that honours it has written since.
  try {
    if (previous === undefined) await runtime.remove(file);
    else await writeFileAtomic(runtime, file, previous, { mode: options.mode, keepOwner: true });
  } catch (e) {
    return fail(
      `read back, ${problem}, and restoring the previous content failed: ${fileErrorDetail(e)}`,
      e,
    );
  }
  return fail(
    `read back, ${problem}; ${
      previous === undefined ? "the new file was removed" : "the previous content was restored"
    }`,
  );
}
