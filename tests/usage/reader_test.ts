/** readAuditEvents(): files, folders, gzip, standard input, and lines however the bytes arrive. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { denoRuntime, type Runtime } from "../../src/runtime.ts";
import type { AuditEvent } from "../../src/usage/event.ts";
import { readAuditEvents, type ReadStats } from "../../src/usage/reader.ts";

/** A runtime whose standard input delivers `chunks` one by one, as a pipe may split them. */
function stdinOf(chunks: Uint8Array[]): Runtime {
  return {
    ...denoRuntime(),
    stdin: {
      isTerminal: () => false,
      readAll: () => Promise.reject(new Error("readAll must not be used when readable is there")),
      readable: () =>
        new ReadableStream<Uint8Array>({
          pull(controller) {
            const chunk = chunks.shift();
            if (chunk) controller.enqueue(chunk);
            else controller.close();
          },
        }),
    },
  };
}

async function read(runtime: Runtime, source: string, options = {}) {
  const events: AuditEvent[] = [];
  const stats = await readAuditEvents(runtime, source, (e) => events.push(e), options);
  return { events, stats };
}

function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Response(stream).bytes();
}

const encode = (text: string) => new TextEncoder().encode(text);

/** `n` events, one a line, each naming its index in `auditID` and a non-ASCII user agent. */
function lines(n: number, from = 0): string {
  let text = "";
  for (let i = from; i < from + n; i++) {
    text += JSON.stringify({
      kind: "Event",
      auditID: `id-${i}`,
      stage: "ResponseComplete",
      userAgent: `client-é-☃-${"x".repeat(i % 7)}`,
    }) + "\n";
  }
  return text;
}

const ids = (events: AuditEvent[]) => events.map((e) => e.auditID);
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `id-${i + from}`);

