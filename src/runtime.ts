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

/** What {@link Runtime.stat} reports about a file. */
export interface FileInfo {
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  /** Permission bits (`0o600`); null where the platform has none (Windows). */
  mode: number | null;
  /** Last modification, when the platform reports it. */
  mtime: Date | null;
  size: number;
  /** Inode number, where the platform has one: a file replaced by rename gets a new one. */
  ino: number | null;
  /** The device the file is on; with `ino` it names one file (null where unknown). */
  dev: number | null;
  /** Owner's user ID; null where the platform has none (Windows). */
  uid: number | null;
  /** Owner's group ID; null where the platform has none (Windows). */
  gid: number | null;
}

/** Options for {@link Runtime.open}. */
export interface OpenOptions {
  /** Open for writing too; never truncates, and without `createNew` never creates. */
  write?: boolean;
  /** Create the file, failing with "AlreadyExists" when the path exists, even as a symlink. */
  createNew?: boolean;
  /** Permission bits for a file `createNew` creates (the umask still applies). */
  mode?: number;
}

/** An open file: its facts are those of what was opened, whatever the path names by then. */
export interface OpenFile {
  /** `fstat`: facts about the open file itself. */
  stat(): Promise<FileInfo>;
  /** The whole content, from the start. */
  readAll(): Promise<Uint8Array>;
  /** The content as a stream, from the current position; the stream closes the file at its end. */
  readable(): ReadableStream<Uint8Array>;
  /**
   * Wait for an exclusive OS lock (`flock`) on the file. The kernel releases it when the file
   * is closed or the process dies, however it dies.
   */
  lock(): Promise<void>;
  close(): void;
}

/** Options for {@link Runtime.writeFile}. */
export interface WriteFileOptions {
  /** Permission bits for a file this call creates (the umask still applies; see chmod). */
  mode?: number;
  /** Fail with an error named "AlreadyExists" when the file exists (O_CREAT|O_EXCL). */
  createNew?: boolean;
  /** fsync the file before closing it. */
  sync?: boolean;
}

/** The JavaScript heap: what is in use, and a full collection. */
export interface HeapControl {
  /** Bytes of the heap in use (live objects and garbage not yet collected). */
  used(): number;
  /** A full, synchronous garbage collection. */
  collect(): void;
}

/** A sink for text or bytes. */
export interface Output {
  write(data: string | Uint8Array): void;
  /** Whether the stream is a terminal. */
  isTerminal(): boolean;
  /** The terminal's width in columns, when this is a terminal. */
  columns?(): number | undefined;
}

/** A request that {@link Runtime.serveHttps} hands to its handler. */
export interface HttpRequest {
  method: string;
  /** The path and query, as sent. */
  url: string;
  /** Header values by lower-case name. */
  headers: Record<string, string | undefined>;
  /**
   * The whole body. One longer than `maxBytes` (by its Content-Length, or as it arrives) throws
   * an error named "TooLarge" and the connection is closed after the response.
   */
  body(maxBytes: number): Promise<Uint8Array>;
}

/** What a handler of {@link Runtime.serveHttps} answers. */
export interface HttpResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** Options of {@link Runtime.serveHttps}. */
export interface HttpsServerOptions {
  /** The address to listen on ("0.0.0.0", "::", "127.0.0.1", ...). */
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  certPem: string;
  keyPem: string;
  /** When set, clients must present a certificate issued by one of these CAs. */
  clientCaPem?: string;
}

