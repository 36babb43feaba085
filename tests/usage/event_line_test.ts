/**
 * usageEventOfLine(): the fast path gives, for every field the aggregator reads, what
 * JSON.parse gives, and declines every line it could read differently.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { generateAuditLog } from "../../scripts/_audit_log_gen.ts";
import { denoRuntime } from "../../src/runtime.ts";
import { UsageAggregator } from "../../src/usage/aggregate.ts";
import { ownString, usageEventOfLine } from "../../src/usage/event_line.ts";
import { readAuditEvents } from "../../src/usage/reader.ts";
import { usageFields } from "./_events.ts";

/** A line as the 1.32 log backend writes it, with `edit` applied to its text. */
function line(edit: (s: string) => string = (s) => s): string {
  return edit(
    '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata",' +
      '"auditID":"7cbaff5f-7628-4ff9-ac0f-c2139bdf4a41","stage":"ResponseComplete",' +
      '"requestURI":"/api/v1/namespaces/team/pods?limit=500\\u0026resourceVersion=0",' +
      '"verb":"list","user":{"username":"system:serviceaccount:team:robot",' +
      '"uid":"1469bbfe-2d8a-4a78-aa86-c7dd8da91ae4","groups":["system:serviceaccounts",' +
      '"system:authenticated"],"extra":{"authentication.kubernetes.io/credential-id":' +
      '["JTI=cf946ffc"],"authentication.kubernetes.io/node-name":["node-1"],' +
      '"authentication.kubernetes.io/node-uid":["n-uid"],' +
      '"authentication.kubernetes.io/pod-name":["robot-1"],' +
      '"authentication.kubernetes.io/pod-uid":["p-uid"]}},"sourceIPs":["10.0.0.5"],' +
      '"userAgent":"robot/1.0 (linux/amd64)","objectRef":{"resource":"pods","namespace":"team",' +
      '"apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},' +
      '"requestReceivedTimestamp":"2026-11-01T00:00:00.096860Z",' +
      '"stageTimestamp":"2026-11-01T00:00:00.099860Z","annotations":' +
      '{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}',
  );
}

Deno.test("usageEventOfLine() reads a 1.32 line as JSON.parse does", () => {
  const text = line();
  const fast = usageEventOfLine(text);
  assert.ok(fast);
  assert.deepEqual(usageFields(fast), usageFields(JSON.parse(text)));
  assert.equal(fast.requestURI, undefined, "a resource request's URI is not read");
});

