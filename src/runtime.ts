/**
 * The only module that touches `Deno.*` for the program's own I/O: environment, files, clock,
 * standard streams and child processes. Everything else receives a {@link Runtime}, so tests
 * pass a different one instead of patching globals.
 */

/** Result of running a child process. */
export interface SpawnResult {
  /** Exit code; `null` when the process could not be started. */
  code: number | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** Set when the command could not be started (for example not found). */
  error?: "not-found" | "permission-denied" | "other";
}

/** Options for {@link Runtime.spawn}. */
export interface SpawnOptions {
  args?: string[];
  /** Extra environment variables added to the inherited environment. */
  env?: Record<string, string>;
  /** Whether the child's stdin is the terminal (interactive exec plugins). */
  stdinInherit?: boolean;
  /** Whether the child's stderr passes through to ours (kubectl does this for exec plugins). */
  stderrInherit?: boolean;
  cwd?: string;
  /** Kill the child after this many milliseconds. */
  timeoutMs?: number;
}

/** A sink for text or bytes. */
export interface Output {
  write(data: string | Uint8Array): void;
  /** Whether the stream is a terminal. */
  isTerminal(): boolean;
}

/** Everything the program needs from the outside world. */
export interface Runtime {
  /** One environment variable, or undefined. */
  env(name: string): string | undefined;
  /** The whole environment (used to pass through to exec plugins). */
  envAll(): Record<string, string>;
  /** Current working directory. */
  cwd(): string;
  /** The user's home directory, as kubectl finds it (HOME, then USERPROFILE). */
  homeDir(): string | undefined;
  /** The clock. */
  now(): Date;
  readFile(path: string): Promise<Uint8Array>;
  readTextFile(path: string): Promise<string>;
  /** Whether the path exists (any kind of file). */
  exists(path: string): Promise<boolean>;
  stdout: Output;
  stderr: Output;
  stdin: {
    isTerminal(): boolean;
    readAll(): Promise<Uint8Array>;
    /** One line without its newline (null at end of input), for confirmation prompts. */
    readLine?(): Promise<string | null>;
  };
  spawn(command: string, options?: SpawnOptions): Promise<SpawnResult>;
  /** Versions of the runtime and the platform it runs on. */
  platform: { deno: string; v8: string; typescript: string; os: string; arch: string };
}

class StreamOutput implements Output {
  #file: typeof Deno.stdout | typeof Deno.stderr;
  #encoder = new TextEncoder();
  constructor(file: typeof Deno.stdout | typeof Deno.stderr) {
    this.#file = file;
  }
  write(data: string | Uint8Array): void {
    let bytes = typeof data === "string" ? this.#encoder.encode(data) : data;
    while (bytes.length > 0) {
      const n = this.#file.writeSync(bytes);
      bytes = bytes.subarray(n);
    }
  }
  isTerminal(): boolean {
    return this.#file.isTerminal();
  }
}

/** The runtime of a real process. */
export function denoRuntime(): Runtime {
  return {
    env: (name) => Deno.env.get(name),
    envAll: () => Deno.env.toObject(),
    cwd: () => Deno.cwd(),
    homeDir: () => Deno.env.get("HOME") || Deno.env.get("USERPROFILE") || undefined,
    now: () => new Date(),
    readFile: (path) => Deno.readFile(path),
    readTextFile: (path) => Deno.readTextFile(path),
    exists: async (path) => {
      try {
        await Deno.stat(path);
        return true;
      } catch {
        return false;
      }
    },
    stdout: new StreamOutput(Deno.stdout),
    stderr: new StreamOutput(Deno.stderr),
    stdin: {
      isTerminal: () => Deno.stdin.isTerminal(),
      readAll: async () => new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer()),
      readLine: async () => {
        // Byte by byte, so nothing after the line is consumed.
        const bytes: number[] = [];
        const one = new Uint8Array(1);
        while (true) {
          const n = await Deno.stdin.read(one);
          if (n === null) {
            return bytes.length ? new TextDecoder().decode(new Uint8Array(bytes)) : null;
          }
          if (one[0] === 10) {
            return new TextDecoder().decode(new Uint8Array(bytes)).replace(/\r$/, "");
          }
          bytes.push(one[0]);
        }
      },
    },
    platform: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      typescript: Deno.version.typescript,
      os: Deno.build.os,
      arch: Deno.build.arch,
    },
    spawn: async (command, options = {}) => {
      const empty = new Uint8Array();
      let child: Deno.ChildProcess;
      try {
        child = new Deno.Command(command, {
          args: options.args ?? [],
          env: options.env,
          cwd: options.cwd,
          stdin: options.stdinInherit ? "inherit" : "null",
          stdout: "piped",
          stderr: options.stderrInherit ? "inherit" : "piped",
        }).spawn();
      } catch (e) {
        const error = e instanceof Deno.errors.NotFound
          ? "not-found"
          : e instanceof Deno.errors.PermissionDenied
          ? "permission-denied"
          : "other";
        return { code: null, stdout: empty, stderr: empty, error };
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      if (options.timeoutMs) {
        timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* already gone */ }
        }, options.timeoutMs);
      }
      const [status, stdout, stderr] = await Promise.all([
        child.status,
        new Response(child.stdout).arrayBuffer(),
        options.stderrInherit
          ? Promise.resolve(new ArrayBuffer(0))
          : new Response(child.stderr).arrayBuffer(),
      ]);
      clearTimeout(timer);
      return { code: status.code, stdout: new Uint8Array(stdout), stderr: new Uint8Array(stderr) };
    },
  };
}
