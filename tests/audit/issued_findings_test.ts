import assert from "node:assert/strict";
import { auditIssuedSecret, auditSecret } from "../../src/audit/findings.ts";
import { itemDocument, tableRow } from "../../src/commands/audit.ts";
import type { Secret } from "../../src/api/secrets.ts";
import { EDGE_INSTANTS } from "../e2e/_audit_seed.ts";

const rules = (now: Date) => ({ now, unusedForMs: 90 * 86_400_000 });

/** A registry entry as `create --revocable` writes it, for a token that expires at `expires`. */
function entry(expires?: Date, extra: Partial<Secret["metadata"]> = {}): Secret {
  const annotations: Record<string, string> = {
    "kubectl-token.io/audiences": '["https://kubernetes.default.svc"]',
    "kubectl-token.io/purpose": "nightly backup",
    "kubectl-token.io/requester": "alice@example.com",
    "kubectl-token.io/fingerprint": "0123abcd4567",
  };
  if (expires) {
    annotations["kubectl-token.io/expires-at"] = expires.toISOString().replace(/\.\d+Z$/, "Z");
  }
  return {
    metadata: {
      name: "robot-issued-x2v4q",
      namespace: "team",
      uid: "entry-uid",
      creationTimestamp: "2026-11-01T00:00:00Z",
      labels: { "kubectl-token.io/service-account": "robot" },
      annotations,
      ownerReferences: [{ apiVersion: "v1", kind: "ServiceAccount", name: "robot", uid: "sa" }],
      ...extra,
    },
    type: "kubectl-token.io/issued-token",
  };
}

Deno.test("an issued token's entry is unpruned from its expiry on, not a millisecond before", async (t) => {
  // The edges of a day (23:59:59, 00:00:01 UTC), a month, a leap day and a year.
  for (const at of EDGE_INSTANTS) {
    const now = new Date(at);
    const cases: { name: string; expiresMs: number; nowMs?: number; finding?: string }[] = [
      { name: "expired 1s before now", expiresMs: -1000, finding: "expired 1s ago" },
      { name: "expires 1s after now", expiresMs: 1000 },
      { name: "expires at now", expiresMs: 0, finding: "expired 0s ago" },
      // The annotation holds whole seconds, as the edge instants are.
      { name: "expires 1ms after now", expiresMs: 0, nowMs: -1 },
      { name: "expired 3 days ago", expiresMs: -3 * 86_400_000, finding: "expired 3d ago" },
    ];
    for (const c of cases) {
      await t.step(`${at}: ${c.name}`, () => {
        const item = auditIssuedSecret(
          entry(new Date(now.getTime() + c.expiresMs)),
          rules(new Date(now.getTime() + (c.nowMs ?? 0))),
        )!;
        assert.equal(item.kind, "IssuedToken");
        assert.equal(item.state, c.finding ? "expired" : "active");
        const expected = c.finding
          ? [{
            type: "unpruned",
            severity: "low",
            reason: `issued token ${c.finding}; its registry entry was never pruned ` +
              `(kubectl token issued -n team --prune)`,
            replacement: "kubectl token issued -n team --prune",
          }]
          : [];
        assert.deepEqual(item.findings, expected);
      });
    }
  }
});

Deno.test("auditIssuedSecret() raises nothing it cannot know, and takes no other Secret", () => {
  const now = new Date(EDGE_INSTANTS[3]);
  // No recorded expiry (the token was never issued, or the entry was written by hand).
  assert.deepEqual(auditIssuedSecret(entry(), rules(now))?.findings, []);
  // Being deleted already: revoked, not clutter.
  const revoked = auditIssuedSecret(
    entry(new Date(now.getTime() - 1000), { deletionTimestamp: "2026-11-30T23:59:00Z" }),
    rules(now),
  )!;
  assert.equal(revoked.state, "revoked");
  assert.deepEqual(revoked.findings, []);
  // A legacy token Secret is no entry, and an entry is no legacy token for auditSecret's caller.
  const legacy = { ...entry(), type: "kubernetes.io/service-account-token" };
  assert.equal(auditIssuedSecret(legacy, rules(now)), undefined);
  assert.equal(auditSecret(entry(), { uid: "sa" }, rules(now)).kind, "Secret");
});

Deno.test("an unpruned entry in the table and in -o json", () => {
  const now = new Date("2026-12-02T00:00:01Z");
  const item = auditIssuedSecret(entry(new Date("2026-11-29T00:00:01Z")), rules(now))!;
  assert.deepEqual(tableRow(item, now, false), [
    "team",
    "IssuedToken",
    "robot-issued-x2v4q",
    "robot",
    "31d",
    "<none>",
    "<expired>",
    "low",
    "unpruned",
  ]);
  assert.deepEqual(tableRow(item, now, true).slice(9), [
    "<none>",
    "<none>",
    "<none>",
    "nightly backup",
    "<none>",
    "issued token expired 3d ago; its registry entry was never pruned " +
    "(kubectl token issued -n team --prune)",
  ]);
  assert.deepEqual(JSON.parse(JSON.stringify(itemDocument(item, now))), {
    kind: "IssuedToken",
    namespace: "team",
    name: "robot-issued-x2v4q",
    uid: "entry-uid",
    serviceAccount: "robot",
    requester: "alice@example.com",
    purpose: "nightly backup",
    creationTimestamp: "2026-11-01T00:00:00Z",
    expires: "2026-11-29T00:00:01Z",
    state: "expired",
    findings: [{
      type: "unpruned",
      severity: "low",
      reason: "issued token expired 3d ago; its registry entry was never pruned " +
        "(kubectl token issued -n team --prune)",
      replacement: "kubectl token issued -n team --prune",
    }],
  });
  const live = auditIssuedSecret(entry(new Date("2026-12-02T01:00:01Z")), rules(now))!;
  assert.equal(tableRow(live, now, false)[6], "60m");
  assert.equal(itemDocument(live, now).ttl, "1h");
});
