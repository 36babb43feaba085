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
  /**
   * A fast path for lines in one known shape (event_line.ts): the event on the line, or
   * undefined to parse the line with `JSON.parse` as any other.
   */
  eventOfLine?: (line: string) => AuditEvent | undefined;
  /** Read one part of an input split by credential (src/usage/parallel.ts). */
  route?: LineRoute;
}

/**
 * How one part of an input split by credential reads it (src/usage/parallel.ts): each part
 * reads every line, parses the events of its own credentials, and of the others' only the
 * auditID and stage, from the start of a line in the log backend's shape ({@link claimOf});
 * a line without that start is parsed by every part.
 */
export interface LineRoute {
  /** Whether a line in the log backend's shape is this part's, by the text from `from` on. */
  ownsLine(line: string, from: number): boolean;
  /** Whether an event parsed by every part is this part's. */
  ownsEvent(event: AuditEvent): boolean;
  /** The other part's event at this place: its auditID and stage. */
  foreign(id: unknown, stage: unknown): void;
}

/**
 * A line of this part whose event is not what the other parts read from its start (a line that
 * is not JSON, another kind, a second auditID): the parts no longer agree on the input, which
 * must then be read in one part.
 */
export class PartsDisagree extends Error {
  constructor(file: string, line: number) {
    super(`line ${line} of ${file} is not the event its start says`);
    this.name = "PartsDisagree";
  }
}

/**
 * The start of a line in the log backend's shape, up to the stage (event_line.ts): the level,
 * the auditID and the stage without escapes (an escaped quote would end them early).
 */
const CLAIM = new RegExp(
  String
    .raw`\{"kind":"Event","apiVersion":"audit\.k8s\.io/v1","level":"[^"\\]*","auditID":"([^"\\]*)","stage":"([^"\\]*)"`,
  "y",
);

/** What a line says of its event from its start: [auditID, stage, where the stage ends]. */
type Claim = [id: string, stage: string, end: number];

/**
 * The auditID and stage at the start of a line in the log backend's shape, on a line that ends
 * with `}`; undefined for any other line. Whether the whole line is that event is for the part
 * that parses it to check.
 */
export function claimOf(line: string): Claim | undefined {
  if (line.charCodeAt(line.length - 1) !== 125) return undefined;
  CLAIM.lastIndex = 0;
  const m = CLAIM.exec(line);
  return m === null ? undefined : [m[1], m[2], CLAIM.lastIndex];
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
  const reader = new LineHandler(stats, onEvent, every, options);
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
      if (e instanceof PartsDisagree) throw e;
      throw fileError(`read audit events "${file}"`, e);
    }
  }
  return stats;
}

