import assert from "node:assert/strict";
import { TokenFormatError } from "../../src/jwt/decode.ts";
import { inspectToken } from "../../src/jwt/inspect.ts";
import { boundClaims, ISSUED, ISSUED_S, ISSUER, legacyClaims, NOW, rawToken } from "./_tokens.ts";

const HEADER = { alg: "RS256", kid: "key-1", typ: "JWT" };

Deno.test("inspectToken() reads a Pod-bound token like the API server issues it", () => {
  const report = inspectToken(rawToken(HEADER, boundClaims(), "c2ln"), NOW);
  assert.equal(report.kind, "bound-service-account");
  assert.deepEqual(report.header, { alg: "RS256", kid: "key-1", typ: "JWT" });
  assert.equal(report.issuer, ISSUER);
  assert.equal(report.subject, "system:serviceaccount:default:my-sa");
  assert.deepEqual(report.audiences, [ISSUER]);
  assert.deepEqual(report.issuedAt, ISSUED);
  assert.deepEqual(report.notBefore, ISSUED);
  assert.deepEqual(report.expiresAt, new Date("2026-11-29T02:00:00Z"));
  assert.deepEqual(report.staleAfter, new Date("2026-11-29T01:10:00Z"));
  assert.equal(report.lifetimeSeconds, 3600);
  assert.equal(report.remainingSeconds, 47 * 60);
  assert.equal(report.remainingFraction, 47 / 60);
  assert.equal(report.expired, false);
  assert.equal(report.notYetValid, false);
  assert.equal(report.credentialId, "0c5e2a55-6d39-4a8e-9f2b-3c1d2e4f5a6b");
  assert.deepEqual(report.kubernetes, {
    namespace: "default",
    serviceAccount: { name: "my-sa", uid: "5e7b5c2f-0000-4000-8000-000000000003" },
    boundObject: { kind: "Pod", name: "my-pod", uid: "5e7b5c2f-0000-4000-8000-000000000002" },
    node: { name: "node-1", uid: "5e7b5c2f-0000-4000-8000-000000000001" },
  });
  assert.deepEqual(report.claims, boundClaims());
  assert.deepEqual(report.warnings, []);
});

Deno.test("inspectToken() tells the bound object kind apart", async (t) => {
  const cases = [
    { bound: { secret: { name: "s", uid: "u1" } }, kind: "Secret", node: undefined },
    { bound: { node: { name: "n", uid: "u2" } }, kind: "Node", node: { name: "n", uid: "u2" } },
    { bound: {}, kind: undefined, node: undefined },
  ];
  for (const c of cases) {
    await t.step(`${c.kind ?? "no"} bound object`, () => {
      const claims = boundClaims();
      claims["kubernetes.io"] = { namespace: "default", ...c.bound };
      const report = inspectToken(rawToken(HEADER, claims, "c2ln"), NOW);
      assert.equal(report.kind, "bound-service-account");
      assert.equal(report.kubernetes?.boundObject?.kind, c.kind);
      assert.deepEqual(report.kubernetes?.node, c.node);
      // The service account comes from the subject when the claim lacks it.
      assert.deepEqual(report.kubernetes?.serviceAccount, { name: "my-sa" });
    });
  }
});

Deno.test("inspectToken() classifies tokens by their claims", async (t) => {
  const cases: { name: string; claims: Record<string, unknown>; kind: string }[] = [
    { name: "kubernetes.io claim object", claims: boundClaims(), kind: "bound-service-account" },
    { name: "legacy Secret token", claims: legacyClaims(), kind: "legacy-service-account" },
    {
      name: "legacy issuer without legacy claims",
      claims: { iss: "kubernetes/serviceaccount", sub: "system:serviceaccount:a:b" },
      kind: "service-account",
    },
    {
      name: "service-account subject only",
      claims: { iss: "https://oidc.example", sub: "system:serviceaccount:kube-system:x" },
      kind: "service-account",
    },
    {
      name: "kubernetes.io claim that is not an object",
      claims: { "kubernetes.io": "nope", sub: "someone" },
      kind: "jwt",
    },
    {
      name: "OIDC id token",
      claims: { iss: "https://accounts.example", sub: "1234", email: "a@example.com" },
      kind: "jwt",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.equal(inspectToken(rawToken(HEADER, c.claims, "c2ln"), NOW).kind, c.kind);
    });
  }
});

