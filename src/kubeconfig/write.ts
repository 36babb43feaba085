/**
 * Writing a kubeconfig (or a user's token file) back the way a user's file deserves: under
 * kubectl's own `<file>.lock`, re-read under the lock (so a parallel writer's change is never
 * lost), edited in place (see edit.ts), written atomically with its mode and owner kept (0600
 * for a new file), then read back the way the resolver reads it: when the file does not hold
 * what was written, the previous content is put back and the write fails.
 */
import { CliError } from "../errors.ts";
import type { Runtime } from "../runtime.ts";
import { replaceFile } from "../fs/replace.ts";
import { tokenOfFile } from "./credentials.ts";
import { editKubeconfigText, type KubeconfigChange, type PathStep } from "./edit.ts";
import { parseKubeconfigSync, readKubeconfigYamlSync } from "./parse_sync.ts";

export { backupPath } from "../fs/replace.ts";

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
  /**
   * Test seam: runs after the rename, before the file is read back (the crash and read-back
   * tests use it to change the file the way a writer that ignores the lock would).
   */
  afterRename?: (path: string) => Promise<void>;
}

/** What {@link updateKubeconfigFile} did. */
export interface UpdateResult {
  /** Whether the content changed (an edit to the same value writes nothing). */
  changed: boolean;
  /** The backup file, when one was written. */
  backupPath?: string;
  created: boolean;
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
  return await replaceFile(runtime, file, {
    ...options,
    what: `kubeconfig "${file}"`,
    mode: 0o600,
    edit: (previous) => {
      const text = previous ?? "";
      const list = typeof changes === "function" ? changes(text) : changes;
      const next = editKubeconfigText(text, list, file);
      if (next === text && previous !== undefined) return undefined;
      // Never write what kubectl could not read back, or what would not read as the change.
      parseKubeconfigSync(next, file);
      const wrong = mismatch(next, list, file);
      if (wrong) {
        throw new CliError(`Cannot edit kubeconfig "${file}": ${wrong}; nothing was written`);
      }
      return { next, check: (back) => mismatch(back, list, file) };
    },
  });
}

/** Options of {@link updateTokenFile}. */
export type TokenFileOptions = Pick<UpdateOptions, "backup" | "lockTimeoutMs" | "afterRename">;

/**
 * Replace the token in a user's `tokenFile` under its lock, keeping its line end (none, LF or
 * CRLF), mode and owner, and check that it reads back as the new token.
 */
export async function updateTokenFile(
  runtime: Runtime,
  path: string,
  token: string,
  options: TokenFileOptions = {},
): Promise<{ backupPath?: string }> {
  const result = await replaceFile(runtime, path, {
    ...options,
    what: `token file "${path}"`,
    mode: 0o600,
    edit: (old = "") => {
      const eol = /\r\n$/.test(old) ? "\r\n" : old.endsWith("\n") ? "\n" : "";
      return {
        next: token + eol,
        check: (back) => tokenOfFile(back) === token ? undefined : "it does not hold the new token",
      };
    },
  });
  return { backupPath: result.backupPath };
}

/**
 * Write a whole kubeconfig (`kubeconfig --output-file`) under its lock with mode 0600, and
 * check that it reads back as written.
 */
export async function writeKubeconfigFile(
  runtime: Runtime,
  path: string,
  text: string,
  options: Pick<UpdateOptions, "backup" | "lockTimeoutMs" | "afterRename"> = {},
): Promise<{ backupPath?: string }> {
  parseKubeconfigSync(text, path);
  const result = await replaceFile(runtime, path, {
    ...options,
    what: `kubeconfig "${path}"`,
    create: true,
    forceMode: 0o600,
    edit: () => ({
      next: text,
      check: (back) => back !== text ? "it does not hold what was written" : loads(back, path),
    }),
  });
  return { backupPath: result.backupPath };
}

/** Whether kubeconfig text fails to load, as a reason. */
function loads(text: string, file: string): string | undefined {
  try {
    parseKubeconfigSync(text, file);
    return undefined;
  } catch (e) {
    return `it does not load: ${
      (e as Error).message.replace(/^Cannot load kubeconfig "[^"]*": /, "")
    }`;
  }
}

/**
 * What in `text`, read the way the resolver reads it, differs from `changes`; undefined when it
 * holds every change (later changes win over earlier ones at the same place).
 */
function mismatch(text: string, changes: KubeconfigChange[], file: string): string | undefined {
  const failed = loads(text, file);
  if (failed) return failed;
  const root = readKubeconfigYamlSync(text, file);
  for (const change of changes) {
    const path: PathStep[] = "set" in change ? change.set : [change.upsert, { name: change.name }];
    const want = "set" in change ? change.value : { name: change.name, ...change.value };
    const shadowed = changes.slice(changes.indexOf(change) + 1).some((later) =>
      "set" in later
        ? samePath(later.set, path)
        : samePath([later.upsert, { name: later.name }], path)
    );
    if (shadowed) continue;
    if (canonical(at(root, path)) !== canonical(want)) {
      return `${describePath(path)} does not hold the new value`;
    }
  }
  return undefined;
}

function at(root: unknown, path: PathStep[]): unknown {
  let node: unknown = root;
  for (const step of path) {
    if (typeof step === "string") {
      if (typeof node !== "object" || node === null || Array.isArray(node)) return undefined;
      node = (node as Record<string, unknown>)[step];
    } else {
      if (!Array.isArray(node)) return undefined;
      node = node.find((item) => (item as { name?: unknown })?.name === step.name);
    }
  }
  return node;
}

function samePath(a: PathStep[], b: PathStep[]): boolean {
  return describePath(a) === describePath(b);
}

function describePath(path: PathStep[]): string {
  return path.map((s, i) =>
    typeof s === "string" ? `${i === 0 ? "" : "."}${s}` : `[${JSON.stringify(s.name)}]`
  ).join("");
}

/** JSON with sorted keys, so that key order does not count. */
function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_, v) =>
      typeof v === "object" && v !== null && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v,
  ) ?? "undefined";
}