/** The regular files of a folder in rotation order: rotated `audit-2026-...log[.gz]` before the live `audit.log`. */
export async function filesOf(runtime: Runtime, dir: string): Promise<string[]> {
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
  #eventOfLine?: (line: string) => AuditEvent | undefined;
  #route?: LineRoute;

  constructor(
    stats: ReadStats,
    onEvent: (event: AuditEvent) => void,
    every: number,
    options: ReadOptions,
  ) {
    this.#stats = stats;
    this.#onEvent = onEvent;
    this.#every = every;
    this.#onProgress = options.onProgress;
    this.#eventOfLine = options.eventOfLine;
    this.#route = options.route;
  }

  async read(file: string, stream: ReadableStream<Uint8Array>): Promise<void> {
    const source = new ByteSource(stream, this.#stats);
    let buffer: Uint8Array = new Uint8Array(READ_BYTES);
    let filled = 0;
    while (filled < 2) {
      const n = await source.read(buffer, filled);
      buffer = source.buffer;
      if (n === null) break;
      filled += n;
    }
    if (buffer[0] === 0x1f && buffer[1] === 0x8b && filled >= 2) {
      source.gunzip(buffer.slice(0, filled));
      filled = 0;
    }
    const lines = new LineSplitter(file, (file, line, text) => this.#line(file, line, text));
    let spare: Uint8Array = new Uint8Array(READ_BYTES);
    for (let chunk = buffer.subarray(0, filled);;) {
      // The next read runs while this chunk's lines are parsed.
      const next = source.read(spare, 0);
      lines.push(chunk);
      const n = await next;
      if (n === null) break;
      spare = buffer;
      buffer = source.buffer;
      chunk = buffer.subarray(0, n);
    }
    lines.end();
  }

  #line(file: string, line: number, text: string): void {
    const stats = this.#stats;
    stats.lines++;
    if (this.#onProgress && stats.lines % this.#every === 0) this.#onProgress(stats);
    const trimmed = text.trim();
    if (!trimmed) return;
    const route = this.#route;
    if (route !== undefined) {
      const claim = claimOf(trimmed);
      if (claim !== undefined) {
        stats.events++;
        if (!route.ownsLine(trimmed, claim[2])) return route.foreign(claim[0], claim[1]);
        const event = this.#eventOfLine?.(trimmed) ?? singleEvent(trimmed);
        if (event?.auditID !== claim[0] || event.stage !== claim[1]) {
          throw new PartsDisagree(file, line);
        }
        return this.#onEvent(event);
      }
    }
    const event = this.#eventOfLine?.(trimmed);
    if (event !== undefined) {
      stats.events++;
      this.#onEvent(event);
      return;
    }
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
          this.#take(item as AuditEvent);
        } else this.#malformed(file, line, "an EventList item that is not an object");
      }
      return;
    }
    if (object.kind !== undefined && object.kind !== "Event") {
      this.#malformed(file, line, `kind "${String(object.kind).slice(0, 40)}", not Event`);
      return;
    }
    stats.events++;
    this.#take(value as AuditEvent);
  }

  /** An event every part parsed: this part's, or the other's auditID and stage. */
  #take(event: AuditEvent): void {
    const route = this.#route;
    if (route === undefined || route.ownsEvent(event)) this.#onEvent(event);
    else route.foreign(event.auditID, event.stage);
  }

  #malformed(file: string, line: number, reason: string): void {
    const stats = this.#stats;
    stats.malformed++;
    if (stats.malformedSamples.length < MALFORMED_SAMPLES) {
      stats.malformedSamples.push({ file, line, reason });
    }
  }
}

/**
 * Bytes in, lines out: whole lines are decoded at once, up to {@link DECODE_BYTES} at a time, with one decoder per
 * file as a TextDecoderStream would (a byte order mark is dropped at the start of the file only,
 * a character split between chunks is joined). A newline byte never occurs inside a multi-byte
 * character, so the bytes are cut there.
 */
class LineSplitter {
  #file: string;
  #onLine: (file: string, line: number, text: string) => void;
  #decoder = new TextDecoder();
  #line = 0;
  /** The start of a line that the chunks so far did not end. */
  #carry = "";

  constructor(file: string, onLine: (file: string, line: number, text: string) => void) {
    this.#file = file;
    this.#onLine = onLine;
  }

  push(chunk: Uint8Array): void {
    let from = 0;
    while (chunk.length - from > DECODE_BYTES) {
      const nl = chunk.lastIndexOf(10, from + DECODE_BYTES - 1);
      // A piece without a newline (a long line) goes to the carry whole.
      const end = nl >= from ? nl + 1 : from + DECODE_BYTES;
      this.#piece(chunk.subarray(from, end));
      from = end;
    }
    this.#piece(from === 0 ? chunk : chunk.subarray(from));
  }

  #piece(chunk: Uint8Array): void {
    const last = chunk.lastIndexOf(10);
    if (last === -1) {
      if (chunk.length) this.#carry += this.#decoder.decode(chunk, { stream: true });
      return;
    }
    const text = this.#decoder.decode(
      last + 1 === chunk.length ? chunk : chunk.subarray(0, last + 1),
      { stream: true },
    );
    let start = 0;
    let nl = text.indexOf("\n");
    if (this.#carry) {
      this.#onLine(this.#file, ++this.#line, this.#carry + text.slice(0, nl));
      this.#carry = "";
      start = nl + 1;
      nl = text.indexOf("\n", start);
    }
    for (; nl !== -1; nl = text.indexOf("\n", start)) {
      this.#onLine(this.#file, ++this.#line, text.slice(start, nl));
      start = nl + 1;
    }
    if (last + 1 < chunk.length) {
      this.#carry = this.#decoder.decode(chunk.subarray(last + 1), { stream: true });
    }
  }

  /** The last line, when the input does not end with a newline. */
  end(): void {
    const rest = this.#carry + this.#decoder.decode();
    this.#carry = "";
    if (rest.length) this.#onLine(this.#file, ++this.#line, rest);
  }
}

