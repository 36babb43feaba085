import assert from "node:assert/strict";
import { CertificateAuthority } from "../apiserver/_pki.ts";
import { denoRuntime } from "../../src/runtime.ts";
import { parseEventList, startWebhook, type UsageSink } from "../../src/usage/serve.ts";
import { emptySnapshot, mergeSnapshots, type UsageSnapshot } from "../../src/usage/model.ts";
import type { AuditEvent } from "../../src/usage/event.ts";
import { parseListen, parseSize } from "../../src/commands/usage_serve.ts";

const DAY = 86_400_000;

/** A test aggregate: counts events, nothing else. */
function countEvents(events: AuditEvent[]): UsageSnapshot {
  return { ...emptySnapshot(), events: events.length };
}

function tls() {
  const now = new Date();
  const ca = new CertificateAuthority(now, now);
  const serving = ca.issueServing(new Date(now.getTime() - DAY), new Date(now.getTime() + DAY));
  return { ca, serving };
}

const list = (n: number) =>
  JSON.stringify({
    kind: "EventList",
    apiVersion: "audit.k8s.io/v1",
    items: Array.from({ length: n }, (_, i) => ({ auditID: `a${i}` })),
  });

async function post(client: Deno.HttpClient, url: string, body: string): Promise<number> {
  const res = await fetch(url, {
    method: "POST",
    body,
    headers: { "Content-Type": "application/json" },
    client,
  });
  await res.body?.cancel();
  return res.status;
}

Deno.test("the webhook refuses batches with 503 while the database is behind, then catches up", async () => {
  const { ca, serving } = tls();
  let failing = true;
  let written = emptySnapshot();
  const sink: UsageSink = {
    merge: (s) => {
      if (failing) throw new Error('Cannot write the usage database "x": it is locked');
      written = mergeSnapshots(written, s);
    },
    close: () => {},
  };
  const warnings: string[] = [];
  const webhook = await startWebhook(denoRuntime(), {
    hostname: "127.0.0.1",
    port: 0,
    certPem: serving.certPem,
    keyPem: serving.keyPem,
    sink,
    aggregate: countEvents,
    flushIntervalMs: 60_000,
    maxQueuedEvents: 10,
    flushEvents: 1000,
    warn: (line) => warnings.push(line),
  });
  const client = Deno.createHttpClient({ caCerts: [ca.certPem] });
  const url = `https://127.0.0.1:${webhook.port}/`;
  try {
    assert.equal(await post(client, url, list(6)), 200);
    assert.equal(await post(client, url, list(4)), 200);
    // Full, and the database refuses the write: the batch is refused, memory does not grow.
    assert.equal(await post(client, url, list(1)), 503);
    assert.equal(await post(client, url, list(3)), 503);
    assert.deepStrictEqual(
      { ...webhook.stats(), flushErrors: 0 },
      {
        batches: 2,
        events: 10,
        droppedBatches: 2,
        droppedEvents: 4,
        malformed: 0,
        tooLarge: 0,
        flushes: 0,
        flushErrors: 0,
        queuedEvents: 10,
      },
    );
    assert.equal(warnings.length, 1, "one warning per interval, not one per batch");
    assert.match(
      warnings[0],
      /^Cannot write the usage database "x": it is locked \(10 events wait; retrying\)$/,
    );
    failing = false;
    // Full again, but now the write succeeds: the batch is taken.
    assert.equal(await post(client, url, list(1)), 200);
    assert.equal(written.events, 10);
  } finally {
    client.close();
    await webhook.stop();
  }
  assert.equal(written.events, 11);
  assert.equal(webhook.stats().queuedEvents, 0);
});

