import assert from "node:assert/strict";
import { applyPatch } from "./_patch.ts";

Deno.test("applyPatch() merges, deletes with null and applies JSON patch operations", () => {
  const doc = { metadata: { labels: { a: "1", b: "2" } }, data: { x: "y" } };
  assert.deepEqual(
    applyPatch(doc, "application/merge-patch+json", { metadata: { labels: { a: null, c: "3" } } }),
    {
      metadata: { labels: { b: "2", c: "3" } },
      data: { x: "y" },
    },
  );
  assert.deepEqual(
    applyPatch(doc, "application/json-patch+json", [
      { op: "add", path: "/metadata/labels/d", value: "4" },
      { op: "remove", path: "/data/x" },
    ]),
    { metadata: { labels: { a: "1", b: "2", d: "4" } }, data: {} },
  );
  assert.throws(() => applyPatch(doc, "application/apply-patch+yaml", {}), /unknown format/);
});