Deno.test("readAuditEvents() reads a file's events in order, whatever the chunk size", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "audit.log");
    // Long enough to span reads (a megabyte) and the pieces decoded of each (64 KB); the last
    // line has no newline.
    const text = lines(30000).slice(0, -1);
    await Deno.writeTextFile(file, text);
    const { events, stats } = await read(denoRuntime(), file);
    assert.deepEqual(ids(events), range(30000));
    assert.equal(events[5].userAgent, "client-é-☃-xxxxx");
    assert.deepEqual(
      { files: stats.files, bytes: stats.bytes, lines: stats.lines, events: stats.events },
      { files: 1, bytes: encode(text).length, lines: 30000, events: 30000 },
    );
    await t.step("a line longer than any read, split inside a multi-byte character", async () => {
      const long = JSON.stringify({ auditID: "long", userAgent: "☃".repeat(1_500_000) });
      await Deno.writeTextFile(file, `${lines(2)}${long}\n${lines(2, 2)}`);
      const { events } = await read(denoRuntime(), file);
      assert.deepEqual(ids(events), ["id-0", "id-1", "long", "id-2", "id-3"]);
      assert.equal(events[2].userAgent, "☃".repeat(1_500_000));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readAuditEvents() counts and locates lines that are not events, and goes on", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "audit.log");
    const good = (id: string) => JSON.stringify({ kind: "Event", auditID: id });
    await Deno.writeTextFile(
      file,
      [
        "\uFEFF" + good("bom"), // a byte order mark at the start of the file
        "",
        "   ",
        good("crlf") + "\r",
        "{not json",
        "[1,2]",
        "42",
        JSON.stringify({ kind: "Pod" }),
        JSON.stringify({ kind: "EventList" }),
        JSON.stringify({
          kind: "EventList",
          items: [{ auditID: "in-list-1" }, 7, { auditID: "in-list-2" }],
        }),
        "\uFEFF" + good("mid-bom"), // trim() removes it inside the file as well
        good("no-kind").replace('"kind":"Event",', ""),
      ].join("\n") + "\n",
    );
    const { events, stats } = await read(denoRuntime(), file);
    assert.deepEqual(ids(events), ["bom", "crlf", "in-list-1", "in-list-2", "mid-bom", "no-kind"]);
    assert.deepEqual(
      { lines: stats.lines, events: stats.events, malformed: stats.malformed },
      { lines: 12, events: 6, malformed: 6 },
    );
    assert.deepEqual(stats.malformedSamples, [
      { file, line: 5, reason: "not JSON" },
      { file, line: 6, reason: "not a JSON object" },
      { file, line: 7, reason: "not a JSON object" },
      { file, line: 8, reason: 'kind "Pod", not Event' },
      { file, line: 9, reason: "an EventList without items" },
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readAuditEvents() reads a folder in rotation order, gzip files by their bytes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "audit.log"), lines(2, 40)); // the live file: last
    await Deno.writeFile(
      join(dir, "audit-2026-12-01T10-00-00.000.log"), // gzip without a .gz name
      await gzip(encode(lines(3000, 10))),
    );
    await Deno.writeTextFile(join(dir, "audit-2026-11-30T10-00-00.000.log"), lines(3));
    await Deno.writeTextFile(join(dir, ".hidden"), "not read");
    await Deno.mkdir(join(dir, "sub"));
    await Deno.writeTextFile(join(dir, "sub", "audit.log"), lines(1, 99));
    const { events, stats } = await read(denoRuntime(), dir);
    assert.deepEqual(ids(events), [...range(3), ...range(3000, 10), ...range(2, 40)]);
    assert.equal(stats.files, 3);
    const sizes = await Promise.all(
      ["audit.log", "audit-2026-12-01T10-00-00.000.log", "audit-2026-11-30T10-00-00.000.log"]
        .map(async (name) => (await Deno.stat(join(dir, name))).size),
    );
    assert.equal(stats.bytes, sizes.reduce((a, b) => a + b, 0), "compressed bytes for gzip");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readAuditEvents() reads standard input however a pipe splits it", async (t) => {
  const bytes = encode(lines(50));
  const cases: [string, (b: Uint8Array) => Uint8Array[]][] = [
    ["one chunk", (b) => [b]],
    ["one byte a chunk", (b) => Array.from(b, (x) => Uint8Array.of(x))],
    [
      "7 bytes a chunk",
      (b) =>
        Array.from({ length: Math.ceil(b.length / 7) }, (_, i) => b.subarray(i * 7, i * 7 + 7)),
    ],
  ];
  for (const [name, split] of cases) {
    await t.step(name, async () => {
      const { events, stats } = await read(stdinOf(split(bytes)), "-");
      assert.deepEqual(ids(events), range(50));
      assert.equal(events[3].userAgent, "client-é-☃-xxx");
      assert.deepEqual([stats.files, stats.bytes, stats.lines], [1, bytes.length, 50]);
    });
  }
  await t.step("a byte order mark, one byte a chunk", async () => {
    const bom = encode("\uFEFF" + lines(3));
    const { events } = await read(stdinOf(Array.from(bom, (x) => Uint8Array.of(x))), "-");
    assert.deepEqual(ids(events), range(3));
  });
  await t.step("gzip, one byte a chunk", async () => {
    const gz = await gzip(bytes);
    const { events, stats } = await read(stdinOf(Array.from(gz, (x) => Uint8Array.of(x))), "-");
    assert.deepEqual(ids(events), range(50));
    assert.equal(stats.bytes, gz.length);
  });
  await t.step("empty", async () => {
    const { events, stats } = await read(stdinOf([]), "-");
    assert.deepEqual([events.length, stats.lines, stats.bytes], [0, 0, 0]);
  });
  await t.step("one byte that is not gzip", async () => {
    const { events, stats } = await read(stdinOf([encode("x")]), "-");
    assert.deepEqual([events.length, stats.lines, stats.malformed], [0, 1, 1]);
  });
});

Deno.test("readAuditEvents() reports progress every so many lines", async () => {
  const seen: Pick<ReadStats, "lines" | "events">[] = [];
  await read(stdinOf([encode(lines(25))]), "-", {
    progressEvery: 10,
    onProgress: (s: Readonly<ReadStats>) => seen.push({ lines: s.lines, events: s.events }),
  });
  assert.deepEqual(seen, [{ lines: 10, events: 9 }, { lines: 20, events: 19 }]);
});