/** Bytes read at a time: few reads, each a round trip through the runtime's threads. */
const READ_BYTES = 1 << 20;

/**
 * Bytes decoded to text at a time. Text of a megabyte is a large object, which V8 promotes to
 * the old generation whenever a collection finds it in use, about a megabyte a collection.
 */
const DECODE_BYTES = 1 << 16;

/**
 * A file's bytes, read into the caller's buffer: by BYOB reads straight into it when the stream
 * is a byte stream (files and standard input: one read of up to {@link READ_BYTES}), else
 * copied from the stream's chunks; after {@link gunzip}, the decompressed bytes. Counts the
 * bytes read from the source (compressed bytes for gzip) in the stats.
 */
class ByteSource {
  /** The caller's buffer after a read (a BYOB read hands the memory back in a new view). */
  buffer: Uint8Array = new Uint8Array(0);
  #stats: ReadStats;
  #byob?: ReadableStreamBYOBReader;
  #chunks?: ReadableStreamDefaultReader<Uint8Array>;
  #rawPending?: Uint8Array;
  #gunzipped?: ReadableStreamDefaultReader<Uint8Array>;
  #pending?: Uint8Array;

  constructor(stream: ReadableStream<Uint8Array>, stats: ReadStats) {
    this.#stats = stats;
    try {
      this.#byob = stream.getReader({ mode: "byob" });
    } catch {
      this.#chunks = stream.getReader();
    }
  }

  /** Read some bytes into `buffer` from `at` on (there must be room); null at the end. */
  async read(buffer: Uint8Array, at: number): Promise<number | null> {
    if (!this.#gunzipped) {
      const read = await this.#readRaw(buffer, at);
      this.buffer = read.buffer;
      return read.n;
    }
    this.buffer = buffer;
    if (!this.#pending) {
      const { value, done } = await this.#gunzipped.read();
      if (done) return null;
      this.#pending = value;
    }
    return copy(this.#pending, buffer, at, (rest) => this.#pending = rest);
  }

  /** From now on, read the gunzipped content of `head` and of the rest of the source. */
  gunzip(head: Uint8Array): void {
    const compressed = new ReadableStream<Uint8Array>({
      start: (controller) => controller.enqueue(head),
      pull: async (controller) => {
        const { n, buffer } = await this.#readRaw(new Uint8Array(READ_BYTES), 0);
        if (n === null) controller.close();
        else controller.enqueue(buffer.subarray(0, n));
      },
      cancel: (reason) => (this.#byob ?? this.#chunks!).cancel(reason),
    });
    this.#gunzipped = compressed.pipeThrough(
      new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    ).getReader();
  }

  async #readRaw(
    buffer: Uint8Array,
    at: number,
  ): Promise<{ n: number | null; buffer: Uint8Array }> {
    if (this.#byob) {
      const { value, done } = await this.#byob.read(buffer.subarray(at));
      if (value) buffer = new Uint8Array(value.buffer);
      if (done || !value) return { n: null, buffer };
      this.#stats.bytes += value.length;
      return { n: value.length, buffer };
    }
    if (!this.#rawPending) {
      const { value, done } = await this.#chunks!.read();
      if (done) return { n: null, buffer };
      this.#stats.bytes += value.length;
      this.#rawPending = value;
    }
    return { n: copy(this.#rawPending, buffer, at, (rest) => this.#rawPending = rest), buffer };
  }
}

/** Copy what fits of `chunk` into `buffer` at `at`; `keep` gets the rest (undefined when none). */
function copy(
  chunk: Uint8Array,
  buffer: Uint8Array,
  at: number,
  keep: (rest: Uint8Array | undefined) => void,
): number {
  const n = Math.min(chunk.length, buffer.length - at);
  buffer.set(n === chunk.length ? chunk : chunk.subarray(0, n), at);
  keep(n === chunk.length ? undefined : chunk.subarray(n));
  return n;
}

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

/** The Event a line holds alone, as `JSON.parse` reads it; undefined for anything else. */
function singleEvent(line: string): AuditEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  return value && typeof value === "object" && (value as { kind?: unknown }).kind === "Event"
    ? value as AuditEvent
    : undefined;
}