Deno.test("usageEventOfLine() takes the lines it can read exactly", async (t) => {
  const cases: [string, (s: string) => string][] = [
    [
      "escapes in the URI of a non-resource request",
      (s) =>
        s.replace(/"objectRef":\{[^}]*\},/, "").replace(
          '"requestURI":"/api/v1/namespaces/team/pods?limit=500\\u0026resourceVersion=0"',
          '"requestURI":"/healthz?verbose=1\\u0026x=\\"y\\""',
        ),
    ],
    [
      "escapes in the user agent",
      (s) => s.replace('"robot/1.0 (linux/amd64)"', '"robot \\"1.0\\" \\u00e9\\\\x"'),
    ],
    [
      "no username (a request that did not authenticate)",
      (s) => s.replace(/"user":\{.*?\}\},"sourceIPs"/, '"user":{},"sourceIPs"'),
    ],
    ["another stage", (s) => s.replace('"ResponseComplete"', '"ResponseStarted"')],
    [
      "a stage that starts as the usual one",
      (s) => s.replace('"ResponseComplete"', '"ResponseCompleted"'),
    ],
    [
      "only a credential-id extra",
      (s) =>
        s.replace(
          /,"authentication.kubernetes.io\/node-name.*\]\}\},"sourceIPs"/,
          '}},"sourceIPs"',
        ),
    ],
    ["no extra", (s) => s.replace(/,"extra":\{[^}]*\}/, "")],
    ["other extra keys between the ones read", (s) =>
      s.replace(
        '"authentication.kubernetes.io/node-name"',
        '"a.io/x":["1","2"],"authentication.kubernetes.io/node-name"',
      ).replace(
        '"authentication.kubernetes.io/pod-uid"',
        '"m":[],"authentication.kubernetes.io/pod-uid"',
      )],
    ["an extra key with no value", (s) => s.replace('["robot-1"]', "[]")],
    ["an extra key with an empty first value", (s) => s.replace('["robot-1"]', '["","robot-2"]')],
    [
      "an extra key with escapes after its first value",
      (s) => s.replace('["robot-1"]', '["robot-1","\\u0041"]'),
    ],
    [
      "only a Pod name",
      (s) =>
        s.replace(
          /"extra":\{[^}]*\}/,
          '"extra":{"authentication.kubernetes.io/pod-name":["robot-1"]}',
        ),
    ],
    [
      "an impersonated user",
      (s) =>
        s.replace(
          ',"sourceIPs"',
          ',"impersonatedUser":{"username":"alice","groups":["g"]},"sourceIPs"',
        ),
    ],
    [
      "an impersonated user without a name",
      (s) => s.replace(',"sourceIPs"', ',"impersonatedUser":{},"sourceIPs"'),
    ],
    [
      "several source IPs, one twice",
      (s) => s.replace('["10.0.0.5"]', '["203.0.113.7","10.0.0.5","203.0.113.7"]'),
    ],
    ["no source IPs", (s) => s.replace('"sourceIPs":["10.0.0.5"],', "")],
    ["an empty list of source IPs", (s) => s.replace('["10.0.0.5"]', "[]")],
    ["every objectRef field", (s) =>
      s.replace(
        '{"resource":"pods","namespace":"team","apiVersion":"v1"}',
        '{"resource":"serviceaccounts","namespace":"team","name":"robot","uid":"u-1",' +
          '"apiGroup":"","apiVersion":"v1","resourceVersion":"12","subresource":"token"}',
      )],
    [
      "an empty resource (read as a non-resource request)",
      (s) => s.replace('{"resource":"pods",', '{"resource":"",'),
    ],
    ["a Status with message and details", (s) =>
      s.replace(
        '{"metadata":{},"code":200}',
        '{"metadata":{},"status":"Failure","message":"pods \\"x\\" is forbidden","reason":' +
          '"Forbidden","details":{"name":"x","kind":"pods","retryAfterSeconds":1.5e1},"code":403}',
      )],
    ["a Status without a code", (s) => s.replace('{"metadata":{},"code":200}', '{"metadata":{}}')],
    ["a negative code", (s) => s.replace('"code":200', '"code":-1')],
    ["a negative code of three characters", (s) => s.replace('"code":200', '"code":-12')],
    ["a code of one digit", (s) => s.replace('"code":200', '"code":0')],
    ["a code of four digits", (s) => s.replace('"code":200', '"code":1000')],
    ["no responseStatus", (s) => s.replace('"responseStatus":{"metadata":{},"code":200},', "")],
    ["legacy-token annotations", (s) =>
      s.replace(
        '"annotations":{',
        '"annotations":{"authentication.k8s.io/legacy-token":"system:serviceaccount:team:robot",' +
          '"authentication.k8s.io/legacy-token-autogenerated-secret":"robot-token-x",',
      )],
    [
      "an annotation name spelled with an escape",
      (s) =>
        s.replace(
          '"annotations":{',
          '"annotations":{"authentication.k8s.io/legacy\\u002dtoken":"x",',
        ),
    ],
    ["an issued-credential-id annotation", (s) =>
      s.replace(
        '"annotations":{',
        '"annotations":{"authentication.kubernetes.io/issued-credential-id":"JTI=abc",',
      )],
    ["no annotations", (s) => s.replace(/,"annotations":\{.*\}\}$/, "}")],
    ["non-ASCII text", (s) => s.replace('"robot/1.0 (linux/amd64)"', '"робот/1.0 ✓"')],
  ];
  for (const [name, edit] of cases) {
    await t.step(name, () => {
      const text = line(edit);
      assert.notEqual(text, line(), "the case changes the line");
      const fast = usageEventOfLine(text);
      assert.ok(fast, "taken");
      assert.deepEqual(usageFields(fast), usageFields(JSON.parse(text)));
    });
  }
});

