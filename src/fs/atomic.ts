/** Replacing a file so that readers see the old or the new content, never a mix or nothing. */
import type { FileInfo, Runtime } from "../runtime.ts";
import { runtimePath } from "../path/platform.ts";

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
  /**
   * Keep the existing file's owner and group (chown works as root), and refuse with an
   * {@link OwnerError}, before writing anything, when this process cannot: a user's files
   * (kubeconfigs, token files) must not change hands. Cache files leave it off.
   */
  keepOwner?: boolean;
  /** Give the file this owner (a backup of another user's file); implies keeping one. */
  owner?: { uid: number | null; gid: number | null };
}

/** A temp file left this long is taken as abandoned even when its writer's PID is in use. */
export const STALE_TEMP_MS = 10 * 60_000;

/** The error of a write that would change a file's owner; nothing was written. */
export class OwnerError extends Error {
  override name = "OwnerError";
}

/**
 * Write `data` to a temp file in the same folder (so the rename cannot cross file systems),
 * fsync it, give it the file's mode (and owner, see `keepOwner`), and rename it over the file. A symlink is
 * followed: the file it points to is replaced, and the link stays. Returns the path written.
 *
 * The temp file is `.<name>.tmp-<pid>-<random>`, created 0600 with O_EXCL and widened to the
 * kept mode only just before the rename, so a writer killed on the way leaves the new content
 * readable by its owner alone; the next write removes such leftovers (see
 * {@link removeStaleTemps}).
 */
export async function writeFileAtomic(
  runtime: Runtime,
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<string> {
  let target = path;
  let mode = options.forceMode ?? options.mode ?? 0o600;
  let info: FileInfo | undefined;
  try {
    target = await runtime.realPath(path);
    info = await runtime.stat(target);
    if (options.forceMode === undefined && info.mode !== null) mode = info.mode;
  } catch (e) {
    if ((e as Error)?.name !== "NotFound") throw e;
  }
  const owner = options.owner ?? (options.keepOwner ? info : undefined);
  if (owner) checkOwnerKept(runtime, owner);
  const { dirname, join } = runtimePath(runtime);
  const dir = dirname(target);
  await removeStaleTemps(runtime, target);
  const temp = join(dir, `${tempPrefix(runtime, target)}${runtime.pid}-${randomHex(6)}`);
  await runtime.writeFile(temp, new Uint8Array(), { createNew: true, mode: 0o600 });
  try {
    await runtime.writeFile(temp, data, { sync: true });
    if (options.beforeRename) await options.beforeRename(temp);
    if (owner) await keepOwner(runtime, temp, owner);
    // chmod after creating (the umask must not change the kept mode) and after chown (which
    // may clear set-id bits).
    await runtime.chmod(temp, mode);
    await runtime.rename(temp, target);
  } catch (e) {
    await runtime.remove(temp).catch(() => {});
    throw e;
  }
  await runtime.syncDir(dir);
  return target;
}

/**
 * Refuse, before anything is written, to replace a file that a new file written by this
 * process could not keep the owner of: only root may give a file to another user.
 */
export function checkOwnerKept(runtime: Runtime, info: Pick<FileInfo, "uid" | "gid">): void {
  const me = runtime.uid();
  if (me === null || me === 0 || info.uid === null || info.uid === me) return;
  throw new OwnerError(
    `it belongs to uid ${info.uid} and a rewritten file would belong to uid ${me}; ` +
      `run as its owner or as root`,
  );
}

async function keepOwner(
  runtime: Runtime,
  temp: string,
  info: Pick<FileInfo, "uid" | "gid">,
): Promise<void> {
  const mine = await runtime.stat(temp, { follow: false });
  if (mine.uid === info.uid && mine.gid === info.gid) return;
  try {
    await runtime.chown(temp, { uid: info.uid, gid: info.gid });
  } catch (e) {
    throw new OwnerError(
      `it belongs to uid ${info.uid} gid ${info.gid} and a rewritten file cannot keep that ` +
        `owner (${(e as Error)?.message ?? String(e)}); run as its owner or as root`,
    );
  }
}

/**
 * Remove the temp files of `target` that earlier writers of this user left behind: named like
 * ours, owned by this user, and either their writer's process is gone or they are older than
 * {@link STALE_TEMP_MS}. Best effort: a failure here never stops the write.
 */
export async function removeStaleTemps(runtime: Runtime, target: string): Promise<string[]> {
  const { dirname, join } = runtimePath(runtime);
  const prefix = tempPrefix(runtime, target);
  const removed: string[] = [];
  let names: string[];
  try {
    names = await runtime.readDir(dirname(target));
  } catch {
    return removed;
  }
  const me = runtime.uid();
  const now = runtime.now().getTime();
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    // `<pid>-<hex>`, or `<hex>` alone as written before the PID was part of the name.
    const m = /^(?:(\d+)-)?[0-9a-f]{12}$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const path = join(dirname(target), name);
    try {
      const info = await runtime.stat(path, { follow: false });
      if (!info.isFile || (me !== null && info.uid !== me)) continue;
      const old = info.mtime !== null && now - info.mtime.getTime() > STALE_TEMP_MS;
      const pid = m[1] === undefined ? undefined : Number(m[1]);
      const gone = pid !== undefined && await runtime.processAlive(pid) === false;
      if (!old && !gone) continue;
      await runtime.remove(path);
      removed.push(path);
    } catch {
      // Gone already, or not ours to remove.
    }
  }
  return removed;
}

function tempPrefix(runtime: Runtime, target: string): string {
  return `.${runtimePath(runtime).basename(target)}.tmp-`;
}

function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
