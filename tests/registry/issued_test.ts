import assert from "node:assert/strict";
import {
  ANNOTATIONS,
  entryNamePrefix,
  entryOf,
  entrySecret,
  fingerprint,
  ISSUED_TOKEN_TYPE,
  registryStatus,
  requesterLabel,
} from "../../src/registry/issued.ts";
import type { Secret } from "../../src/api/secrets.ts";

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

Deno.test("fingerprint() is the first 12 hex digits of SHA-256", async () => {
  assert.equal(await fingerprint("abc"), "ba7816bf8f01");
  assert.notEqual(await fingerprint("abc"), await fingerprint("abd"));
});

Deno.test("requesterLabel() gives a valid label value for every user name", async (t) => {
  const cases: [string, string | RegExp][] = [
    ["kubernetes-admin", "kubernetes-admin"],
    ["system:serviceaccount:ci:robot", "system_serviceaccount_ci_robot"],
    ["alice@example.com", "alice_example.com"],
    ["-edge-", "edge"],
    ["ü", /^[0-9a-f]{12}$/],
    [":::", /^[0-9a-f]{12}$/],
    ["a".repeat(63), "a".repeat(63)],
    ["a".repeat(64), new RegExp(`^a{50}\\.[0-9a-f]{12}$`)],
    [`${"b".repeat(49)}:${"c".repeat(40)}`, new RegExp(`^b{49}\\.[0-9a-f]{12}$`)],
  ];
  for (const [name, expected] of cases) {
    await t.step(JSON.stringify(name), async () => {
      const value = await requesterLabel(name);
      assert.ok(value.length > 0 && value.length <= 63, value);
      assert.match(value, LABEL_VALUE);
      if (typeof expected === "string") assert.equal(value, expected);
      else assert.match(value, expected);
    });
  }
  assert.notEqual(await requesterLabel("a".repeat(64)), await requesterLabel("a".repeat(65)));
});

Deno.test("entryNamePrefix() plus five characters is a valid Secret name", async (t) => {
  for (
    const sa of ["robot", "a".repeat(253), `${"a".repeat(47)}.b`, `${"a".repeat(47)}-b`, "x.y"]
  ) {
    await t.step(sa.length > 20 ? `${sa.slice(0, 10)}... (${sa.length})` : sa, () => {
      const prefix = entryNamePrefix(sa);
      assert.ok(prefix.length <= 58, prefix);
      assert.match(`${prefix}bcd45`, SUBDOMAIN);
    });
  }
});

const NOW = new Date("2028-02-29T23:59:59Z");

function entry(extra: Partial<Secret["metadata"]> = {}, annotations: Record<string, string> = {}) {
  return {
    type: ISSUED_TOKEN_TYPE,
    metadata: {
      name: "robot-issued-bcd45",
      namespace: "ci",
      uid: "u1",
      annotations: { [ANNOTATIONS.audiences]: '["vault"]', ...annotations },
      ownerReferences: [{ apiVersion: "v1", kind: "ServiceAccount", name: "robot", uid: "sa" }],
      ...extra,
    },
  };
}

Deno.test("entryOf() tells active, expired (at exp exactly) and revoked apart", async (t) => {
  const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
  const cases: [string, Secret, string | undefined][] = [
    ["expires later", entry({}, { [ANNOTATIONS.expiresAt]: at(1000) }), "active"],
    ["expires now", entry({}, { [ANNOTATIONS.expiresAt]: at(0) }), "expired"],
    ["expired", entry({}, { [ANNOTATIONS.expiresAt]: at(-1000) }), "expired"],
    ["no expiry recorded", entry(), "active"],
    ["being deleted", entry({ deletionTimestamp: at(-1) }), "revoked"],
    ["another type", { ...entry(), type: "Opaque" }, undefined],
  ];
  for (const [name, secret, state] of cases) {
    await t.step(name, () => assert.equal(entryOf(secret, NOW)?.state, state));
  }
  const e = entryOf(entry(), NOW)!;
  assert.equal(e.serviceAccount, "robot");
  assert.deepEqual(e.audiences, ["vault"]);
});

Deno.test("registryStatus() calls a missing or replaced entry revoked", () => {
  const ref = { namespace: "ci", name: "robot-issued-bcd45", uid: "u1" };
  assert.deepEqual(registryStatus(ref, entry(), NOW), {
    id: ref.name,
    namespace: "ci",
    state: "active",
  });
  assert.equal(registryStatus(ref, undefined, NOW)?.state, "revoked");
  assert.equal(registryStatus(ref, entry({ uid: "u2" }), NOW)?.state, "revoked");
  assert.equal(registryStatus({ ...ref, name: "anchor" }, undefined, NOW), undefined);
  assert.equal(registryStatus(ref, { ...entry(), type: "Opaque" }, NOW), undefined);
});

Deno.test("entrySecret() holds no data and is owned by the service account", async () => {
  const s = await entrySecret({
    namespace: "ci",
    serviceAccount: { name: "robot", uid: "sa-uid" },
    requester: "system:admin",
    purpose: "backup",
    audiences: [],
  });
  assert.equal(s.type, ISSUED_TOKEN_TYPE);
  assert.equal(s.data, undefined);
  assert.equal(s.metadata.generateName, "robot-issued-");
  assert.deepEqual(s.metadata.ownerReferences, [
    { apiVersion: "v1", kind: "ServiceAccount", name: "robot", uid: "sa-uid" },
  ]);
  assert.equal(s.metadata.labels?.["kubectl-token.io/requester"], "system_admin");
  assert.equal(s.metadata.annotations?.[ANNOTATIONS.requester], "system:admin");
});
