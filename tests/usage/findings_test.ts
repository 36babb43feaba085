import assert from "node:assert/strict";
import { UsageAggregator } from "../../src/usage/aggregate.ts";
import type { AuditEvent } from "../../src/usage/event.ts";
import {
  type ClusterFacts,
  DEFAULT_RULES,
  networkOf,
  span,
  type UsageFinding,
  usageFindings,
  type UsageRules,
} from "../../src/usage/findings.ts";
import { event, podExtra } from "./_events.ts";

function snapshotOf(events: AuditEvent[]) {
  const a = new UsageAggregator();
  for (const e of events) a.add(e);
  return a.snapshot();
}

const OFFLINE: UsageRules = { ...DEFAULT_RULES, clusterSkipped: "--offline" };

function cluster(
  pods: Record<string, ClusterFacts["pods"] extends Map<string, infer V> ? V : never>,
  nodes: Record<string, string[] | null> = {},
): ClusterFacts {
  return { pods: new Map(Object.entries(pods)), nodes: new Map(Object.entries(nodes)) };
}

function types(findings: UsageFinding[]): string[] {
  return findings.map((f) => `${f.severity} ${f.type}`);
}

const extra = podExtra("web-1", "uid-1", "jti-1", "node-a");

Deno.test("foreign-ip: only with the Pod's and Node's addresses from the cluster", async (t) => {
  const s = snapshotOf([
    event({ at: "2026-12-01T10:00:00Z", extra, ips: ["10.0.0.5"] }),
    event({ at: "2026-12-01T10:00:01Z", extra, ips: ["192.168.1.10"] }),
    event({ at: "2026-12-01T10:05:00Z", extra, ips: ["203.0.113.9", "192.168.1.10"] }),
    event({ at: "2026-12-01T10:00:01Z", extra, ips: ["203.0.113.9", "192.168.1.10"] }),
  ]);
  const pod = { uid: "uid-1", ips: ["10.0.0.5", "192.168.1.10"], nodeName: "node-a" };

  await t.step("from elsewhere: high, with the address's counts and times", () => {
    const r = usageFindings(s, {
      ...DEFAULT_RULES,
      cluster: cluster({ "team/web-1": pod }, { "node-a": ["192.168.1.10"] }),
    });
    const f = r.findings.find((f) => f.type === "foreign-ip")!;
    assert.equal(f.severity, "high");
    assert.equal(f.subject, "team/robot (token jti-1)");
    assert.equal(
      f.reason,
      "Token bound to Pod \"team/web-1\" used from 1 address that is neither the Pod's nor its Node's (10.0.0.5, 192.168.1.10)",
    );
    assert.equal(f.evidence[0], "203.0.113.9: 2 requests, 2026-12-01T10:00:01Z .. 10:05:00Z");
    assert.deepEqual(r.notEvaluated.filter((l) => l.startsWith("foreign-ip")), []);
  });
  await t.step("--offline: not raised, and said so", () => {
    const r = usageFindings(s, OFFLINE);
    assert.deepEqual(r.findings.filter((f) => f.type === "foreign-ip"), []);
    assert.ok(
      r.notEvaluated.includes("foreign-ip: 1 Pod-bound credential not evaluated (--offline)"),
    );
  });
  await t.step(
    "the Node's addresses unknown: not raised (SNAT to the Node would look foreign)",
    () => {
      const r = usageFindings(s, { ...DEFAULT_RULES, cluster: cluster({ "team/web-1": pod }) });
      assert.deepEqual(r.findings.filter((f) => f.type === "foreign-ip"), []);
      assert.ok(r.notEvaluated.some((l) => l.includes("the Node could not be looked up")));
    },
  );
  await t.step("a Pod without an IP yet: not raised", () => {
    const r = usageFindings(s, {
      ...DEFAULT_RULES,
      cluster: cluster({ "team/web-1": { ...pod, ips: [] } }, { "node-a": [] }),
    });
    assert.deepEqual(r.findings.filter((f) => f.type === "foreign-ip"), []);
  });
  await t.step("the Pod gone, no deletion in the events: info, no foreign-ip", () => {
    const r = usageFindings(s, { ...DEFAULT_RULES, cluster: cluster({ "team/web-1": null }) });
    assert.deepEqual(types(r.findings.filter((f) => f.credential)), ["info pod-gone"]);
  });
});