Deno.test("inspectToken() reads a legacy Secret-based token", () => {
  const report = inspectToken(rawToken({ alg: "RS256", kid: "" }, legacyClaims(), "c2ln"), NOW);
  assert.equal(report.kind, "legacy-service-account");
  assert.deepEqual(report.kubernetes, {
    namespace: "default",
    serviceAccount: { name: "my-sa", uid: "5e7b5c2f-0000-4000-8000-000000000003" },
    secretName: "my-sa-token-x7k2p",
  });
  assert.equal(report.expiresAt, undefined);
  assert.equal(report.expired, false);
  assert.equal(report.remainingFraction, undefined);
});

Deno.test("inspectToken() fills namespace and name from a service-account subject", () => {
  const claims = { sub: "system:serviceaccount:kube-system:coredns" };
  const report = inspectToken(rawToken(HEADER, claims, "c2ln"), NOW);
  assert.deepEqual(report.kubernetes, {
    namespace: "kube-system",
    serviceAccount: { name: "coredns" },
  });
});

Deno.test("inspectToken() reports a bootstrap token by its ID only", () => {
  const report = inspectToken("07401b.f395accd246ae52d\n", NOW);
  assert.equal(report.kind, "bootstrap");
  assert.deepEqual(report.bootstrap, {
    tokenId: "07401b",
    secretNamespace: "kube-system",
    secretName: "bootstrap-token-07401b",
    username: "system:bootstrap:07401b",
  });
  assert.ok(!JSON.stringify(report).includes("f395accd246ae52d"), "the secret is never kept");
});

Deno.test("inspectToken() turns a string aud into a one-element list", () => {
  const report = inspectToken(rawToken(HEADER, { aud: "api" }, "c2ln"), NOW);
  assert.deepEqual(report.audiences, ["api"]);
});

Deno.test("inspectToken() computes expiry against the given now", async (t) => {
  const cases = [
    { name: "fresh", now: ISSUED, expired: false, fraction: 1, remaining: 3600 },
    {
      name: "at exp",
      now: new Date((ISSUED_S + 3600) * 1000),
      expired: true,
      fraction: 0,
      remaining: 0,
    },
    {
      name: "3h after exp",
      now: new Date((ISSUED_S + 4 * 3600) * 1000),
      expired: true,
      fraction: 0,
      remaining: 0,
    },
    {
      name: "before iat",
      now: new Date((ISSUED_S - 60) * 1000),
      expired: false,
      fraction: 1,
      remaining: 3660,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const report = inspectToken(rawToken(HEADER, boundClaims(), "c2ln"), c.now);
      assert.equal(report.expired, c.expired);
      assert.equal(report.remainingFraction, c.fraction);
      assert.equal(report.remainingSeconds, c.remaining);
    });
  }
});

Deno.test("inspectToken() flags a token whose nbf is in the future", () => {
  const claims = { ...boundClaims(), nbf: ISSUED_S + 3000 };
  const report = inspectToken(rawToken(HEADER, claims, "c2ln"), NOW);
  assert.equal(report.notYetValid, true);
  assert.equal(report.expired, false);
});

Deno.test("inspectToken() keeps unknown claims in the raw map", () => {
  const claims = { ...boundClaims(), groups: ["a", "b"], "example.com/tenant": { id: 7 } };
  const report = inspectToken(rawToken(HEADER, claims, "c2ln"), NOW);
  assert.deepEqual(report.claims.groups, ["a", "b"]);
  assert.deepEqual(report.claims["example.com/tenant"], { id: 7 });
});

Deno.test("inspectToken() warns about malformed claims by name, without their values", () => {
  const claims = {
    iss: 42,
    aud: [1, 2],
    exp: "tomorrow-s3cr3t",
    iat: 1e300,
    "kubernetes.io": { namespace: ["x"], pod: "s3cr3t-pod" },
  };
  const report = inspectToken(rawToken(HEADER, claims, "c2ln"), NOW);
  assert.deepEqual(report.warnings, [
    'claim "iss" is not a string',
    'claim "aud" is neither a string nor a list of strings',
    'claim "iat" is not a valid NumericDate (seconds since 1970)',
    'claim "exp" is not a valid NumericDate (seconds since 1970)',
    'claim "kubernetes.io.namespace" is not a string',
    'claim "kubernetes.io.pod" is not an object',
  ]);
  assert.equal(report.expiresAt, undefined);
  assert.ok(!report.warnings.join().includes("s3cr3t"));
});

Deno.test("inspectToken() rejects text that is neither a JWT nor a bootstrap token", () => {
  assert.throws(() => inspectToken("not-a-token", NOW), TokenFormatError);
});
