/**
 * `kubectl token usage serve`: the audit webhook backend (src/usage/serve.ts) writing into the
 * usage database (src/usage/store.ts), until SIGINT or SIGTERM; then what waits is written, the
 * database closed, and the exit code is 0.
 */
import type { CommandContext } from "../context.ts";
import { CliError, UsageError } from "../errors.ts";
import { fileError } from "../fs/file_error.ts";
import { parseDaysFlag } from "../flags/duration.ts";
import type { AuditEvent } from "../usage/event.ts";
import type { UsageSnapshot } from "../usage/model.ts";

/** Flags of `usage serve`. */
export interface UsageServeOptions {
  listen?: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  clientCaFile?: string;
  db?: string;
  retain: string;
  maxBodySize: string;
}

/** What tests may replace. */
export interface UsageServeDeps {
  /** Events of one batch to their aggregates (default: the aggregator of src/usage/aggregate.ts). */
  aggregate?: (events: AuditEvent[]) => UsageSnapshot;
  /** Stops the server when it settles (default: SIGINT or SIGTERM). */
  stop?: Promise<void>;
  /** Told the address once the server listens. */
  listening?: (address: { hostname: string; port: number }) => void;
}

/** `--listen`: `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (every IPv4 address). */
export function parseListen(text: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]\s]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new UsageError(
      `Invalid value "${text}" for flag --listen: expected HOST:PORT, such as 127.0.0.1:8443 ` +
        `or :8443`,
    );
  }
  return { hostname: m[1] ?? (m[2] || "0.0.0.0"), port };
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  K: 1000,
  M: 1000 ** 2,
  G: 1000 ** 3,
};

/** `--max-body-size`: bytes, or a Kubernetes quantity such as 64Mi. */
export function parseSize(flag: string, text: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(text);
  const bytes = m ? Number(m[1]) * SIZE_UNITS[m[2] ?? ""] : NaN;
  if (!m || !Number.isSafeInteger(bytes) || bytes < 1) {
    throw new UsageError(
      `Invalid value "${text}" for flag --${flag}: expected a size such as 64Mi or 1048576`,
    );
  }
  return bytes;
}

/**
 * Batches split the stages of one request (a watch's ResponseStarted comes minutes before its
 * ResponseComplete), and each batch is aggregated on its own: so the webhook counts a request
 * at its final stage only (ResponseComplete or Panic, or an event without a stage), which every
 * request reaches, instead of the log reader's wait for the final stage within one input.
 */
async function loadAggregate(): Promise<(events: AuditEvent[]) => UsageSnapshot> {
  const { UsageAggregator } = await import("../usage/aggregate.ts");
  return (events) => {
    const aggregator = new UsageAggregator();
    for (const e of events) {
      if (e.stage === undefined || e.stage === "ResponseComplete" || e.stage === "Panic") {
        aggregator.add(e);
      }
    }
    // The aggregator ends here: its records are handed over, not copied.
    return aggregator.finish();
  };
}

async function readPem(ctx: CommandContext, what: string, path: string): Promise<string> {
  try {
    return await ctx.runtime.readTextFile(path, { maxBytes: 1024 * 1024 });
  } catch (e) {
    throw fileError(`read ${what} "${path}"`, e);
  }
}

const LISTEN_FAILURES: Record<string, string> = {
  AddrInUse: "the address is already in use",
  AddrNotAvailable: "the address is not one of this machine's",
  PermissionDenied: "permission denied (ports below 1024 need privileges)",
};

/** Run `usage serve`; returns the exit code once stopped. */
export async function runUsageServe(
  ctx: CommandContext,
  opts: UsageServeOptions,
  deps: UsageServeDeps = {},
): Promise<number> {
  const runtime = ctx.runtime;
  const required: [string, string | undefined][] = [
    ["--listen", opts.listen],
    ["--tls-cert-file", opts.tlsCertFile],
    ["--tls-private-key-file", opts.tlsPrivateKeyFile],
  ];
  const missing = required.filter(([, value]) => !value).map(([flag]) => flag);
  if (missing.length) {
    throw new UsageError(
      `Flag${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ` +
        `${missing.length > 1 ? "are" : "is"} required: usage serve --listen ADDR ` +
        "--tls-cert-file FILE --tls-private-key-file FILE",
    );
  }
  const [listenText, certFile, keyFile] = [
    opts.listen!,
    opts.tlsCertFile!,
    opts.tlsPrivateKeyFile!,
  ];
  const listen = parseListen(listenText);
  const retainMs = parseDaysFlag("retain", opts.retain);
  const maxBodyBytes = parseSize("max-body-size", opts.maxBodySize);
  const { defaultUsageDbPath, openUsageStore } = await import("../usage/store.ts");
  const path = opts.db ?? defaultUsageDbPath(runtime);
  if (!path) throw new CliError("Cannot find the usage database: set --db, KUBECACHEDIR or HOME");
  const certPem = await readPem(ctx, "TLS certificate file", certFile);
  const keyPem = await readPem(ctx, "TLS private key file", keyFile);
  const clientCaPem = opts.clientCaFile
    ? await readPem(ctx, "client CA file", opts.clientCaFile)
    : undefined;
  const aggregate = deps.aggregate ?? await loadAggregate();
  const store = await openUsageStore(runtime, path, {
    retainMs,
    defaultPath: opts.db === undefined,
  });
  const { startWebhook } = await import("../usage/serve.ts");
  let webhook;
  try {
    webhook = await startWebhook(runtime, {
      ...listen,
      certPem,
      keyPem,
      clientCaPem,
      sink: store,
      aggregate,
      maxBodyBytes,
      log: ctx.verbosity >= 1 ? (line) => ctx.log(1, line) : undefined,
      warn: (line) => ctx.warn(line),
    });
  } catch (e) {
    store.close();
    const name = (e as Error)?.name ?? "";
    if (name in LISTEN_FAILURES) {
      throw new CliError(`Cannot listen on "${listenText}": ${LISTEN_FAILURES[name]}`);
    }
    if (name === "InvalidData") {
      throw new CliError(
        `Cannot use the TLS certificate "${certFile}" and key "${keyFile}"` +
          `${opts.clientCaFile ? ` or the client CA "${opts.clientCaFile}"` : ""}: ` +
          (e as Error).message,
      );
    }
    throw new CliError(`Cannot listen on "${listenText}": ${(e as Error)?.message ?? e}`);
  }
  const host = webhook.hostname.includes(":") ? `[${webhook.hostname}]` : webhook.hostname;
  if (!clientCaPem) {
    ctx.warn(
      `no --client-ca-file: anyone who can reach ${host}:${webhook.port} can write usage data; ` +
        "give the API server a client certificate and its CA here",
    );
  }
  runtime.stderr.write(
    `Serving the audit webhook on https://${host}:${webhook.port}/ into "${path}" ` +
      `(${retainMs > 0 ? `pruning what is not seen for ${opts.retain}` : "keeping everything"})\n`,
  );
  deps.listening?.({ hostname: webhook.hostname, port: webhook.port });
  const offs: (() => void)[] = [];
  await (deps.stop ?? new Promise<void>((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      offs.push(runtime.onSignal(signal, resolve));
    }
  }));
  for (const off of offs) off();
  await webhook.stop();
  const s = webhook.stats();
  ctx.log(
    1,
    `usage serve: stopped after ${s.events} events in ${s.batches} batches (${s.droppedBatches} ` +
      `refused, ${s.malformed} malformed, ${s.tooLarge} too large)`,
  );
  return 0;
}