Deno.test("used-after-pod-deleted: from the events, and from a Pod replaced under its name", async (t) => {
  const used = (at: string) => event({ at, extra, ips: ["10.0.0.5"] });
  const deleted = (at: string) =>
    event({ at, user: "alice", verb: "delete", name: "web-1", code: 200 });
  const cases: [string, AuditEvent[], string[]][] = [
    [
      "used 5 minutes after the deletion: high",
      [used("2026-12-01T10:00:00Z"), deleted("2026-12-01T10:10:00Z"), used("2026-12-01T10:15:00Z")],
      ["high used-after-pod-deleted"],
    ],
    [
      "used within the grace period: nothing",
      [used("2026-12-01T10:00:00Z"), deleted("2026-12-01T10:10:00Z"), used("2026-12-01T10:10:59Z")],
      [],
    ],
    [
      "first seen after the deletion: a new Pod of the same name, nothing",
      [deleted("2026-12-01T10:10:00Z"), used("2026-12-01T10:15:00Z"), used("2026-12-01T10:20:00Z")],
      [],
    ],
  ];
  for (const [name, events, expected] of cases) {
    await t.step(name, () => {
      const r = usageFindings(snapshotOf(events), OFFLINE);
      assert.deepEqual(
        types(r.findings.filter((f) => f.credential?.startsWith("token:"))),
        expected,
      );
    });
  }
  await t.step("the Pod now has another UID, created before the last use: high", () => {
    const s = snapshotOf([used("2026-12-01T10:00:00Z"), used("2026-12-01T12:00:00Z")]);
    const r = usageFindings(s, {
      ...DEFAULT_RULES,
      cluster: cluster({
        "team/web-1": { uid: "uid-2", ips: ["10.0.0.9"], created: "2026-12-01T11:00:00Z" },
      }),
    });
    const f = r.findings.find((f) => f.type === "used-after-pod-deleted")!;
    assert.equal(f.severity, "high");
    assert.match(f.evidence[0], /now has UID uid-2, created 2026-12-01T11:00:00Z/);
  });
  await t.step("the Pod now has another UID, created after the last use: info only", () => {
    const s = snapshotOf([used("2026-12-01T10:00:00Z"), used("2026-12-01T12:00:00Z")]);
    const r = usageFindings(s, {
      ...DEFAULT_RULES,
      cluster: cluster({
        "team/web-1": { uid: "uid-2", ips: ["10.0.0.9"], created: "2026-12-01T13:00:00Z" },
      }),
    });
    assert.deepEqual(types(r.findings.filter((f) => f.credential)), ["info pod-gone"]);
  });
});

