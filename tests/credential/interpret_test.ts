import assert from "node:assert/strict";
import {
  expiryText,
  groupsText,
  impersonatedUser,
  interpretCredential,
  interpretToken,
} from "../../src/credential/interpret.ts";
import { boundClaims, legacyClaims, NOW, rawToken } from "../jwt/_tokens.ts";

const HEADER = { alg: "RS256", kid: "k" };
const SA_GROUPS = (ns: string) => [
  "system:serviceaccounts",
  `system:serviceaccounts:${ns}`,
  "system:authenticated",
];

Deno.test("interpretToken() gives a bound token's user as the API server makes it", () => {
  const it = interpretToken(rawToken(HEADER, boundClaims(), "c2ln"), { now: NOW });
  assert.equal(it.kind, "bound-service-account-token");
  assert.equal(it.label, "bound service-account token (Pod-bound)");
  assert.deepEqual(it.user, {
    username: "system:serviceaccount:default:my-sa",
    uid: "5e7b5c2f-0000-4000-8000-000000000003",
    groups: SA_GROUPS("default"),
    extra: {
      "authentication.kubernetes.io/pod-name": ["my-pod"],
      "authentication.kubernetes.io/pod-uid": ["5e7b5c2f-0000-4000-8000-000000000002"],
      "authentication.kubernetes.io/node-name": ["node-1"],
      "authentication.kubernetes.io/node-uid": ["5e7b5c2f-0000-4000-8000-000000000001"],
      "authentication.kubernetes.io/credential-id": ["JTI=0c5e2a55-6d39-4a8e-9f2b-3c1d2e4f5a6b"],
    },
  });
  assert.deepEqual(it.expiry, { kind: "at", at: new Date("2026-11-29T02:00:00Z") });
  assert.equal(expiryText(it.expiry, NOW), "2026-11-29T02:00:00Z (in 47m)");
});

Deno.test("interpretToken() says a legacy Secret token never expires, not unknown", () => {
  const it = interpretToken(rawToken(HEADER, legacyClaims(), "c2ln"), { now: NOW });
  assert.equal(it.kind, "legacy-service-account-token");
  assert.deepEqual(it.expiry, { kind: "never", why: "the token has no expiry" });
  assert.equal(expiryText(it.expiry, NOW), "never (the token has no expiry)");
  assert.deepEqual(it.user?.groups, SA_GROUPS("default"));
  assert.equal(it.user?.uid, "5e7b5c2f-0000-4000-8000-000000000003");
});

Deno.test("interpretToken() refuses an exp that is not whole finite seconds", async (t) => {
  for (const exp of ["1e400", "-1e400", "1764378000.5", '"tomorrow"']) {
    await t.step(exp, () => {
      const payload = JSON.stringify({ ...boundClaims(), exp: 0 }).replace(
        '"exp":0',
        `"exp":${exp}`,
      );
      const b64 = (s: string) =>
        btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
      const token = `${b64(JSON.stringify(HEADER))}.${b64(payload)}.c2ln`;
      const it = interpretToken(token, { now: NOW });
      assert.equal(it.expiry.kind, "invalid");
      assert.match(expiryText(it.expiry, NOW), /^invalid \(claim "exp" is not a valid NumericDate/);
    });
  }
});

Deno.test("interpretToken() for a bootstrap token: extra groups and expiry from its Secret", async (t) => {
  const token = "abcdef.0123456789abcdef";
  await t.step("Secret not readable: unknown, not omitted", () => {
    const it = interpretToken(token, { now: NOW });
    assert.equal(it.kind, "bootstrap-token");
    assert.deepEqual(it.user, {
      username: "system:bootstrap:abcdef",
      groups: ["system:bootstrappers", "system:authenticated"],
      unknownGroups: 'the "auth-extra-groups" of Secret kube-system/bootstrap-token-abcdef',
    });
    assert.equal(
      groupsText(it.user!),
      '[system:bootstrappers system:authenticated] and the "auth-extra-groups" of Secret kube-system/bootstrap-token-abcdef (unknown)',
    );
    assert.equal(it.expiry.kind, "unknown");
  });
  await t.step("Secret read: sorted, deduplicated, then system:authenticated", () => {
    const it = interpretToken(token, {
      now: NOW,
      bootstrapSecret: {
        extraGroups: ["system:bootstrappers:kubeadm:default-node-token", "system:bootstrappers"],
        expiration: new Date("2026-11-30T00:00:00Z"),
      },
    });
    assert.deepEqual(it.user?.groups, [
      "system:bootstrappers",
      "system:bootstrappers:kubeadm:default-node-token",
      "system:authenticated",
    ]);
    assert.equal(it.user?.unknownGroups, undefined);
    assert.deepEqual(it.expiry, { kind: "at", at: new Date("2026-11-30T00:00:00Z") });
  });
  await t.step("Secret without expiration: never", () => {
    const it = interpretToken(token, { now: NOW, bootstrapSecret: { extraGroups: [] } });
    assert.equal(it.expiry.kind, "never");
  });
});

Deno.test("interpretToken() for an opaque token: no user, expiry unknown", async () => {
  const it = interpretToken("opaque-static-token", { now: NOW });
  assert.equal(it.kind, "opaque-token");
  assert.equal(it.user, undefined);
  assert.equal(it.expiry.kind, "unknown");
  const exec = await interpretCredential(
    { token: "opaque-static-token", expiresAt: new Date("2026-11-29T01:30:00Z"), source: "exec" },
    { now: NOW },
  );
  assert.deepEqual(exec.expiry, { kind: "at", at: new Date("2026-11-29T01:30:00Z") });
});

Deno.test("impersonatedUser() adds the groups the impersonation filter adds", async (t) => {
  const cases: [string, Parameters<typeof impersonatedUser>[0], string[]][] = [
    [
      "a service account without --as-group gets its fixed groups",
      { user: "system:serviceaccount:ci:deployer", groups: [] },
      SA_GROUPS("ci"),
    ],
    [
      "a service account with --as-group gets only those, plus system:authenticated",
      { user: "system:serviceaccount:ci:deployer", groups: ["team"] },
      ["team", "system:authenticated"],
    ],
    ["a user", { user: "jane", groups: [] }, ["system:authenticated"]],
    ["a user with groups", { user: "jane", groups: ["dev", "ops"] }, [
      "dev",
      "ops",
      "system:authenticated",
    ]],
    ["anonymous", { user: "system:anonymous", groups: [] }, ["system:unauthenticated"]],
    [
      "a malformed service-account name is a plain user",
      { user: "system:serviceaccount:ci", groups: [] },
      ["system:authenticated"],
    ],
  ];
  for (const [name, imp, groups] of cases) {
    await t.step(name, () => assert.deepEqual(impersonatedUser(imp).groups, groups));
  }
  assert.equal(impersonatedUser({ user: "jane", uid: "u-1", groups: [] }).uid, "u-1");
});

Deno.test("interpretCredential() keeps the credential's kind and expiry under --as", async () => {
  const it = await interpretCredential(
    { token: rawToken(HEADER, legacyClaims(), "c2ln"), source: "token" },
    { now: NOW, impersonate: { user: "system:serviceaccount:ci:deployer", groups: [] } },
  );
  assert.equal(it.kind, "legacy-service-account-token");
  assert.equal(it.expiry.kind, "never");
  assert.deepEqual(it.user, {
    username: "system:serviceaccount:ci:deployer",
    groups: SA_GROUPS("ci"),
  });
});
