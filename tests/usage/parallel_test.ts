import assert from "node:assert/strict";
import { join } from "node:path";
import { generateAuditLog } from "../../scripts/_audit_log_gen.ts";
import { denoRuntime, type Runtime } from "../../src/runtime.ts";
import { assignmentOf, readInParts, routeOf, THREADS_ENV } from "../../src/usage/parallel.ts";
import { claimOf } from "../../src/usage/reader.ts";
import { UsageAggregator } from "../../src/usage/aggregate.ts";

/** A line as the log backend writes it (the fields before the user, the user, the rest). */
function line(id: string, stage: string, user: string, end = "}") {
  return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"${id}",` +
    `"stage":"${stage}","requestURI":"/api/v1/pods","verb":"list","user":{"username":"${user}"` +
    `,"groups":["system:authenticated"]},"sourceIPs":["10.0.0.1"],` +
    `"requestReceivedTimestamp":"2026-12-01T10:00:00.000000Z",` +
    `"stageTimestamp":"2026-12-01T10:00:00.000000Z"${end}`;
}

Deno.test("claimOf reads the auditID and stage of a line in the log backend's shape only", () => {
  const l = line("a-1", "ResponseComplete", "alice");
  const claim = claimOf(l);
  assert.deepEqual(claim?.slice(0, 2), ["a-1", "ResponseComplete"]);
  assert.ok(l.startsWith(',"requestURI"', claim![2]));
  // Escapes (an escaped quote would end the value early), a line cut short, another order.
  assert.equal(claimOf(line("a\\u002d1", "ResponseComplete", "alice")), undefined);
  assert.equal(claimOf(line("a-1", "Response\\u0043omplete", "alice")), undefined);
  assert.equal(claimOf(line("a-1", "ResponseComplete", "alice", "")), undefined);
  assert.equal(
    claimOf(l.replace('"level":"Metadata","auditID":"a-1"', '"auditID":"a-1","level":"Metadata"')),
    undefined,
  );
  assert.equal(claimOf(`{"apiVersion":"audit.k8s.io/v1","kind":"Event"}`), undefined);
});

Deno.test("the worker takes the users that make most of the first lines, up to 75%", async (t) => {
  const text = (counts: Record<string, number>) => {
    const out: string[] = [];
    for (const [user, n] of Object.entries(counts)) {
      for (let i = 0; i < n; i++) out.push(line(`${user}-${i}`, "ResponseComplete", user));
    }
    return out.join("\n") + "\n";
  };
  const route = (assignment: number[], part: 0 | 1) =>
    routeOf(assignment, part, new UsageAggregator());
  const owns = (assignment: number[], user: string) => {
    const l = line("x", "ResponseComplete", user);
    return route(assignment, 1).ownsLine(l, claimOf(l)![2]);
  };
  await t.step("the largest that fit, then smaller ones", () => {
    const a = assignmentOf(text({ big: 60, mid: 30, small: 10 }))!;
    assert.deepEqual([owns(a, "big"), owns(a, "mid"), owns(a, "small")], [true, false, true]);
    // Users not in the first lines, and lines without a user, are the main thread's.
    assert.equal(owns(a, "someone else"), false);
    assert.equal(route(a, 0).ownsLine('{"kind":"Event"}', 0), true);
  });
  await t.step("a parsed event goes where its line would", () => {
    const a = assignmentOf(text({ big: 60, mid: 30, small: 10 }))!;
    for (const user of ["big", "mid", "small", "other"]) {
      assert.equal(route(a, 1).ownsEvent({ user: { username: user } }), owns(a, user), user);
      assert.equal(route(a, 0).ownsEvent({ user: { username: user } }), !owns(a, user), user);
    }
    assert.equal(route(a, 0).ownsEvent({}), true);
  });
  await t.step("too little to take: one thread", () => {
    assert.equal(assignmentOf(text({ big: 90, small: 10 })), undefined);
    assert.equal(assignmentOf(""), undefined);
  });
});

Deno.test("a worker that cannot start or fails: the read is left to one thread", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-parts-" });
  try {
    const log = join(dir, "audit.log");
    await generateAuditLog(log, { bytes: 0, events: 3_000, seed: 5 });
    const runtime = (usagePartWorker: () => Worker): Runtime => ({
      ...denoRuntime(),
      env: (name) => name === THREADS_ENV ? "2" : undefined,
      usagePartWorker,
    });
    await t.step("no worker", async () => {
      const r = runtime(() => {
        throw new Error("no threads");
      });
      const out = await readInParts(r, log, new UsageAggregator());
      assert.deepEqual(out, { read: false, why: "no worker: no threads", tried: false });
    });
    await t.step("a worker that fails as it loads", async () => {
      const r = runtime(() =>
        new Worker("data:application/javascript,throw new Error('broken')", { type: "module" })
      );
      const out = await readInParts(r, log, new UsageAggregator());
      assert.equal(out.read, false);
      assert.ok(
        !out.read && out.tried && /the worker failed: .*broken/.test(out.why),
        JSON.stringify(out),
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
