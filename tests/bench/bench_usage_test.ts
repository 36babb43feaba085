import assert from "node:assert/strict";
import { join } from "node:path";
import { generateAuditLog } from "../../scripts/_audit_log_gen.ts";
import { parseArgs, parseSize, summarizePairs } from "../../scripts/bench_usage.ts";
import { median } from "../../scripts/_stats.ts";
import { readAuditEvents } from "../../src/usage/reader.ts";
import type { AuditEvent } from "../../src/usage/event.ts";
import { denoRuntime } from "../../src/runtime.ts";

Deno.test("generateAuditLog() writes valid audit events of the realistic mix, deterministically", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-gen-" });
  try {
    const a = join(dir, "a.log");
    const result = await generateAuditLog(a, { bytes: 2_000_000, seed: 7 });
    const text = await Deno.readTextFile(a);
    assert.equal(result.bytes, new TextEncoder().encode(text).length);
    assert.ok(result.bytes >= 2_000_000 && result.bytes < 2_010_000);
    const lines = text.split("\n").filter((l) => l);
    assert.equal(lines.length, result.events);

    const events = lines.map((l) => JSON.parse(l) as AuditEvent);
    const users = new Set(events.map((e) => e.user?.username).filter((u) => u));
    assert.equal(users.size, result.users);
    for (const e of events) {
      assert.equal(e.kind, "Event");
      assert.equal(e.apiVersion, "audit.k8s.io/v1");
      assert.equal(e.level, "Metadata");
      assert.match(e.auditID!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.match(e.requestReceivedTimestamp!, /^2026-11-0\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.ok(e.stageTimestamp! >= e.requestReceivedTimestamp!);
      assert.ok(e.sourceIPs!.length === 1);
    }
    const count = (f: (e: AuditEvent) => boolean) => events.filter(f).length;
    const extra = (e: AuditEvent, k: string) =>
      e.user?.extra?.[`authentication.kubernetes.io/${k}`];
    // The mix: every kind of credential and request the usage command tells apart.
    assert.ok(
      count((e) =>
        !!extra(e, "pod-name") && !!extra(e, "pod-uid") && !!extra(e, "node-name") &&
        /^JTI=/.test(extra(e, "credential-id")?.[0] ?? "")
      ) > 0,
    );
    assert.ok(count((e) => /^X509SHA256=/.test(extra(e, "credential-id")?.[0] ?? "")) > 0);
    assert.ok(count((e) => e.user?.username?.startsWith("system:node:") === true) > 0);
    assert.ok(
      count((e) => e.annotations?.["authentication.k8s.io/legacy-token"] !== undefined) > 0,
    );
    assert.ok(
      count((e) =>
        /^JTI=/.test(e.annotations?.["authentication.kubernetes.io/issued-credential-id"] ?? "") &&
        e.objectRef?.subresource === "token"
      ) > 0,
    );
    assert.ok(
      count((e) =>
        e.responseStatus?.code === 403 &&
        e.annotations?.["authorization.k8s.io/decision"] === "forbid"
      ) > 0,
    );
    assert.ok(count((e) => e.responseStatus?.code === 401 && e.stage === "ResponseStarted") > 0);
    const watches = events.filter((e) => e.verb === "watch");
    assert.ok(watches.length > 0);
    for (const w of watches.filter((e) => e.stage === "ResponseStarted")) {
      assert.equal(watches.filter((e) => e.auditID === w.auditID).length, 2);
    }
    assert.ok(new Set(events.map((e) => e.userAgent)).size > 20);
    assert.ok(new Set(events.map((e) => e.sourceIPs![0])).size > 50);

    // The project's own reader takes every line.
    let read = 0;
    const stats = await readAuditEvents(denoRuntime(), a, () => {
      read++;
    });
    assert.equal(read, result.events);
    assert.equal(stats.malformed, 0);
    assert.equal(stats.events, result.events);

    const c = join(dir, "c.log");
    // A watch's two events may end the log one past the count.
    const counted = await generateAuditLog(c, { bytes: 1, events: 1234 });
    assert.ok(counted.events === 1234 || counted.events === 1235);
    assert.equal((await Deno.readTextFile(c)).split("\n").filter((l) => l).length, counted.events);

    const b = join(dir, "b.log");
    await generateAuditLog(b, { bytes: 2_000_000, seed: 7 });
    assert.equal(await Deno.readTextFile(b), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench_usage parses --size and its other arguments", async (t) => {
  for (
    const [text, bytes] of [["1GB", 1e9], ["50MB", 5e7], ["200kb", 2e5], ["1.5G", 1.5e9], [
      "4096",
      4096,
    ]] as const
  ) {
    await t.step(text, () => assert.equal(parseSize(text), bytes));
  }
  assert.throws(() => parseSize("lots"), /Invalid size "lots"/);
  assert.throws(() => parseSize("10"), /at least 1KB/);
  assert.deepEqual(parseArgs([]), {
    bytes: 1e9,
    runs: 3,
    webhookSeconds: 20,
    skipWebhook: false,
    keep: false,
  });
  assert.deepEqual(
    parseArgs(["--size=50MB", "--runs=5", "--webhook-seconds", "5", "--skip-webhook", "--keep"]),
    {
      bytes: 5e7,
      runs: 5,
      webhookSeconds: 5,
      skipWebhook: true,
      keep: true,
    },
  );
  assert.equal(parseArgs(["--events", "2000000"]).events, 2_000_000);
  assert.throws(() => parseArgs(["--events", "many"]), /Invalid --events "many"/);
  assert.throws(() => parseArgs(["--runs", "0"]), /Invalid --runs "0"/);
  assert.throws(() => parseArgs(["--runs", "1.5"]), /Invalid --runs "1.5"/);
  assert.throws(() => parseArgs(["--sizes", "1"]), /Unknown argument "--sizes"/);
  assert.throws(() => parseArgs(["--size"]), /Missing value for --size/);
});

Deno.test("bench_usage's result is the median pair ratio, not the ratio of medians", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), /median of nothing/);
  // A slow minute slows both commands of its pair: pair ratios 2, 2.5 and 2.4.
  const pairs = [
    { jq: { seconds: 20, rssMb: 8 }, usage: { seconds: 10, rssMb: 300 } },
    { jq: { seconds: 40, rssMb: 9 }, usage: { seconds: 16, rssMb: 310 } },
    { jq: { seconds: 24, rssMb: 8 }, usage: { seconds: 10, rssMb: 290 } },
  ];
  assert.deepEqual(summarizePairs(pairs), {
    ratio: 2.4,
    minRatio: 2,
    maxRatio: 2.5,
    jqSeconds: 24,
    usageSeconds: 10,
    jqRssMb: 9,
    usageRssMb: 310,
  });
});
