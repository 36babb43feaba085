import assert from "node:assert/strict";
import {
  auditBootstrapSecret,
  auditSecret,
  leastIdleMs,
  type SecretTokenItem,
} from "../../src/audit/findings.ts";
import { EDGE_INSTANTS } from "../e2e/_audit_seed.ts";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function secret(labels: Record<string, string>, created?: string) {
  return {
    metadata: {
      name: "t",
      namespace: "ns",
      uid: "u",
      labels,
      annotations: { "kubernetes.io/service-account.name": "sa" },
      creationTimestamp: created,
    },
    type: "kubernetes.io/service-account-token",
  };
}

function audit(now: number, labels: Record<string, string>, unusedForMs: number, opts: {
  created?: string;
  untrackedBy?: string;
} = {}): SecretTokenItem {
  return auditSecret(secret(labels, opts.created), { uid: "sa-uid" }, {
    now: new Date(now),
    unusedForMs,
    untrackedBy: opts.untrackedBy,
  });
}

const used = (day: string) => ({ "kubernetes.io/legacy-token-last-used": day });
const unused = (item: SecretTokenItem) => item.findings.find((f) => f.type === "unused");

Deno.test("audit counts a day-only last-used label from the end of that day", async (t) => {
  for (const instant of EDGE_INSTANTS) {
    const now = Date.parse(instant);
    const sinceMidnight = now % DAY_MS;
    const today = dayOf(now);
    const yesterday = dayOf(now - DAY_MS);
    const twoDaysAgo = dayOf(now - 2 * DAY_MS);
    await t.step(instant, () => {
      // Used today: it may have been used a second ago.
      for (const threshold of [1000, HOUR_MS, DAY_MS]) {
        const item = audit(now, used(today), threshold);
        assert.equal(item.idleMs, 0);
        assert.equal(unused(item), undefined, `today, --unused-for ${threshold}`);
      }
      // Used yesterday: at least the time since midnight, at most a day more.
      const y = audit(now, used(yesterday), 36 * HOUR_MS);
      assert.equal(y.idleMs, sinceMidnight);
      assert.equal(unused(y), undefined, "yesterday is never more than 36h (1d12h)");
      const yHour = audit(now, used(yesterday), HOUR_MS);
      assert.equal(Boolean(unused(yHour)), sinceMidnight > HOUR_MS, "yesterday with 1h");
      // Two days ago: more than a day for certain, never more than two.
      const two = audit(now, used(twoDaysAgo), DAY_MS);
      assert.equal(two.idleMs, DAY_MS + sinceMidnight);
      assert.equal(Boolean(unused(two)), sinceMidnight > 0);
      assert.equal(unused(audit(now, used(twoDaysAgo), 2 * DAY_MS)), undefined);
      if (sinceMidnight > 0) {
        assert.match(
          unused(two)!.reason,
          new RegExp(`^last used on ${twoDaysAgo}, at least \\S+ ago \\(more than 24h\\)$`),
        );
      }
    });
  }
});

Deno.test("audit says 'at least' the least idle time", () => {
  const now = Date.parse("2026-12-01T22:00:00Z");
  const item = audit(now, used("2026-11-30"), 12 * HOUR_MS);
  assert.equal(
    unused(item)?.reason,
    "last used on 2026-11-30, at least 22h ago (more than 12h)",
  );
  assert.equal(item.findings.find((f) => f.type === "unused")?.severity, "high");
});

Deno.test("audit treats a label that is not a day as no reading", async (t) => {
  const now = Date.parse("2026-12-01T12:00:00Z");
  for (const label of ["2026-02-30", "2026-13-01", "yesterday", "20261130"]) {
    await t.step(label, () => {
      const item = audit(now, used(label), HOUR_MS);
      assert.equal(item.lastUsed, undefined);
      assert.equal(unused(item), undefined);
    });
  }
});

Deno.test("audit on a server that does not track use raises nothing that --fail-on counts", () => {
  const now = Date.parse("2026-12-01T12:00:00Z");
  const item = audit(now, {}, DAY_MS, {
    created: "2020-01-01T00:00:00Z",
    untrackedBy: "v1.20.2",
  });
  assert.equal(item.tracked, false);
  assert.equal(item.idleMs, undefined, "idle time unknown: never selected as unused");
  const never = item.findings.find((f) => f.type === "never-used")!;
  assert.equal(never.severity, "info");
  assert.match(never.reason, /predates legacy token tracking/);
  assert.deepEqual(item.findings.map((f) => f.severity).sort(), ["info", "medium"]);
});

Deno.test("leastIdleMs() never reads a label in the direction that raises a finding", () => {
  const now = Date.parse("2026-12-01T23:59:59Z");
  assert.equal(leastIdleMs(new Date("2026-12-01T00:00:00Z"), undefined, now), 0);
  assert.equal(leastIdleMs(new Date("2026-11-30T00:00:00Z"), undefined, now), DAY_MS - 1000);
  assert.equal(leastIdleMs(undefined, new Date("2026-12-01T23:00:00Z"), now), 3_599_000);
  assert.equal(leastIdleMs(undefined, undefined, now), undefined);
});

Deno.test("a bootstrap token expires at its expiration, not a second before", async (t) => {
  for (const instant of EDGE_INSTANTS) {
    await t.step(instant, () => {
      const now = Date.parse(instant);
      const at = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
      const boot = (expiration: string) =>
        auditBootstrapSecret({
          metadata: { name: "bootstrap-token-abcdef", namespace: "kube-system" },
          type: "bootstrap.kubernetes.io/token",
          data: {
            "token-id": btoa("abcdef"),
            "token-secret": btoa("0123456789abcdef"),
            expiration: btoa(expiration),
            "usage-bootstrap-authentication": btoa("true"),
          },
        }, { now: new Date(now), unusedForMs: DAY_MS })!;
      assert.equal(boot(at(now + 1000)).expired, false);
      assert.equal(boot(at(now)).expired, true);
      assert.equal(boot(at(now - 1000)).expired, true);
      assert.deepEqual(boot(at(now + 1000)).findings, []);
    });
  }
});