Deno.test("new-user-agent and new-network: after the baseline only, and never without one", async (t) => {
  const tok = podExtra("web-1", "uid-1", "jti-1");
  const cases: [string, AuditEvent[], UsageRules, string[]][] = [
    [
      "first seen at 23:59:59, used at 00:00:01 from elsewhere: within the baseline, nothing",
      [
        event({ at: "2026-12-01T23:59:59Z", extra: tok }),
        event({ at: "2026-12-02T00:00:01Z", extra: tok, ips: ["203.0.113.9"], agent: "curl/8" }),
        event({ at: "2026-12-02T01:30:00Z", extra: tok }),
      ],
      OFFLINE,
      [],
    ],
    [
      "a new agent and network two hours in: medium, both",
      [
        event({ at: "2026-12-01T23:59:59Z", extra: tok }),
        event({ at: "2026-12-02T02:00:00Z", extra: tok, ips: ["203.0.113.9"], agent: "curl/8" }),
      ],
      OFFLINE,
      ["medium new-network", "medium new-user-agent"],
    ],
    [
      "exactly at the end of the baseline: new",
      [
        event({ at: "2026-12-01T10:00:00Z", extra: tok }),
        event({ at: "2026-12-01T11:00:00Z", extra: tok, agent: "curl/8" }),
      ],
      OFFLINE,
      ["medium new-user-agent"],
    ],
    [
      "a new address in a known /24: no new network",
      [
        event({ at: "2026-12-01T10:00:00Z", extra: tok, ips: ["10.0.0.5"] }),
        event({ at: "2026-12-01T12:00:00Z", extra: tok, ips: ["10.0.0.77"] }),
      ],
      OFFLINE,
      [],
    ],
    [
      "a baseline too short: seen 59 minutes with a 1h baseline, nothing",
      [
        event({ at: "2026-12-01T10:00:00Z", extra: tok }),
        event({ at: "2026-12-01T10:59:00Z", extra: tok, agent: "curl/8", ips: ["203.0.113.9"] }),
      ],
      OFFLINE,
      [],
    ],
    [
      "the same with --baseline 30m: both",
      [
        event({ at: "2026-12-01T10:00:00Z", extra: tok }),
        event({ at: "2026-12-01T10:59:00Z", extra: tok, agent: "curl/8", ips: ["203.0.113.9"] }),
      ],
      { ...OFFLINE, baselineMs: 30 * 60_000 },
      ["medium new-network", "medium new-user-agent"],
    ],
    [
      "a person: low",
      [
        event({ at: "2026-12-01T10:00:00Z", user: "alice" }),
        event({ at: "2026-12-01T12:00:00Z", user: "alice", agent: "curl/8" }),
      ],
      OFFLINE,
      ["low new-user-agent"],
    ],
    [
      "a service account's tokens together: not compared",
      [
        event({ at: "2026-12-01T10:00:00Z" }),
        event({ at: "2026-12-01T12:00:00Z", agent: "curl/8", ips: ["203.0.113.9"] }),
      ],
      OFFLINE,
      [],
    ],
  ];
  for (const [name, events, rules, expected] of cases) {
    await t.step(name, () => {
      const r = usageFindings(snapshotOf(events), rules);
      assert.deepEqual(
        types(r.findings.filter((f) => f.type.startsWith("new-"))),
        expected,
      );
    });
  }
  await t.step("a baseline too short is said", () => {
    const r = usageFindings(
      snapshotOf([event({ at: "2026-12-01T10:00:00Z", extra: tok })]),
      OFFLINE,
    );
    assert.ok(r.notEvaluated.includes(
      "new-user-agent, new-network: 1 credential seen for less than the baseline (60m): nothing to compare with",
    ));
  });
});

Deno.test("denied: at the thresholds, probing when many different requests", async (t) => {
  const many = (n: number, denied: number, names = 1) =>
    Array.from({ length: n }, (_, i) =>
      event({
        at: "2026-12-01T10:00:00Z",
        user: "mallory",
        name: `s-${i % names}`,
        resource: "secrets",
        code: i < denied ? 403 : 200,
      }));
  const cases: [string, AuditEvent[], string[]][] = [
    ["19 denied of 20: below the threshold", many(20, 19), []],
    ["20 denied of 80: at both thresholds, one request: medium", many(80, 20), ["medium denied"]],
    ["20 denied of 81: below the ratio", many(81, 20), []],
    ["20 denied, 5 different requests: high", many(20, 20, 5), ["high denied"]],
  ];
  for (const [name, events, expected] of cases) {
    await t.step(name, () => {
      assert.deepEqual(types(usageFindings(snapshotOf(events), OFFLINE).findings), expected);
    });
  }
  await t.step("the evidence names the denied requests", () => {
    const f = usageFindings(snapshotOf(many(20, 20, 5)), OFFLINE).findings[0];
    assert.equal(
      f.reason,
      "20 of 20 requests denied, for 5 different requests: probing for rights",
    );
    assert.equal(f.evidence[0], 'get secrets "s-0" in team: 4 denied');
  });
  await t.step("--denied-threshold 5", () => {
    const r = usageFindings(snapshotOf(many(5, 5)), { ...OFFLINE, deniedThreshold: 5 });
    assert.deepEqual(types(r.findings), ["medium denied"]);
  });
});