/** A running HTTPS server. */
export interface HttpsServer {
  readonly hostname: string;
  /** The port it listens on (the one picked, for port 0). */
  readonly port: number;
  /** Stop accepting connections and wait for the requests in flight (at most `graceMs`). */
  close(graceMs?: number): Promise<void>;
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
  /**
   * Read a whole file as UTF-8. With `maxBytes`, at most that much is read (a device such as
   * /dev/zero or a FIFO ends too): a longer file throws an error named "TooLarge".
   */
  readTextFile(path: string, options?: { maxBytes?: number }): Promise<string>;
  /** Whether the path exists (any kind of file). */
  exists(path: string): Promise<boolean>;
  /**
   * Facts about a file, following symlinks (`lstat` with `{ follow: false }`). File operations
   * throw errors whose `name` is "NotFound", "AlreadyExists", "PermissionDenied", ...
   */
  stat(path: string, options?: { follow?: boolean }): Promise<FileInfo>;
  /** The absolute path with symlinks resolved. */
  realPath(path: string): Promise<string>;
  /** Open a file for reading (and writing with `write`), following symlinks like open(2). */
  open(path: string, options?: OpenOptions): Promise<OpenFile>;
  /** Write a whole file (created when missing, truncated otherwise unless `createNew`). */
  writeFile(path: string, data: string | Uint8Array, options?: WriteFileOptions): Promise<void>;
  /** Rename a file, replacing the target atomically (POSIX rename). */
  rename(from: string, to: string): Promise<void>;
  /** Set permission bits; a no-op where the platform has none. */
  chmod(path: string, mode: number): Promise<void>;
  /** Set the owner and group (null leaves one as it is); a no-op where the platform has none. */
  chown(path: string, owner: { uid: number | null; gid: number | null }): Promise<void>;
  /** This process's ID. */
  pid: number;
  /** This process's user ID; null where the platform has none (Windows). */
  uid(): number | null;
  /** Whether a process with this ID is running; null where that cannot be told. */
  processAlive(pid: number): Promise<boolean | null>;
  /** Remove a file or an empty folder. */
  remove(path: string): Promise<void>;
  /** Create a folder (and its parents with `recursive`). */
  mkdir(path: string, options?: { recursive?: boolean; mode?: number }): Promise<void>;
  /** Names of the entries of a folder. */
  readDir(path: string): Promise<string[]>;
  /** fsync a folder so that a rename in it survives a crash; best effort. */
  syncDir(path: string): Promise<void>;
  /** Wait; the only sleep the program uses, so tests can pass a faster one. */
  sleep(ms: number): Promise<void>;
  stdout: Output;
  stderr: Output;
  stdin: {
    isTerminal(): boolean;
    readAll(): Promise<Uint8Array>;
    /** Standard input as a stream (large inputs, e.g. audit events piped in). */
    readable?(): ReadableStream<Uint8Array>;
    /** One line without its newline (null at end of input), for confirmation prompts. */
    readLine?(): Promise<string | null>;
  };
  spawn(command: string, options?: SpawnOptions): Promise<SpawnResult>;
  /**
   * Serve HTTPS. Fails with an error named "AddrInUse", "AddrNotAvailable" or "PermissionDenied"
   * when the address cannot be listened on, "InvalidData" when the certificate or key is unusable.
   */
  serveHttps(
    options: HttpsServerOptions,
    handler: (request: HttpRequest) => Promise<HttpResponse>,
  ): Promise<HttpsServer>;
  /** Call `handler` on each SIGINT or SIGTERM (a no-op where the platform has no such signal); returns the removal. */
  onSignal(signal: "SIGINT" | "SIGTERM", handler: () => void): () => void;
  /**
   * Start the crypto library's one-time initialisation on a worker thread, so that it overlaps
   * with start-up work instead of stalling the first TLS handshake (see {@link warmCrypto}).
   * Absent in tests: a test must not leave an operation running.
   */
  warmCrypto?(): void;
  /**
   * The JavaScript heap of this process, for a long streaming read to keep it near what is live
   * (`usage --audit-log`: see src/usage/heap.ts); undefined where V8's collector cannot be had
   * (a process started without scripts/v8_flags.ts's `--expose-gc`, such as `deno test`).
   */
  heap?(): HeapControl | undefined;
  /**
   * A worker thread that reads one part of an audit log (src/usage/parallel.ts); absent where
   * none can be started (tests that run the program in their own process).
   */
  usagePartWorker?(): Worker;
  /** The processor cores the program may use. */
  cpus?(): number;
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
  columns(): number | undefined {
    if (!this.#file.isTerminal()) return undefined;
    try {
      return Deno.consoleSize().columns;
    } catch {
      return undefined;
    }
  }
}

/** The environment variable that pins the instant a process's clock starts at (tests). */
export const CLOCK_ENV = "KUBECTL_TOKEN_NOW";

/**
 * The clock of a process: the system's, or, when `pinned` holds an RFC 3339 instant, a clock
 * that starts at that instant and runs at the system's pace. Tests run the program at the edges
 * of a day, a month or a year this way, the way they pass it a kubeconfig. An unreadable value
 * is an error on every reading, never a silent fall back to the system clock.
 */
export function processClock(pinned: string | undefined): () => Date {
  if (pinned === undefined || pinned === "") return () => new Date();
  const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(pinned)
    ? Date.parse(pinned)
    : NaN;
  if (Number.isNaN(at)) {
    return () => {
      throw new Error(
        `Invalid value "${pinned}" for ${CLOCK_ENV}: expected an RFC 3339 time such as ` +
          `2026-12-31T23:59:59Z`,
      );
    };
  }
  const started = performance.now();
  return () => new Date(at + Math.floor(performance.now() - started));
}

function fileInfo(info: Deno.FileInfo): FileInfo {
  return {
    isFile: info.isFile,
    isDirectory: info.isDirectory,
    isSymlink: info.isSymlink,
    mode: info.mode === null ? null : info.mode & 0o7777,
    mtime: info.mtime,
    ino: info.ino,
    dev: Deno.build.os === "windows" ? null : info.dev,
    uid: info.uid,
    gid: info.gid,
    size: info.size,
  };
}

async function readTextFileBounded(path: string, maxBytes: number): Promise<string> {
  using file = await Deno.open(path);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await file.read(buffer);
    if (n === null) break;
    total += n;
    if (total > maxBytes) {
      const limit = maxBytes % (1024 * 1024) === 0
        ? `${maxBytes / (1024 * 1024)} MiB`
        : `${maxBytes} bytes`;
      throw Object.assign(new Error(`it is larger than ${limit}`), { name: "TooLarge" });
    }
    chunks.push(buffer.slice(0, n));
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(bytes);
}

/** The runtime of a real process. */
/**
 * The first TLS handshake of a Deno process spends 30-40 ms of CPU in a one-time initialisation
 * of its crypto library, before its first random draw (strace shows no system call in that gap,
 * which ends with the first getrandom), whatever the certificate's algorithm, the CA store or the
 * server; a second handshake takes 1-3 ms. WebCrypto's ECDSA P-256 key generation runs the same
 * initialisation on a blocking-pool thread, so starting it when a command begins to resolve its
 * connection moves that cost off the main thread (docs/benchmarks.md has the measurements).
 */
let cryptoWarmed = false;
function warmCrypto(): void {
  if (cryptoWarmed) return;
  cryptoWarmed = true;
  crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"])
    .catch(() => {/* only a warm-up: the handshake reports real failures */});
}

/**
 * V8's `gc()`, which Deno exposes only under `--v8-flags=--expose-gc`: the launcher of
 * `deno task install` and the executables of `deno compile` pass it (scripts/install.ts,
 * scripts/release.ts). Taken from a new context after setting the flag at run time instead, it
 * is the "low memory" collection, two or more full collections that shrink the young generation
 * too, which costs a streaming read a third of its speed.
 */
function heapControl(): HeapControl | undefined {
  const gc: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== "function") return undefined;
  return { used: () => Deno.memoryUsage().heapUsed, collect: () => gc() };
}

