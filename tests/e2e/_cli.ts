/** Run kubectl-token as a process: directly, or as `kubectl token ...` through plugin discovery. */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { V8_FLAGS } from "../../scripts/v8_flags.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ENTRY = join(ROOT, "mod.ts");

/** What a process printed and how it ended. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCli} and {@link runKubectl}. */
export interface RunOptions {
  /** Environment on top of a clean one (PATH, HOME set to an empty temp dir, DENO_DIR). */
  env?: Record<string, string>;
  stdin?: string;
}

let launcherDir: string | undefined;

/** A folder holding a `kubectl-token` launcher for this checkout, made once per test run. */
export async function pluginBinDir(): Promise<string> {
  if (launcherDir) return launcherDir;
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-bin-" });
  const script = `#!/bin/sh\nexec '${Deno.execPath()}' run --allow-all --no-prompt --quiet ` +
    `--cached-only --v8-flags=${V8_FLAGS} --config '${join(ROOT, "deno.json")}' '${ENTRY}' "$@"\n`;
  await Deno.writeTextFile(join(dir, "kubectl-token"), script, { mode: 0o755 });
  launcherDir = dir;
  return dir;
}

let emptyHome: string | undefined;

async function baseEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  emptyHome ??= await Deno.makeTempDir({ prefix: "kubectl-token-home-" });
  const realHome = Deno.env.get("HOME") ?? "/root";
  const env: Record<string, string> = {
    PATH: `${await pluginBinDir()}:${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}`,
    HOME: emptyHome,
    DENO_DIR: Deno.env.get("DENO_DIR") ?? join(realHome, ".cache", "deno"),
    NO_COLOR: "1",
  };
  return { ...env, ...extra };
}

async function run(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  const child = new Deno.Command(command, {
    args,
    env: await baseEnv(options.env),
    clearEnv: true,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    cwd: ROOT,
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/**
 * Run `kubectl-token ARGS` in this process: `main()` with a runtime whose environment, home,
 * clock (KUBECTL_TOKEN_NOW), standard streams and input are the test's, as {@link runCli} would
 * give them to a process. For usage errors and output checks; what needs a real process (exit
 * codes, streams, signals, plugin discovery) stays with runCli/runKubectl.
 */
export async function runInProcess(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const [{ main }, { denoRuntime, processClock, CLOCK_ENV }] = await Promise.all([
    import("../../src/main.ts"),
    import("../../src/runtime.ts"),
  ]);
  const env = await baseEnv(options.env);
  const out = { text: "" };
  const err = { text: "" };
  const sink = (to: { text: string }) => ({
    write: (data: string | Uint8Array) =>
      void (to.text += typeof data === "string" ? data : new TextDecoder().decode(data)),
    isTerminal: () => false,
  });
  const input = new TextEncoder().encode(options.stdin ?? "");
  const real = denoRuntime();
  const code = await main(args, {
    ...real,
    env: (name) => env[name],
    envAll: () => ({ ...env }),
    homeDir: () => env.HOME,
    cwd: () => ROOT,
    now: processClock(env[CLOCK_ENV]),
    stdout: sink(out),
    stderr: sink(err),
    stdin: {
      isTerminal: () => false,
      readAll: () => Promise.resolve(input),
      readable: () => new Blob([input]).stream(),
      readLine: () => Promise.resolve(null),
    },
  });
  return { code, stdout: out.text, stderr: err.text };
}

/** Run `kubectl-token ARGS` directly. */
export async function runCli(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return run(join(await pluginBinDir(), "kubectl-token"), args, options);
}

/** Run `kubectl ARGS` with the plugin on PATH (so `kubectl token ...` reaches it). */
export function runKubectl(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return run("kubectl", args, options);
}
