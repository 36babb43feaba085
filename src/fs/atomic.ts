/** Replacing a file so that readers see the old or the new content, never a mix or nothing. */
import { basename, dirname, join } from "node:path";
import type { Runtime } from "../runtime.ts";

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** Mode of a new file; an existing file keeps its own. Default 0600. */
  mode?: number;
  /** Force this mode even when the file exists (backups, cache files). */
  forceMode?: number;
  /**
   * Test seam: runs after the temp file is written and synced, before the rename. Production
   * callers never pass it; the crash test uses it to kill a writer at the worst moment.
   */
  beforeRename?: (tempPath: string) => Promise<void>;
}

/**
 * Write `data` to a temp file in the same folder (so the rename cannot cross file systems),
 * fsync it, give it the file's mode, and rename it over the file. A symlink is followed: the
 * file it points to is replaced, and the link stays. Returns the path written.
 */
export async function writeFileAtomic(
  runtime: Runtime,
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<string> {
  let target = path;
  let mode = options.forceMode ?? options.mode ?? 0o600;
  try {
    target = await runtime.realPath(path);
    const info = await runtime.stat(target);
    if (options.forceMode === undefined && info.mode !== null) mode = info.mode;
  } catch (e) {
    if ((e as Error)?.name !== "NotFound") throw e;
  }
  const dir = dirname(target);
  const temp = join(dir, `.${basename(target)}.tmp-${randomHex(6)}`);
  await runtime.writeFile(temp, new Uint8Array(), { createNew: true, mode: 0o600 });
  try {
    // chmod after creating: the umask must not widen or narrow the kept mode.
    await runtime.chmod(temp, mode);
    await runtime.writeFile(temp, data, { sync: true });
    if (options.beforeRename) await options.beforeRename(temp);
    await runtime.rename(temp, target);
  } catch (e) {
    await runtime.remove(temp).catch(() => {});
    throw e;
  }
  await runtime.syncDir(dir);
  return target;
}

function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
