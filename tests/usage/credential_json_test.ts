import assert from "node:assert/strict";
import { eachRequestMade, UsageAggregator } from "../../src/usage/aggregate.ts";
import { credentialJsonAt } from "../../src/usage/credential_json.ts";
import type { AuditEvent } from "../../src/usage/event.ts";
import { toJsonAt } from "../../src/output/printers.ts";
import { event, podExtra } from "./_events.ts";

const T0 = "2026-12-01T10:00:00.000000Z";
const T1 = "2026-12-01T23:59:59.999999Z";

/** Strings that JSON or Go escape, or that a key's separators make a kept request of. */
const AWKWARD = [
  "a<b>&c",
  'quote"back\\slash',
  "tab\tnewline\n",
  "line\u2028para\u2029",
  "lone\ud800surrogate",
  "pair\ud83d\ude00emoji",
  "nul\u0000inside",
  "space inside",
  "ünïcødé",
  "x",
  "",
];

function events(): AuditEvent[] {
  const out: AuditEvent[] = [];
  AWKWARD.forEach((s, i) => {
    out.push(event({ at: T0, verb: "get", namespace: s || "ns", name: s || undefined }));
    out.push(event({ at: T1, verb: "list", resource: "secrets", subresource: s || undefined }));
    out.push(event({ at: T1, user: `user-${s}`, agent: s, ips: [s || "10.0.0.1"], code: 403 }));
    // A non-resource request: the URL is the request.
    out.push({ ...event({ at: T0, user: "nr" }), objectRef: undefined, requestURI: `/x/${s}?q` });
    out.push(event({ at: T0, extra: podExtra(`web-${i}`, `uid-${i}`, `jti-${i}`), name: s }));
  });
  // A request whose apiGroup is not a string (a line that only JSON.parse reads).
  const odd = event({ at: T0, user: "odd" });
  out.push({ ...odd, objectRef: { ...odd.objectRef!, apiGroup: 5 as unknown as string } });
  // Names that spell the writer's mark for where the requests go.
  out.push(event({ at: T0, user: "\u0000requestsMade\u0000", agent: "\u0000requestsMade\u0000" }));
  out.push(event({ at: T0, user: "mark", ips: ["requestsMade"], agent: "requestsMade" }));
  // A credential without requests (no verb).
  out.push({ ...event({ at: T0, user: "no-verb" }), verb: "" });
  return out;
}

Deno.test("credentialJsonAt() prints a finished credential as toJsonAt() does", async (t) => {
  const a = new UsageAggregator();
  for (const e of events()) a.add(e);
  const credentials = a.finish().credentials;
  assert.ok(credentials.length >= AWKWARD.length + 3);
  let visited = 0;
  for (const c of credentials) {
    if (eachRequestMade(c, () => {})) visited++;
  }
  assert.equal(visited, credentials.length, "the fast path is taken for every credential");
  for (const depth of [0, 1, 3]) {
    await t.step(`at depth ${depth}`, () => {
      for (const c of credentials) assert.equal(credentialJsonAt(c, depth), toJsonAt(c, depth));
    });
  }
  await t.step("a credential that is not the aggregator's (a copy) too", () => {
    for (const c of credentials) {
      const copy = { ...c };
      assert.equal(eachRequestMade(copy, () => {}), false);
      assert.equal(credentialJsonAt(copy, 3), toJsonAt(c, 3));
    }
  });
  await t.step("the requests are printed in their place, with every field", () => {
    const c = credentials.find((c) => c.username === "odd")!;
    const text = credentialJsonAt(c, 0);
    assert.match(text, /"userAgents": \{[^]*"requestsMade": \{\n {8}"get\\u00005\\u0000pods/);
    assert.match(text, /"request": \{\n {16}"verb": "get",\n {16}"apiGroup": 5,/);
    const none = credentials.find((c) => c.username === "no-verb")!;
    assert.match(credentialJsonAt(none, 0), /"requestsMade": \{\}/);
  });
});