Deno.test("usageEventOfLine() leaves every other line to JSON.parse", async (t) => {
  const cases: [string, (s: string) => string][] = [
    ["whitespace", (s) => s.replace('"verb":"list"', '"verb": "list"')],
    ["a trailing space", (s) => `${s} `],
    [
      "another field order",
      (s) =>
        s.replace('"stage":"ResponseComplete","requestURI"', '"requestURI"').replace(
          '"verb":"list"',
          '"verb":"list","stage":"ResponseComplete"',
        ),
    ],
    ["a duplicate key", (s) => s.replace('"verb":"list"', '"verb":"list","verb":"get"')],
    [
      "a duplicate extra key",
      (s) =>
        s.replace(
          '"authentication.kubernetes.io/pod-uid"',
          '"authentication.kubernetes.io/pod-name":["b"],"authentication.kubernetes.io/pod-uid"',
        ),
    ],
    ["extra keys out of order", (s) =>
      s.replace(
        '"authentication.kubernetes.io/node-name":["node-1"],',
        "",
      ).replace(
        '"authentication.kubernetes.io/pod-uid":["p-uid"]',
        '"authentication.kubernetes.io/pod-uid":["p-uid"],"authentication.kubernetes.io/node-name":["node-1"]',
      )],
    [
      "an extra key spelled with an escape",
      (s) =>
        s.replace(
          '"authentication.kubernetes.io/pod-name"',
          '"authentication.kubernetes.io\\/pod-name"',
        ),
    ],
    ["any extra key with an escape", (s) => s.replace('"extra":{', '"extra":{"m\\u00e9":[],')],
    ["an escape in a first extra value", (s) => s.replace('["robot-1"]', '["robot\\u002d1"]')],
    ["an escape in the user name", (s) => s.replace("team:robot", "team:rob\\u006ft")],
    ["an escape in a name", (s) => s.replace('"namespace":"team"', '"namespace":"te\\u0061m"')],
    ["an escape in a time", (s) => s.replace("00:00:00.096860Z", "00:00:00.096860\\u005a")],
    [
      "a time that is not the API server's shape",
      (s) => s.replace("2026-11-01T00:00:00.096860Z", "2026-11-01T01:00:00+01:00"),
    ],
    ["a null", (s) => s.replace('"userAgent":"robot/1.0 (linux/amd64)"', '"userAgent":null')],
    ["a control character in a string", (s) => s.replace("robot/1.0", "robot\t1.0")],
    ["an invalid escape", (s) => s.replace("robot/1.0", "robot\\x1.0")],
    [
      "a request body",
      (s) =>
        s.replace(
          ',"requestReceivedTimestamp"',
          ',"requestObject":{"spec":{}},"requestReceivedTimestamp"',
        ),
    ],
    [
      "a Status with causes",
      (s) =>
        s.replace(
          '{"metadata":{},"code":200}',
          '{"metadata":{},"details":{"causes":[]},"code":422}',
        ),
    ],
    ["a code that is not an integer", (s) => s.replace('"code":200', '"code":2e2')],
    ["a code with a leading zero (not JSON)", (s) => s.replace('"code":200', '"code":0200')],
    ["no kind", (s) => s.replace('"kind":"Event",', "")],
    ["an EventList", () => '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}'],
    ["a truncated line", (s) => s.slice(0, -1)],
    ["text after the object", (s) => `${s}{}`],
    ["a comma before a closing brace", (s) => s.replace('["p-uid"]}', '["p-uid"],}')],
    ["a comma after an opening brace", (s) => s.replace('"extra":{', '"extra":{,')],
  ];
  for (const [name, edit] of cases) {
    await t.step(name, () => {
      const text = line(edit);
      assert.notEqual(text, line(), "the case changes the line");
      assert.equal(usageEventOfLine(text), undefined);
    });
  }
});

Deno.test("usageEventOfLine() takes every line of a generated log, as JSON.parse reads them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "audit.log");
    await generateAuditLog(path, { bytes: 4e6, seed: 7 });
    const lines = (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "");
    assert.ok(lines.length > 4000);
    for (const text of lines) {
      const fast = usageEventOfLine(text);
      assert.ok(fast, text);
      assert.deepEqual(usageFields(fast), usageFields(JSON.parse(text)), text);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("usage aggregates the same from the fast path as from JSON.parse", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "audit.log");
    // Watches (two stages), TokenRequests, denied requests, Pod deletions, legacy tokens.
    await generateAuditLog(path, { bytes: 6e6, seed: 3 });
    const aggregate = async (fast: boolean) => {
      const aggregator = new UsageAggregator();
      let taken = 0;
      const stats = await readAuditEvents(denoRuntime(), path, (e) => aggregator.add(e), {
        eventOfLine: fast
          ? (l) => {
            const e = usageEventOfLine(l);
            if (e) taken++;
            return e;
          }
          : undefined,
      });
      return { snapshot: aggregator.finish(), stats, taken };
    };
    const slow = await aggregate(false);
    const fast = await aggregate(true);
    assert.equal(fast.taken, fast.stats.events, "every line took the fast path");
    assert.deepEqual(fast.stats, slow.stats);
    assert.deepEqual(fast.snapshot, slow.snapshot);
    assert.ok(slow.snapshot.credentials.length > 100);
    assert.ok(slow.snapshot.issued.length > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ownString() copies a string", () => {
  const parent = "x".repeat(1000) + "2026-11-01T00:00:00.096860Z" + "y".repeat(1000);
  const view = parent.slice(1000, 1027);
  for (const s of [view, "short", "", parent]) assert.equal(ownString(s), s);
  assert.equal(ownString(undefined), undefined);
});
