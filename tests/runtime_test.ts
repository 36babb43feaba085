import assert from "node:assert/strict";
import { denoRuntime, processClock } from "../src/runtime.ts";

Deno.test("processClock() starts at a pinned instant and runs on from it", async (t) => {
  for (
    const instant of [
      "2026-12-01T00:00:01Z",
      "2026-12-01T11:59:00Z",
      "2026-12-01T12:01:00Z",
      "2026-12-31T23:59:59Z",
      "2028-02-29T23:59:59.500Z",
      "2026-06-30T23:59:59+02:00",
    ]
  ) {
    await t.step(instant, () => {
      const now = processClock(instant);
      const first = now().getTime();
      const at = Date.parse(instant);
      assert.ok(first >= at && first < at + 1000, `${new Date(first).toISOString()}`);
      assert.ok(now().getTime() >= first, "never runs backwards");
    });
  }
});

Deno.test("processClock() without a pin is the system clock", () => {
  for (const pinned of [undefined, ""]) {
    const before = Date.now();
    const read = processClock(pinned)().getTime();
    assert.ok(read >= before && read <= Date.now());
  }
});

Deno.test("processClock() refuses an unreadable pin on every reading", async (t) => {
  for (
    const pinned of ["yesterday", "2026-12-01", "2026-12-01 10:00:00Z", "2026-13-01T00:00:00Z"]
  ) {
    await t.step(pinned, () => {
      const now = processClock(pinned);
      assert.throws(now, /^Error: Invalid value ".*" for KUBECTL_TOKEN_NOW: expected an RFC 3339/);
      assert.throws(now);
    });
  }
});

Deno.test("spawn() kills a child that outlives timeoutMs, and leaves one that finishes in time", async () => {
  const runtime = denoRuntime();
  const started = performance.now();
  const slow = await runtime.spawn(Deno.execPath(), {
    args: ["eval", "await new Promise((r) => setTimeout(r, 60_000))"],
    timeoutMs: 300,
  });
  assert.equal(slow.code, 128 + 9, "killed by SIGKILL");
  assert.ok(performance.now() - started < 30_000, "killed long before it would end");
  const quick = await runtime.spawn(Deno.execPath(), {
    args: ["eval", "console.log('done')"],
    timeoutMs: 60_000,
  });
  assert.equal(quick.code, 0);
  assert.equal(new TextDecoder().decode(quick.stdout), "done\n");
});
