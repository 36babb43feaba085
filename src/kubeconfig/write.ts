/**
 * Writing a kubeconfig back the way a user's file deserves: under kubectl's own `<file>.lock`,
 * re-read under the lock (so a parallel writer's change is never lost), edited in place
 * (see edit.ts), written atomically with its mode kept (0600 for a new file).
 */
import type { Runtime } from "../runtime.ts";
import { writeFileAtomic } from "../fs/atomic.ts";
import { withLock } from "../fs/lock.ts";
import { fileError } from "../fs/file_error.ts";
import { editKubeconfigText, type KubeconfigChange } from "./edit.ts";
import { parseKubeconfig } from "./parse.ts";

/** Options of {@link updateKubeconfigFile}. */
export interface UpdateOptions {
  /** Keep the previous content as `<file>.bak` (mode 0600). */
  backup?: boolean;
  /** Wait this long for another writer's lock; default 30 s. */
  lockTimeoutMs?: number;
  /** Create the file when it does not exist (kubeconfig --output-file, --merge). */
  create?: boolean;
  /** Test seam, see {@link writeFileAtomic}. */
  beforeRename?: (tempPath: string) => Promise<void>;
}

/** What {@link updateKubeconfigFile} did. */
export interface UpdateResult {
  /** Whether the content changed (an edit to the same value writes nothing). */
  changed: boolean;
  /** The backup file, when one was written. */
  backupPath?: string;
  created: boolean;
}

/** The backup of `file` that `--backup` writes. */
export function backupPath(file: string): string {
  return `${file}.bak`;
}

/**
 * Apply `changes` to the kubeconfig `file` under its lock. `changes` may be a function of the
 * current text, for edits that depend on what is there under the lock.
 */
export async function updateKubeconfigFile(
  runtime: Runtime,
  file: string,
  changes: KubeconfigChange[] | ((text: string) => KubeconfigChange[]),
  options: UpdateOptions = {},
): Promise<UpdateResult> {
  return await withLock(runtime, file, async () => {
    let text = "";
    let created = false;
    try {
      text = await runtime.readTextFile(file);
    } catch (e) {
      if ((e as Error)?.name !== "NotFound" || !options.create) {
        throw fileError(`read kubeconfig "${file}"`, e);
      }
      created = true;
    }
    const list = typeof changes === "function" ? changes(text) : changes;
    const next = editKubeconfigText(text, list, file);
    if (next === text && !created) return { changed: false, created };
    // Never write what kubectl could not read back.
    parseKubeconfig(next, file);
    const result: UpdateResult = { changed: true, created };
    if (options.backup && !created) {
      result.backupPath = backupPath(file);
      await writeFileAtomic(runtime, result.backupPath, text, { forceMode: 0o600 });
    }
    try {
      await writeFileAtomic(runtime, file, next, {
        mode: 0o600,
        beforeRename: options.beforeRename,
      });
    } catch (e) {
      throw fileError(`write kubeconfig "${file}"`, e);
    }
    return result;
  }, { timeoutMs: options.lockTimeoutMs, what: `kubeconfig "${file}"` });
}
