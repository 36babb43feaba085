/** Shared test wiring: a runtime with a controlled environment, and temp folders. */

import { denoRuntime, type Runtime } from "../../src/runtime.ts";

/** What a test controls about the outside world. */
export interface TestWorld {
  env?: Record<string, string>;
  home?: string;
  cwd?: string;
  stdinTerminal?: boolean;
}

/** The real runtime (files, processes) with environment, home, cwd and stdin under test control. */
export function testRuntime(world: TestWorld = {}): Runtime {
  const env = world.env ?? {};
  const real = denoRuntime();
  return {
    ...real,
    env: (name) => env[name],
    envAll: () => ({ ...env }),
    homeDir: () => world.home,
    cwd: () => world.cwd ?? "/",
    stdin: { isTerminal: () => world.stdinTerminal ?? false, readAll: real.stdin.readAll },
  };
}

/** Runs `fn` with a fresh temp folder, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "kubectl-token-test-" }));
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes files (relative to `dir`, folders created) and returns their absolute paths. */
export async function writeFiles(
  dir: string,
  files: Record<string, string>,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(files)) {
    const path = `${dir}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text);
    out[name] = path;
  }
  return out;
}

/** Test certificates (see testdata/README.md). */
export const testdata = new URL("./testdata/", import.meta.url).pathname;

/** Reads a testdata file. */
export function fixture(name: string): string {
  return Deno.readTextFileSync(`${testdata}${name}`);
}

/** Base64 of a text. */
export function b64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

/** Whether `fn` rejects with a message matching `pattern`; returns the message. */
export async function rejectsWith(fn: () => Promise<unknown>, pattern: RegExp): Promise<string> {
  try {
    await fn();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (!pattern.test(message)) {
      throw new Error(`Expected an error matching ${pattern}, got: ${message}`);
    }
    return message;
  }
  throw new Error(`Expected an error matching ${pattern}, got none`);
}
