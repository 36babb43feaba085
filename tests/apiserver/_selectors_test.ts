import assert from "node:assert/strict";
import {
  checkFields,
  matchFields,
  matchLabels,
  parseFieldSelector,
  parseLabelSelector,
} from "./_selectors.ts";
import type { KubeObject } from "./_types.ts";

Deno.test("label selectors match like apimachinery's", async (t) => {
  const labels = { app: "web", tier: "front" };
  const cases: [string, boolean][] = [
    ["app=web", true],
    ["app==web", true],
    ["app!=web", false],
    ["app!=db", true],
    ["missing!=x", true],
    ["app", true],
    ["!app", false],
    ["!missing", true],
    ["app in (db, web)", true],
    ["app notin (db,web)", false],
    ["app=web,tier=back", false],
    ["", true],
  ];
  for (const [selector, expected] of cases) {
    await t.step(JSON.stringify(selector), () => {
      assert.equal(matchLabels(parseLabelSelector(selector), labels), expected);
    });
  }
});

Deno.test("field selectors know the fields each kind supports", () => {
  const secret: KubeObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "s", namespace: "ns" },
    type: "Opaque",
  };
  assert.ok(matchFields(parseFieldSelector("type=Opaque,metadata.namespace=ns"), secret));
  assert.ok(!matchFields(parseFieldSelector("metadata.name!=s"), secret));
  assert.throws(
    () => checkFields("Secret", parseFieldSelector("spec.nodeName=x")),
    /field label not supported: spec\.nodeName/,
  );
});