/** The name under which the program's entry point runs src/usage/part_worker.ts. */
export const USAGE_PART_WORKER = "kubectl-token usage part";

/** Options for {@link denoRuntime}. */
export interface DenoRuntimeOptions {
  /** Provide {@link Runtime.warmCrypto} (the CLI's entry point does; tests do not). */
  warmCrypto?: boolean;
  /**
   * Provide {@link Runtime.usagePartWorker}: the URL of the entry point, which runs the worker
   * when started under the name {@link USAGE_PART_WORKER} (mod.ts).
   */
  entryPoint?: string;
}

/** The runtime of a real process. */
export function denoRuntime(options: DenoRuntimeOptions = {}): Runtime {
  return {
    ...(options.warmCrypto ? { warmCrypto } : {}),
    ...(options.entryPoint
      ? {
        usagePartWorker: () =>
          new Worker(options.entryPoint!, { type: "module", name: USAGE_PART_WORKER }),
      }
      : {}),
    heap: heapControl,
    cpus: () => navigator.hardwareConcurrency,
    env: (name) => Deno.env.get(name),
    envAll: () => Deno.env.toObject(),
    cwd: () => Deno.cwd(),
    homeDir: () => Deno.env.get("HOME") || Deno.env.get("USERPROFILE") || undefined,
    now: processClock(Deno.env.get(CLOCK_ENV)),
    readFile: (path) => Deno.readFile(path),
    readTextFile: (path, options) =>
      options?.maxBytes === undefined
        ? Deno.readTextFile(path)
        : readTextFileBounded(path, options.maxBytes),
    exists: async (path) => {
      try {
        await Deno.stat(path);
        return true;
      } catch {
        return false;
      }
    },
    stat: async (path, options = {}) =>
      fileInfo(options.follow === false ? await Deno.lstat(path) : await Deno.stat(path)),
    open: async (path, options = {}) => {
      const file = await Deno.open(path, {
        read: true,
        write: options.write || options.createNew || false,
        createNew: options.createNew ?? false,
        mode: options.mode,
      });
      return {
        stat: async () => fileInfo(await file.stat()),
        readAll: async () => {
          const chunks: Uint8Array[] = [];
          const buffer = new Uint8Array(16_384);
          for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
            chunks.push(buffer.slice(0, n));
          }
          const all = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
          chunks.reduce((at, c) => (all.set(c, at), at + c.length), 0);
          return all;
        },
        readable: () => file.readable,
        lock: () => file.lock(true),
        close: () => {
          try {
            file.close();
          } catch (e) {
            // Already closed by a stream that ran to its end.
            if (!(e instanceof Deno.errors.BadResource)) throw e;
          }
        },
      };
    },
    realPath: (path) => Deno.realPath(path),
    writeFile: async (path, data, options = {}) => {
      const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
      const file = await Deno.open(path, {
        write: true,
        create: !options.createNew,
        createNew: options.createNew ?? false,
        truncate: !options.createNew,
        mode: options.mode,
      });
      try {
        let rest = bytes;
        while (rest.length > 0) rest = rest.subarray(await file.write(rest));
        if (options.sync) await file.sync();
      } finally {
        file.close();
      }
    },
    rename: (from, to) => Deno.rename(from, to),
    chmod: async (path, mode) => {
      if (Deno.build.os !== "windows") await Deno.chmod(path, mode);
    },
    chown: async (path, owner) => {
      if (Deno.build.os !== "windows") await Deno.chown(path, owner.uid, owner.gid);
    },
    pid: Deno.pid,
    uid: () => Deno.uid(),
    processAlive: async (pid) => {
      // Linux only: /proc lists the running processes (Deno has no kill(pid, 0)).
      if (Deno.build.os !== "linux") return null;
      try {
        await Deno.stat("/proc/self");
      } catch {
        return null;
      }
      try {
        await Deno.stat(`/proc/${pid}`);
        return true;
      } catch {
        return false;
      }
    },
    remove: (path) => Deno.remove(path),
    mkdir: (path, options = {}) => Deno.mkdir(path, options),
    readDir: async (path) => {
      const names: string[] = [];
      for await (const entry of Deno.readDir(path)) names.push(entry.name);
      return names;
    },
    syncDir: async (path) => {
      if (Deno.build.os === "windows") return;
      try {
        const dir = await Deno.open(path, { read: true });
        try {
          await dir.sync();
        } finally {
          dir.close();
        }
      } catch {
        // Some file systems refuse to fsync a folder; the rename itself has happened.
      }
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    stdout: new StreamOutput(Deno.stdout),
    stderr: new StreamOutput(Deno.stderr),
    stdin: {
      isTerminal: () => Deno.stdin.isTerminal(),
      readAll: async () => new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer()),
      readable: () => Deno.stdin.readable,
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
    serveHttps,
    onSignal: (signal, handler) => {
      if (Deno.build.os === "windows" && signal !== "SIGINT") return () => {};
      Deno.addSignalListener(signal, handler);
      return () => Deno.removeSignalListener(signal, handler);
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
      // AbortSignal.timeout rather than setTimeout, which loads node:timers (see
      // fetchTransport in src/api/client.ts); the child keeps the process alive meanwhile.
      const deadline = options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined;
      const kill = () => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      };
      deadline?.addEventListener("abort", kill, { once: true });
      const [status, stdout, stderr] = await Promise.all([
        child.status,
        new Response(child.stdout).arrayBuffer(),
        options.stderrInherit
          ? Promise.resolve(new ArrayBuffer(0))
          : new Response(child.stderr).arrayBuffer(),
      ]);
      deadline?.removeEventListener("abort", kill);
      return { code: status.code, stdout: new Uint8Array(stdout), stderr: new Uint8Array(stderr) };
    },
  };
}

