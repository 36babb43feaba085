/**
 * Stream audit events from where clusters keep them: a JSON-lines file as the log backend
 * writes it, a folder of rotated files, gzip-compressed files (recognised by their magic bytes,
 * whatever their name), or standard input (`-`). Memory stays flat: one line at a time.
 * A line may also hold an `EventList` (a saved webhook batch). Lines that are not an event are
 * counted, with the first few located, and never stop the read.
 */
import { join } from "node:path";
import type { Runtime } from "../runtime.ts";
import type { AuditEvent } from "./event.ts";
import { fileError } from "../fs/file_error.ts";

/** Where one malformed line is. */
export interface MalformedLine {
  file: string;
  line: number;
  reason: string;
}

/** What a read went through. */
export interface ReadStats {
  files: number;
  /** Bytes read from the sources, compressed size for gzip files. */
  bytes: number;
  lines: number;
  events: number;
  malformed: number;
  /** The first malformed lines (at most {@link MALFORMED_SAMPLES}). */
  malformedSamples: MalformedLine[];
}

/** How many malformed lines are located in {@link ReadStats.malformedSamples}. */
export const MALFORMED_SAMPLES = 5;

/** Options for {@link readAuditEvents}. */
export interface ReadOptions {
  /** Called about every `progressEvery` lines with the running totals (for a progress line). */
  onProgress?: (stats: Readonly<ReadStats>) => void;
  progressEvery?: number;
}

/**
 * Read every event in `source` (a file, a folder, or "-" for standard input), calling `onEvent`
 * for each, in file order; folders are read in name order, which is the rotation order of the
 * log backend's `NAME-TIMESTAMP.EXT` files, with the live file last.
 */
export async function readAuditEvents(
  runtime: Runtime,
  source: string,
  onEvent: (event: AuditEvent) => void,
  options: ReadOptions = {},
): Promise<ReadStats> {
  const stats: ReadStats = {
    files: 0,
    bytes: 0,
    lines: 0,
    events: 0,
    malformed: 0,
    malformedSamples: [],
  };
  const every = options.progressEvery ?? 100_000;
  const reader = new LineHandler(stats, onEvent, every, options.onProgress);
  if (source === "-") {
    const stream = runtime.stdin.readable?.() ?? streamOf(await runtime.stdin.readAll());
    stats.files++;
    await reader.read("<stdin>", stream);
    return stats;
  }
  let files: string[];
  try {
    const info = await runtime.stat(source);
    files = info.isDirectory ? await filesOf(runtime, source) : [source];
  } catch (e) {
    throw fileError(`read audit events "${source}"`, e);
  }
  for (const file of files) {
    let stream: ReadableStream<Uint8Array>;
    try {
      stream = (await runtime.open(file)).readable();
    } catch (e) {
      throw fileError(`read audit events "${file}"`, e);
    }
    stats.files++;
    try {
      await reader.read(file, stream);
    } catch (e) {
      throw fileError(`read audit events "${file}"`, e);
    }
  }
  return stats;
}

/** The regular files of a folder in rotation order: rotated `audit-2026-...log[.gz]` before the live `audit.log`. */
async function filesOf(runtime: Runtime, dir: string): Promise<string[]> {
  const names = (await runtime.readDir(dir)).filter((n) => !n.startsWith("."));
  const files: string[] = [];
  for (const name of names.sort()) {
    const path = join(dir, name);
    const info = await runtime.stat(path);
    if (info.isFile) files.push(path);
  }
  // A live file (no timestamp in its name) sorts after the rotated ones of the same base.
  const rotated = (p: string) => /\d{4}-\d{2}-\d{2}T/.test(p) ? 0 : 1;
  return files.sort((a, b) => rotated(a) - rotated(b) || (a < b ? -1 : a > b ? 1 : 0));
}

class LineHandler {
  #stats: ReadStats;
  #onEvent: (event: AuditEvent) => void;
  #every: number;
  #onProgress?: (stats: Readonly<ReadStats>) => void;

  constructor(
    stats: ReadStats,
    onEvent: (event: AuditEvent) => void,
    every: number,
    onProgress?: (stats: Readonly<ReadStats>) => void,
  ) {
    this.#stats = stats;
    this.#onEvent = onEvent;
    this.#every = every;
    this.#onProgress = onProgress;
  }

  async read(file: string, stream: ReadableStream<Uint8Array>): Promise<void> {
    const stats = this.#stats;
    const counted = stream.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          stats.bytes += chunk.length;
          controller.enqueue(chunk);
        },
      }),
    );
    const text = (await gunzipIfCompressed(counted)).pipeThrough(new TextDecoderStream());
    let rest = "";
    let line = 0;
    for await (const chunk of text) {
      const data = rest + chunk;
      let start = 0;
      for (let nl = data.indexOf("\n"); nl !== -1; nl = data.indexOf("\n", start)) {
        this.#line(file, ++line, data.slice(start, nl));
        start = nl + 1;
      }
      rest = data.slice(start);
    }
    if (rest.length) this.#line(file, ++line, rest);
  }

  #line(file: string, line: number, text: string): void {
    const stats = this.#stats;
    stats.lines++;
    if (this.#onProgress && stats.lines % this.#every === 0) this.#onProgress(stats);
    const trimmed = text.trim();
    if (!trimmed) return;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      this.#malformed(file, line, "not JSON");
      return;
    }
    if (!value || typeof value !== "object" || Array.isArray(value)) {
      this.#malformed(file, line, "not a JSON object");
      return;
    }
    const object = value as { kind?: unknown; items?: unknown };
    if (object.kind === "EventList") {
      if (!Array.isArray(object.items)) {
        this.#malformed(file, line, "an EventList without items");
        return;
      }
      for (const item of object.items) {
        if (item && typeof item === "object" && !Array.isArray(item)) {
          stats.events++;
          this.#onEvent(item as AuditEvent);
        } else this.#malformed(file, line, "an EventList item that is not an object");
      }
      return;
    }
    if (object.kind !== undefined && object.kind !== "Event") {
      this.#malformed(file, line, `kind "${String(object.kind).slice(0, 40)}", not Event`);
      return;
    }
    stats.events++;
    this.#onEvent(value as AuditEvent);
  }

  #malformed(file: string, line: number, reason: string): void {
    const stats = this.#stats;
    stats.malformed++;
    if (stats.malformedSamples.length < MALFORMED_SAMPLES) {
      stats.malformedSamples.push({ file, line, reason });
    }
  }
}

/** The stream itself, or its gunzipped content when it starts with gzip's magic bytes. */
async function gunzipIfCompressed(
  stream: ReadableStream<Uint8Array>,
): Promise<ReadableStream<Uint8Array>> {
  const reader = stream.getReader();
  const head: Uint8Array[] = [];
  let size = 0;
  while (size < 2) {
    const { value, done } = await reader.read();
    if (done) break;
    head.push(value);
    size += value.length;
  }
  const replay = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of head) controller.enqueue(chunk);
    },
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  const first = head[0];
  const second = first?.length > 1 ? first[1] : head[1]?.[0];
  if (first?.[0] === 0x1f && second === 0x8b) {
    return replay.pipeThrough(
      new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    );
  }
  return replay;
}

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}
