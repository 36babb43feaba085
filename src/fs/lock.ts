/**
 * kubectl's lock file: `<file>.lock` created with O_CREAT|O_EXCL and removed afterwards
 * (client-go tools/clientcmd/loader.go lockFile/unlockFile). client-go gives up at once when the
 * lock exists; we wait a bounded time, because our writers (parallel rotations, parallel exec
 * plugin calls) are short and expect to queue rather than fail.
 */
import { CliError } from "../errors.ts";
import type { Runtime } from "../runtime.ts";
import { runtimePath } from "../path/platform.ts";

/** Options of {@link withLock}. */
export interface LockOptions {
  /** How long to wait for another holder; default 30 s. */
  timeoutMs?: number;
  /**
   * A lock older than this is taken as left behind by a killed process and removed. Unset for
   * kubeconfig locks: kubectl never breaks them either, and a user may be editing.
   */
  staleMs?: number;
  /** Called on every failed attempt while waiting (progress on a terminal). */
  onWait?: (elapsedMs: number) => void;
  /** What the lock guards, for messages (default: the file). */
  what?: string;
  /** Checked before each wait; when it returns a value, the wait ends without the lock. */
  shortcut?: () => Promise<unknown>;
}

/** The lock file client-go uses for `file`. */
export function lockPath(file: string): string {
  return `${file}.lock`;
}

/** Outcome of {@link acquireLock}. */
export type Acquired = { locked: true; release: () => Promise<void> } | {
  locked: false;
  value: unknown;
};

/** Take `<file>.lock`, waiting up to `timeoutMs` while another process holds it. */
export async function acquireLock(
  runtime: Runtime,
  file: string,
  options: LockOptions = {},
): Promise<Acquired> {
  const lock = lockPath(file);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const started = runtime.now().getTime();
  let delay = 10;
  for (;;) {
    try {
      // Mode 0, as client-go creates it: the file is a marker, nobody reads it.
      await runtime.writeFile(lock, new Uint8Array(), { createNew: true, mode: 0 });
      let released = false;
      return {
        locked: true,
        release: async () => {
          if (released) return;
          released = true;
          await runtime.remove(lock).catch(() => {});
        },
      };
    } catch (e) {
      const name = (e as Error)?.name;
      if (name === "NotFound") {
        // client-go creates the folder before locking (MkdirAll 0755).
        await runtime.mkdir(runtimePath(runtime).dirname(lock), { recursive: true, mode: 0o755 });
        continue;
      }
      if (name !== "AlreadyExists") {
        throw new CliError(
          `Cannot create lock file "${lock}": ${(e as Error)?.message ?? String(e)}`,
          { cause: e },
        );
      }
    }
    if (options.shortcut) {
      const value = await options.shortcut();
      if (value !== undefined) return { locked: false, value };
    }
    const now = runtime.now().getTime();
    if (options.staleMs !== undefined && await isStale(runtime, lock, now, options.staleMs)) {
      await runtime.remove(lock).catch(() => {});
      continue;
    }
    const elapsed = now - started;
    if (elapsed >= timeoutMs) {
      throw new CliError(
        `Cannot lock ${options.what ?? `"${file}"`}: "${lock}" has existed for over ` +
          `${Math.round(timeoutMs / 1000)}s; another kubectl may be writing it, or a killed ` +
          `process left it behind (remove it if no kubectl is running)`,
      );
    }
    options.onWait?.(elapsed);
    // Jitter keeps parallel waiters from retrying in lockstep.
    await runtime.sleep(delay + Math.floor(Math.random() * delay));
    delay = Math.min(delay * 2, 200);
  }
}

/** Run `fn` holding `<file>.lock`. */
export async function withLock<T>(
  runtime: Runtime,
  file: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const acquired = await acquireLock(runtime, file, { ...options, shortcut: undefined });
  if (!acquired.locked) throw new Error("unreachable: a lock without shortcut was not taken");
  try {
    return await fn();
  } finally {
    await acquired.release();
  }
}

async function isStale(runtime: Runtime, lock: string, now: number, staleMs: number) {
  try {
    const info = await runtime.stat(lock, { follow: false });
    return info.mtime !== null && now - info.mtime.getTime() > staleMs;
  } catch {
    return false;
  }
}