Deno.test("the webhook logs one line of counts per interval, never an event", async () => {
  const { ca, serving } = tls();
  const lines: string[] = [];
  const webhook = await startWebhook(denoRuntime(), {
    hostname: "127.0.0.1",
    port: 0,
    certPem: serving.certPem,
    keyPem: serving.keyPem,
    sink: { merge: () => {}, close: () => {} },
    aggregate: countEvents,
    statsIntervalMs: 100,
    log: (line) => lines.push(line),
    warn: (line) => lines.push(line),
  });
  const client = Deno.createHttpClient({ caCerts: [ca.certPem] });
  try {
    assert.equal(await post(client, `https://127.0.0.1:${webhook.port}/`, list(5)), 200);
    const deadline = Date.now() + 10_000;
    while (!lines.some((l) => /since start: 5 events/.test(l)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    client.close();
    await webhook.stop();
  }
  const line = lines.find((l) => /since start: 5 events/.test(l));
  assert.ok(line, lines.join("\n"));
  assert.match(
    line,
    /^usage serve: \d+\.\d events\/s over \d+s \(\d+ batches\); since start: 5 events, 0 batches refused while the database was behind, 0 malformed, 0 too large, 0 failed writes; \d+ events waiting$/,
  );
  assert.ok(lines.every((l) => !l.includes("a0")));
});

Deno.test("parseEventList() takes EventLists of audit.k8s.io/v1 and v1beta1 only", async (t) => {
  const enc = (v: unknown) =>
    new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
  const rows: [string, unknown, AuditEvent[] | string][] = [
    ["v1", { kind: "EventList", apiVersion: "audit.k8s.io/v1", items: [{ verb: "get" }] }, [{
      verb: "get",
    }]],
    ["v1beta1", { kind: "EventList", apiVersion: "audit.k8s.io/v1beta1", items: [] }, []],
    ["no items", { kind: "EventList", apiVersion: "audit.k8s.io/v1" }, []],
    [
      "v1alpha1",
      { kind: "EventList", apiVersion: "audit.k8s.io/v1alpha1", items: [] },
      "the body's apiVersion is not one of audit.k8s.io/v1, audit.k8s.io/v1beta1",
    ],
    [
      "an Event",
      { kind: "Event", apiVersion: "audit.k8s.io/v1" },
      'the body\'s kind is not "EventList"',
    ],
    ["not JSON", "{", "the body is not JSON"],
    ["not UTF-8", '"\udc00"', "the body is not JSON"],
    ["null", "null", "the body is not an EventList object"],
  ];
  for (const [name, body, expected] of rows) {
    await t.step(name, () => {
      const bytes = name === "not UTF-8" ? new Uint8Array([0x22, 0xff, 0x22]) : enc(body);
      assert.deepStrictEqual(parseEventList(bytes), expected);
    });
  }
});

Deno.test("parseListen() and parseSize() read --listen and --max-body-size", async (t) => {
  const good: [string, { hostname: string; port: number }][] = [
    ["127.0.0.1:8443", { hostname: "127.0.0.1", port: 8443 }],
    [":8443", { hostname: "0.0.0.0", port: 8443 }],
    ["[::1]:0", { hostname: "::1", port: 0 }],
    ["localhost:65535", { hostname: "localhost", port: 65535 }],
  ];
  for (const [text, expected] of good) {
    await t.step(text, () => assert.deepStrictEqual(parseListen(text), expected));
  }
  for (const text of ["8443", "host:", "host:65536", "::1:8443", "a b:1", ""]) {
    await t.step(`refuses "${text}"`, () => {
      assert.throws(() => parseListen(text), {
        name: "UsageError",
        message:
          `Invalid value "${text}" for flag --listen: expected HOST:PORT, such as 127.0.0.1:8443 or :8443`,
      });
    });
  }
  assert.equal(parseSize("max-body-size", "64Mi"), 64 * 1024 * 1024);
  assert.equal(parseSize("max-body-size", "1000"), 1000);
  assert.equal(parseSize("max-body-size", "2K"), 2000);
  for (const text of ["0", "1.5Mi", "-1", "64MB", "lots"]) {
    assert.throws(() => parseSize("max-body-size", text), {
      message:
        `Invalid value "${text}" for flag --max-body-size: expected a size such as 64Mi or 1048576`,
    });
  }
});