Deno.test("tokens minted by people and with long lifetimes", async (t) => {
  const issue = (user: string, seconds?: number, code = 201, sa = "robot") =>
    event({
      at: "2026-12-01T10:00:00Z",
      user,
      verb: "create",
      resource: "serviceaccounts",
      subresource: "token",
      name: sa,
      code,
      ...(seconds ? { requestObject: { spec: { expirationSeconds: seconds } } } : {}),
    });
  const cases: [string, AuditEvent[], string[]][] = [
    ["the kubelet, 1h: nothing", [issue("system:node:node-a", 3607)], []],
    ["the account itself: nothing", [issue("system:serviceaccount:team:robot", 3600)], []],
    ["another account: minted-by-user", [issue("system:serviceaccount:ci:deployer", 3600)], [
      "medium minted-by-user",
    ]],
    ["a person, 24h exactly: minted-by-user only", [issue("alice", 86400)], [
      "medium minted-by-user",
    ]],
    ["the kubelet, 2 days: long-lifetime", [issue("system:node:node-a", 172800)], [
      "medium long-lifetime",
    ]],
    ["a year: high", [issue("system:node:node-a", 31536000)], ["high long-lifetime"]],
    ["refused: nothing", [issue("alice", 31536000, 403)], []],
  ];
  for (const [name, events, expected] of cases) {
    await t.step(name, () => {
      assert.deepEqual(
        types(usageFindings(snapshotOf(events), OFFLINE).findings.filter((f) => !f.credential)),
        expected,
      );
    });
  }
  await t.step("an unknown lifetime is not a finding, and said so", () => {
    const r = usageFindings(snapshotOf([issue("system:node:node-a")]), OFFLINE);
    assert.deepEqual(r.findings.filter((f) => !f.credential), []);
    assert.ok(r.notEvaluated.some((l) => l.startsWith("long-lifetime: 1 issued token of unknown")));
  });
  await t.step("--max-token-lifetime 1h", () => {
    const r = usageFindings(snapshotOf([issue("system:node:node-a", 3607)]), {
      ...OFFLINE,
      maxTokenLifetimeS: 3600,
    });
    assert.deepEqual(types(r.findings), ["medium long-lifetime"]);
  });
});

Deno.test("legacy tokens in use", () => {
  const legacy = { "authentication.k8s.io/legacy-token-manual-secret": "old-token" };
  const r = usageFindings(
    snapshotOf([event({ at: "2026-12-01T10:00:00Z", annotations: legacy })]),
    OFFLINE,
  );
  assert.deepEqual(types(r.findings), ["medium legacy-token"]);
  assert.equal(
    r.findings[0].reason,
    'Legacy Secret token "old-token" still in use: it never expires',
  );
});

Deno.test("networkOf() and span()", async (t) => {
  const nets: [string, string][] = [
    ["203.0.113.9", "203.0.113.0/24"],
    ["::ffff:203.0.113.9", "203.0.113.0/24"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
  ];
  for (const [ip, net] of nets) await t.step(ip, () => assert.equal(networkOf(ip), net));
  await t.step("span", () => {
    assert.equal(
      span("2026-12-01T10:00:01.5Z", "2026-12-01T10:05:00.000000Z"),
      "2026-12-01T10:00:01Z .. 10:05:00Z",
    );
    assert.equal(
      span("2026-12-01T23:59:59Z", "2026-12-02T00:00:01Z"),
      "2026-12-01T23:59:59Z .. 2026-12-02T00:00:01Z",
    );
  });
});

Deno.test("a legacy token that authenticated is in use, even where RBAC denied the request", () => {
  const legacy = { "authentication.k8s.io/legacy-token": "system:serviceaccount:team:robot" };
  const r = usageFindings(
    snapshotOf([event({ at: "2026-12-01T10:00:00Z", annotations: legacy, code: 403 })]),
    OFFLINE,
  );
  assert.deepEqual(types(r.findings), ["medium legacy-token"]);
  assert.equal(r.findings[0].evidence[0], "1 request (1 denied), 2026-12-01T10:00:00Z");
});
