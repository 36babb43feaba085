/**
 * The audit webhook backend of `usage serve`: the API server's webhook backend
 * (`--audit-webhook-config-file`, a kubeconfig naming this server) POSTs batches of events as
 * an `audit.k8s.io/v1` (or, with `--audit-webhook-version`, `v1beta1`) `EventList` in JSON to
 * the URL of that kubeconfig's cluster (k8s.io/apiserver/plugin/pkg/audit/webhook). Each batch
 * is aggregated at once, answered 200, and the aggregates are merged into the usage database in
 * one transaction at most every second (or sooner once many events wait), so that a batch costs
 * the database one upsert per credential, not one row per event.
 *
 * Memory stays bounded: at most `maxQueuedEvents` events wait (as aggregates) for the database;
 * beyond that, while the database falls behind, a batch is refused with 503 and counted, and
 * the API server sends it again later (its webhook retries every error, with back-off). Bodies
 * larger than `maxBodyBytes` get 413, malformed ones 400; both are counted. Event contents are
 * never logged: the log line (at -v 1, once a minute) has counts only.
 */
import type { AuditEvent } from "./event.ts";
import { CliError } from "../errors.ts";
import { emptySnapshot, mergeSnapshots, type UsageSnapshot } from "./model.ts";
import type { HttpRequest, HttpResponse, Runtime } from "../runtime.ts";

/** The `apiVersion`s of EventList the API server's webhook may send. */
export const EVENT_LIST_VERSIONS = ["audit.k8s.io/v1", "audit.k8s.io/v1beta1"] as const;

/** Where the aggregates go: the usage database (store.ts), or anything with its shape. */
export interface UsageSink {
  merge(snapshot: UsageSnapshot): void;
  close(): void;
}

/** Options of {@link startWebhook}. */
export interface WebhookOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  certPem: string;
  keyPem: string;
  /** When set, clients (the API server) must present a certificate issued by these CAs. */
  clientCaPem?: string;
  sink: UsageSink;
  /** Events of one batch to their aggregates (the aggregator of aggregate.ts). */
  aggregate: (events: AuditEvent[]) => UsageSnapshot;
  /** Larger bodies get 413 (default 64 MiB). */
  maxBodyBytes?: number;
  /** How often waiting aggregates are written (default 1 s). */
  flushIntervalMs?: number;
  /** Write sooner once this many events wait (default 20 000). */
  flushEvents?: number;
  /** Refuse batches (503) while this many events wait (default 200 000). */
  maxQueuedEvents?: number;
  /** How often the rate line is logged (default 60 s). */
  statsIntervalMs?: number;
  /** Where the rate line goes (stderr at -v 1); unset: not logged. */
  log?: (line: string) => void;
  /** Where failures to write the database are told (stderr), at most once per stats interval. */
  warn: (line: string) => void;
}

/** What the webhook counted since it started. */
export interface WebhookStats {
  /** Batches accepted (200) and their events. */
  batches: number;
  events: number;
  /** Batches refused (503) because too many events waited for the database, and their events. */
  droppedBatches: number;
  droppedEvents: number;
  /** Bodies refused as not an EventList (400) and as too large (413). */
  malformed: number;
  tooLarge: number;
  /** Transactions written, and failed attempts (the aggregates are kept and written later). */
  flushes: number;
  flushErrors: number;
  /** Events waiting for the database now. */
  queuedEvents: number;
}

/** A running webhook. */
export interface Webhook {
  readonly hostname: string;
  readonly port: number;
  stats(): WebhookStats;
  /** Stop accepting batches, answer those in flight, write what waits, close the sink. */
  stop(): Promise<void>;
}

const MIB = 1024 * 1024;

function text(status: number, body: string, headers?: Record<string, string>): HttpResponse {
  return { status, body: body + "\n", headers };
}

/** The events of an EventList body, or why it is not one (never quoting the body). */
export function parseEventList(body: Uint8Array): AuditEvent[] | string {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return "the body is not JSON";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "the body is not an EventList object";
  }
  const list = value as { kind?: unknown; apiVersion?: unknown; items?: unknown };
  if (list.kind !== "EventList") return 'the body\'s kind is not "EventList"';
  if (!EVENT_LIST_VERSIONS.includes(list.apiVersion as typeof EVENT_LIST_VERSIONS[number])) {
    return `the body's apiVersion is not one of ${EVENT_LIST_VERSIONS.join(", ")}`;
  }
  if (list.items === undefined || list.items === null) return [];
  if (!Array.isArray(list.items)) return "the body's items is not a list";
  for (const item of list.items) {
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      return "an item of the body is not an event object";
    }
  }
  return list.items as AuditEvent[];
}