const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: "AddrInUse",
  EADDRNOTAVAIL: "AddrNotAvailable",
  EACCES: "PermissionDenied",
  EPERM: "PermissionDenied",
};

/**
 * HTTPS through `node:https`, not `Deno.serve`: `Deno.serve` cannot ask for a client certificate.
 * Loaded on first use so that other commands never start Node's layer.
 */
async function serveHttps(
  options: HttpsServerOptions,
  handler: (request: HttpRequest) => Promise<HttpResponse>,
): Promise<HttpsServer> {
  const https = await import("node:https");
  type Req = import("node:http").IncomingMessage;
  type Res = import("node:http").ServerResponse;
  const tooLarge = (limit: number) =>
    Object.assign(new Error(`the body is larger than ${limit} bytes`), { name: "TooLarge" });
  const readBody = (req: Req, res: Res, maxBytes: number) =>
    new Promise<Uint8Array>((resolve, reject) => {
      const refuse = () => {
        // Stop reading; the connection ends with the response.
        res.setHeader("Connection", "close");
        res.once("finish", () => req.socket.destroy());
        reject(tooLarge(maxBytes));
      };
      const declared = Number(req.headers["content-length"]);
      if (Number.isFinite(declared) && declared > maxBytes) return refuse();
      const chunks: Uint8Array[] = [];
      let total = 0;
      let refused = false;
      req.on("data", (chunk: Uint8Array) => {
        if (refused) return;
        total += chunk.length;
        if (total > maxBytes) {
          refused = true;
          chunks.length = 0;
          req.pause();
          return refuse();
        }
        chunks.push(chunk);
      });
      req.on("end", () => {
        if (refused) return;
        const body = new Uint8Array(total);
        let at = 0;
        for (const c of chunks) {
          body.set(c, at);
          at += c.length;
        }
        resolve(body);
      });
      req.on("error", (e: Error) => {
        if (!refused) reject(e);
      });
    });
  // Deno's node:https accepts an unusable certificate or key and fails each handshake later.
  const crypto = await import("node:crypto");
  const invalid = (what: string, e?: unknown) =>
    Object.assign(new Error(what), { name: "InvalidData", cause: e });
  let cert;
  try {
    cert = new crypto.X509Certificate(options.certPem);
  } catch (e) {
    throw invalid("the certificate is not a PEM certificate", e);
  }
  let key;
  try {
    key = crypto.createPrivateKey(options.keyPem);
  } catch (e) {
    throw invalid("the key is not a PEM private key", e);
  }
  if (!cert.checkPrivateKey(key)) throw invalid("the key is not the certificate's");
  if (options.clientCaPem !== undefined) {
    try {
      new crypto.X509Certificate(options.clientCaPem);
    } catch (e) {
      throw invalid("the client CA is not a PEM certificate", e);
    }
  }
  let server;
  try {
    server = https.createServer({
      key: options.keyPem,
      cert: options.certPem,
      ...(options.clientCaPem
        ? { ca: options.clientCaPem, requestCert: true, rejectUnauthorized: true }
        : {}),
    }, (req: Req, res: Res) => {
      const request: HttpRequest = {
        method: req.method ?? "GET",
        url: req.url ?? "/",
        headers: Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v]),
        ),
        body: (maxBytes) => readBody(req, res, maxBytes),
      };
      handler(request).then(
        (reply) => {
          res.writeHead(reply.status, { "Content-Type": "text/plain", ...reply.headers });
          res.end(reply.body ?? "");
        },
        () => {
          if (res.headersSent) return void res.destroy();
          res.writeHead(500, { "Content-Type": "text/plain" });
          res.end("internal error\n");
        },
      );
    });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw Object.assign(new Error(message), { name: "InvalidData", cause: e });
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: Error & { code?: string }) => {
      const name = LISTEN_ERRORS[e.code ?? ""] ?? e.name;
      reject(Object.assign(new Error(e.message), { name, cause: e }));
    });
    server.listen(options.port, options.hostname, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    hostname: options.hostname,
    port,
    close: (graceMs = 5000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections?.(), graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections?.();
      }),
  };
}
