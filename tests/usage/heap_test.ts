/** HeapKeeper's policy with a stand-in heap, and the real heap control of a process. */
import assert from "node:assert/strict";
import { HeapKeeper } from "../../src/usage/heap.ts";
import type { HeapControl } from "../../src/runtime.ts";
import { V8_FLAGS } from "../../scripts/v8_flags.ts";

/** A heap whose use the test sets; a collection leaves `live`. */
class StandInHeap implements HeapControl {
  inUse = 0;
  live = 0;
  collections = 0;
  used() {
    return this.inUse;
  }
  collect() {
    this.collections++;
    this.inUse = this.live;
  }
}

const MB = 1_000_000;

Deno.test("HeapKeeper collects past the floor, then when the heap grew by half", () => {
  const heap = new StandInHeap();
  const keeper = new HeapKeeper(heap, { floor: 48 * MB, growth: 1.5 });
  // Each look: the heap in use (MB), what a collection would leave (MB), collections after it.
  const looks: [inUse: number, live: number, collections: number, why: string][] = [
    [1, 0, 0, "below the floor"],
    [20, 0, 0, "below the floor"],
    [47.9, 0, 0, "below the floor"],
    [48, 40, 1, "at the floor; next at 1.5 x 40 MB"],
    [59.9, 40, 1, "under 60 MB"],
    [60, 50, 2, "at 60 MB; next at 75 MB"],
    [74, 10, 2, "under 1.5 x 50 MB"],
  ];
  for (const [inUse, live, collections, why] of looks) {
    heap.inUse = inUse * MB;
    heap.live = live * MB;
    keeper.check();
    assert.equal(heap.collections, collections, `${inUse} MB: ${why}`);
  }
  assert.equal(keeper.collections, 2);
  // A collection asked for leaves 10 MB: the threshold goes back to the floor, not below it.
  keeper.collect();
  assert.equal(heap.collections, 3);
  for (const [inUse, collections] of [[47, 3], [48, 4]]) {
    heap.inUse = inUse * MB;
    keeper.check();
    assert.equal(heap.collections, collections, `${inUse} MB after a collection left 10 MB`);
  }
});

Deno.test("denoRuntime().heap() collects under the program's V8 flags, and is absent without them", async (t) => {
  const script = `
    import { denoRuntime } from ${
    JSON.stringify(new URL("../../src/runtime.ts", import.meta.url).href)
  };
    const heap = denoRuntime().heap?.();
    if (!heap) { console.log("absent"); Deno.exit(0); }
    let garbage = Array.from({ length: 400_000 }, (_, i) => ({ i, s: "x" + i }));
    // Survives young collections, so that only a full one frees it.
    for (let k = 0; k < 3; k++) garbage = garbage.map((o) => ({ ...o }));
    const before = heap.used();
    garbage = [];
    heap.collect();
    console.log(JSON.stringify({ before, after: heap.used() }));
  `;
  const run = async (flags: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", ...flags, script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout).trim();
  };
  await t.step("with V8_FLAGS", async () => {
    const { before, after } = JSON.parse(await run([`--v8-flags=${V8_FLAGS}`]));
    assert.ok(before - after > 20 * MB, `${before} -> ${after}`);
  });
  await t.step("without", async () => {
    assert.equal(await run([]), "absent");
  });
});