/** Start the webhook; fails as {@link Runtime.serveHttps} does. */
export async function startWebhook(runtime: Runtime, options: WebhookOptions): Promise<Webhook> {
  const maxBodyBytes = options.maxBodyBytes ?? 64 * MIB;
  const flushIntervalMs = options.flushIntervalMs ?? 1000;
  const flushEvents = options.flushEvents ?? 20_000;
  const maxQueuedEvents = options.maxQueuedEvents ?? 200_000;
  const statsIntervalMs = options.statsIntervalMs ?? 60_000;
  const stats: WebhookStats = {
    batches: 0,
    events: 0,
    droppedBatches: 0,
    droppedEvents: 0,
    malformed: 0,
    tooLarge: 0,
    flushes: 0,
    flushErrors: 0,
    queuedEvents: 0,
  };
  // What waits for the database: one snapshot, merged batch by batch.
  let pending: UsageSnapshot | undefined;
  let stopping = false;
  let lastWarning = -Infinity;
  let soon: ReturnType<typeof setTimeout> | undefined;

  const flush = (): boolean => {
    if (soon !== undefined) {
      clearTimeout(soon);
      soon = undefined;
    }
    if (!pending) return true;
    try {
      options.sink.merge(pending);
    } catch (e) {
      stats.flushErrors++;
      const now = performance.now();
      if (now - lastWarning >= statsIntervalMs) {
        lastWarning = now;
        options.warn(
          `${e instanceof Error ? e.message : String(e)} (${stats.queuedEvents} events wait; ` +
            `retrying)`,
        );
      }
      return false;
    }
    pending = undefined;
    stats.queuedEvents = 0;
    stats.flushes++;
    return true;
  };

  const handle = async (request: HttpRequest): Promise<HttpResponse> => {
    const path = request.url.split("?")[0];
    if (request.method === "GET" && (path === "/healthz" || path === "/readyz")) {
      return text(200, "ok");
    }
    if (request.method !== "POST") {
      return text(405, "only POST is served: an audit.k8s.io/v1 EventList", { Allow: "POST" });
    }
    if (stopping) return text(503, "shutting down", { "Retry-After": "1" });
    const type = request.headers["content-type"];
    if (type !== undefined && !/^application\/json\b/i.test(type)) {
      stats.malformed++;
      return text(415, "the body must be application/json");
    }
    let body: Uint8Array;
    try {
      body = await request.body(maxBodyBytes);
    } catch (e) {
      if ((e as Error)?.name === "TooLarge") {
        stats.tooLarge++;
        return text(413, `the body is larger than ${maxBodyBytes} bytes`);
      }
      throw e;
    }
    const events = parseEventList(body);
    if (typeof events === "string") {
      stats.malformed++;
      return text(400, events);
    }
    if (stats.queuedEvents + events.length > maxQueuedEvents && !flush()) {
      stats.droppedBatches++;
      stats.droppedEvents += events.length;
      return text(503, "the usage database is behind; send the batch again later", {
        "Retry-After": "1",
      });
    }
    const snapshot = options.aggregate(events);
    pending = mergeSnapshots(pending ?? emptySnapshot(), snapshot);
    stats.queuedEvents += events.length;
    stats.batches++;
    stats.events += events.length;
    if (stats.queuedEvents >= flushEvents && soon === undefined) soon = setTimeout(flush, 0);
    return text(200, "ok");
  };

  const server = await runtime.serveHttps({
    hostname: options.hostname,
    port: options.port,
    certPem: options.certPem,
    keyPem: options.keyPem,
    clientCaPem: options.clientCaPem,
  }, handle);

  const flusher = setInterval(flush, flushIntervalMs);
  let counted = { at: performance.now(), events: 0, batches: 0 };
  const reporter = options.log
    ? setInterval(() => {
      const now = performance.now();
      const seconds = Math.max((now - counted.at) / 1000, 0.001);
      const events = stats.events - counted.events;
      options.log!(
        `usage serve: ${(events / seconds).toFixed(1)} events/s over ${seconds.toFixed(0)}s ` +
          `(${stats.batches - counted.batches} batches); since start: ${stats.events} events, ` +
          `${stats.droppedBatches} batches refused while the database was behind, ` +
          `${stats.malformed} malformed, ${stats.tooLarge} too large, ` +
          `${stats.flushErrors} failed writes; ${stats.queuedEvents} events waiting`,
      );
      counted = { at: now, events: stats.events, batches: stats.batches };
    }, statsIntervalMs)
    : undefined;

  return {
    hostname: server.hostname,
    port: server.port,
    stats: () => ({ ...stats }),
    async stop() {
      stopping = true;
      await server.close();
      clearInterval(flusher);
      if (reporter !== undefined) clearInterval(reporter);
      const written = flush();
      options.sink.close();
      if (!written) {
        throw new CliError(
          `Cannot write the last ${stats.queuedEvents} events to the usage database`,
        );
      }
    },
  };
}
