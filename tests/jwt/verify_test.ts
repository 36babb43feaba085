import assert from "node:assert/strict";
import type { JSONWebKeySet } from "jose";
import { SignJWT } from "jose";
import { CliError } from "../../src/errors.ts";
import { TokenFormatError } from "../../src/jwt/decode.ts";
import { parseJwks, type VerifyResult, verifyToken } from "../../src/jwt/verify.ts";
import {
  b64url,
  boundClaims,
  ISSUED_S,
  ISSUER,
  makeKey,
  NOW,
  rawToken,
  sign,
  type TestKey,
  tokenParts,
} from "./_tokens.ts";

const rsa = await makeKey("RS256", "rsa-1");
const rsaOther = await makeKey("RS256", "rsa-2");
const ec = await makeKey("ES256", "ec-1");
const ec384 = await makeKey("ES384", "ec-384");
const jwks: JSONWebKeySet = { keys: [rsa.jwk, rsaOther.jwk, ec.jwk, ec384.jwk] };

interface Case {
  name: string;
  token: () => Promise<string> | string;
  keys?: JSONWebKeySet;
  options?: { leewayMs?: number; issuer?: string; audience?: string; now?: Date };
  /** The overall verdict; the two separate checks are tested below. */
  want: Pick<VerifyResult, "valid" | "reason" | "kid" | "algorithm">;
}

const claimsAt = (offsetSeconds: number) => {
  const claims = boundClaims();
  claims.iat = ISSUED_S + offsetSeconds;
  claims.nbf = ISSUED_S + offsetSeconds;
  claims.exp = ISSUED_S + offsetSeconds + 3600;
  return claims;
};

const withKid = (key: TestKey, kid: string): TestKey => ({ ...key, jwk: { ...key.jwk, kid } });

const cases: Case[] = [
  {
    name: "accepts an RS256 token and reports the matched kid",
    token: () => sign(boundClaims(), rsa, "RS256"),
    want: { valid: true, kid: "rsa-1", algorithm: "RS256" },
  },
  {
    name: "accepts an ES256 token",
    token: () => sign(boundClaims(), ec, "ES256"),
    want: { valid: true, kid: "ec-1", algorithm: "ES256" },
  },
  {
    name: "finds the right key for a token without kid among several",
    token: () => sign(boundClaims(), rsaOther, "RS256", null),
    want: { valid: true, kid: "rsa-2", algorithm: "RS256" },
  },
  {
    name: "refuses a token with alg none",
    token: () => rawToken({ alg: "none" }, boundClaims()),
    want: { valid: false, reason: 'token is not signed (alg "none")', algorithm: "none" },
  },
  {
    name: "refuses an RS256 token with its signature stripped",
    token: async () => (await sign(boundClaims(), rsa, "RS256")).replace(/\.[^.]+$/, "."),
    want: {
      valid: false,
      reason: "token has an empty signature",
      kid: "rsa-1",
      algorithm: "RS256",
    },
  },
  {
    name: "refuses an HMAC token against a public key set",
    token: () =>
      new SignJWT(boundClaims()).setProtectedHeader({ alg: "HS256", kid: "rsa-1" })
        .sign(new TextEncoder().encode("a-shared-secret-that-is-long-enough!")),
    want: {
      valid: false,
      reason: 'algorithm "HS256" uses a shared secret and cannot be checked against public keys',
      kid: "rsa-1",
      algorithm: "HS256",
    },
  },
  {
    name: "refuses an RS256 header whose kid names an EC key",
    token: () => sign(boundClaims(), rsa, "RS256", "ec-1"),
    want: {
      valid: false,
      reason: 'key "ec-1" is an EC key and cannot verify algorithm "RS256"',
      kid: "ec-1",
      algorithm: "RS256",
    },
  },
  {
    name: "refuses an ES256 header whose kid names a P-384 key",
    token: () => sign(boundClaims(), ec, "ES256", "ec-384"),
    want: {
      valid: false,
      reason: 'key "ec-384" uses curve "P-384" and cannot verify algorithm "ES256"',
      kid: "ec-384",
      algorithm: "ES256",
    },
  },
  {
    name: "refuses a key whose alg is another algorithm",
    token: () => sign(boundClaims(), rsa, "RS256"),
    keys: { keys: [{ ...rsa.jwk, alg: "RS512" }] },
    want: {
      valid: false,
      reason: 'key "rsa-1" is for algorithm "RS512", not "RS256"',
      kid: "rsa-1",
      algorithm: "RS256",
    },
  },
  {
    name: "refuses an encryption key",
    token: () => sign(boundClaims(), rsa, "RS256"),
    keys: { keys: [{ ...rsa.jwk, use: "enc" }] },
    want: {
      valid: false,
      reason: 'key "rsa-1" is not a signing key (use "enc")',
      kid: "rsa-1",
      algorithm: "RS256",
    },
  },
  {
    name: "says when no key has the token's kid",
    token: () => sign(boundClaims(), rsa, "RS256", "rotated-away"),
    want: {
      valid: false,
      reason: 'no key with kid "rotated-away" in the key set',
      kid: "rotated-away",
      algorithm: "RS256",
    },
  },
  {
    name: "says when no key fits the algorithm",
    token: () => sign(boundClaims(), ec, "ES256", null),
    keys: { keys: [rsa.jwk, rsaOther.jwk] },
    want: {
      valid: false,
      reason: 'no key in the key set fits algorithm "ES256"',
      algorithm: "ES256",
    },
  },
  {
    name: "detects a tampered payload",
    token: async () => {
      const [header, , signature] = (await sign(boundClaims(), rsa, "RS256")).split(".");
      const forged = { ...boundClaims(), sub: "system:serviceaccount:kube-system:admin" };
      return `${header}.${b64url(JSON.stringify(forged))}.${signature}`;
    },
    want: {
      valid: false,
      reason: 'signature does not match key "rsa-1"',
      kid: "rsa-1",
      algorithm: "RS256",
    },
  },
  {
    name: "detects a token signed by another key under the same kid",
    token: () => sign(boundClaims(), withKid(rsaOther, "rsa-1"), "RS256"),
    want: {
      valid: false,
      reason: 'signature does not match key "rsa-1"',
      kid: "rsa-1",
      algorithm: "RS256",
    },
  },
  {
    name: "says when no key verifies a token without kid",
    token: async () => sign(boundClaims(), await makeKey("RS256"), "RS256", null),
    keys: { keys: [rsa.jwk, rsaOther.jwk] },
    want: {
      valid: false,
      reason: 'signature does not match any of the 2 keys for algorithm "RS256"',
      algorithm: "RS256",
    },
  },
  {
    name: "reports a token that expired 3h ago",
    token: () => sign(claimsAt(-4 * 3600 + 13 * 60), rsa, "RS256"),
    want: { valid: false, reason: "token expired 3h ago", kid: "rsa-1", algorithm: "RS256" },
  },
  {
    name: "allows 60 seconds of clock skew on exp by default",
    token: () => sign(claimsAt(-3600 + 13 * 60 - 30), rsa, "RS256"),
    want: { valid: true, kid: "rsa-1", algorithm: "RS256" },
  },
  {
    name: "honours a smaller clock skew",
    token: () => sign(claimsAt(-3600 + 13 * 60 - 30), rsa, "RS256"),
    options: { leewayMs: 0 },
    want: { valid: false, reason: "token expired 30s ago", kid: "rsa-1", algorithm: "RS256" },
  },
  {
    name: "reports a token that is not valid yet",
    token: () => sign(claimsAt(13 * 60 + 300), rsa, "RS256"),
    want: {
      valid: false,
      reason: "token is not valid before 2026-11-29T01:18:00Z (in 5m)",
      kid: "rsa-1",
      algorithm: "RS256",
    },
  },
  {
    name: "checks the issuer when asked",
    token: () => sign(boundClaims(), rsa, "RS256"),
    options: { issuer: "https://other.example" },
    want: {
      valid: false,
      reason: `issuer "${ISSUER}" is not the expected "https://other.example"`,
      kid: "rsa-1",
      algorithm: "RS256",
    },
  },
  {
    name: "checks the audience when asked",
    token: () => sign(boundClaims(), rsa, "RS256"),
    options: { audience: "vault" },
    want: {
      valid: false,
      reason: `audiences "${ISSUER}" do not include "vault"`,
      kid: "rsa-1",
      algorithm: "RS256",
    },
  },
  {
    name: "accepts a matching issuer and audience",
    token: () => sign(boundClaims(), rsa, "RS256"),
    options: { issuer: ISSUER, audience: ISSUER },
    want: { valid: true, kid: "rsa-1", algorithm: "RS256" },
  },
  {
    name: "says when there are no keys",
    token: () => sign(boundClaims(), rsa, "RS256"),
    keys: { keys: [] },
    want: { valid: false, reason: "no keys to verify against", kid: "rsa-1", algorithm: "RS256" },
  },
  {
    name: "refuses an unknown algorithm",
    token: () => rawToken({ alg: "XS999" }, boundClaims(), "c2ln"),
    want: { valid: false, reason: 'algorithm "XS999" is not supported', algorithm: "XS999" },
  },
];

Deno.test("verifyToken()", async (t) => {
  for (const c of cases) {
    await t.step(c.name, async () => {
      const token = await c.token();
      const { now = NOW, ...rest } = c.options ?? {};
      const result = await verifyToken(token, { jwks: c.keys ?? jwks }, { now, ...rest });
      const { signature: _s, time: _t, ...got } = result;
      assert.deepEqual(got, c.want);
      for (const part of tokenParts(token)) {
        assert.ok(!(got.reason ?? "").includes(part), "the reason never contains the token");
      }
    });
  }
});

Deno.test("verifyToken() rejects text that is not a JWT with TokenFormatError", async () => {
  await assert.rejects(verifyToken("abc.def", { jwks }, { now: NOW }), TokenFormatError);
});

Deno.test("verifyToken() says when no key set was given", async () => {
  const got = await verifyToken(await sign(boundClaims(), rsa, "RS256"), {}, { now: NOW });
  assert.equal(got.reason, "no keys to verify against");
});

Deno.test("parseJwks() accepts a key set and a single key", () => {
  const set = parseJwks(JSON.stringify({ keys: [rsa.jwk, ec.jwk] }), "jwks.json");
  assert.deepEqual(set.keys.map((k) => k.kid), ["rsa-1", "ec-1"]);
  assert.deepEqual(parseJwks(JSON.stringify(ec.jwk), "key.json"), { keys: [ec.jwk] });
});

Deno.test("parseJwks() rejects a malformed key set, naming the source", async (t) => {
  const cases = [
    { text: "{not json", why: "not valid JSON" },
    { text: "[]", why: 'expected a JSON object with a "keys" array' },
    { text: '{"keys": {}}', why: 'expected a JSON object with a "keys" array' },
    { text: '{"keys": []}', why: "the key set has no keys" },
    { text: '{"keys": [1]}', why: "key 1 is not a JSON object" },
    { text: '{"keys": [{"kty": "RSA"}, {"n": "x"}]}', why: 'key 2 has no "kty" field' },
    { text: '{"keys": [{"kty": "RSA", "kid": 7}]}', why: 'key 1 has a "kid" that is not a string' },
    {
      text: JSON.stringify({ keys: [{ kty: "EC", crv: "P-256", x: "a", y: "b", d: "c" }] }),
      why: "key 1 holds private or secret key material; give the public key set",
    },
    {
      text: '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}',
      why: "key 1 holds private or secret key material; give the public key set",
    },
  ];
  for (const c of cases) {
    await t.step(c.why, () => {
      assert.throws(
        () => parseJwks(c.text, "https://10.0.0.1:6443/openid/v1/jwks"),
        (error: unknown) => {
          assert.ok(error instanceof CliError);
          assert.equal(
            error.message,
            `Cannot read key set from "https://10.0.0.1:6443/openid/v1/jwks": ${c.why}`,
          );
          return true;
        },
      );
    });
  }
});

Deno.test("verifyToken() reports the signature and the time as two checks", async () => {
  // Correctly signed, expired an hour ago: the signature is valid, the time is not.
  const token = await sign(claimsAt(-2 * 3600 + 13 * 60), rsa, "RS256");
  const got = await verifyToken(token, { jwks }, { now: NOW });
  assert.deepEqual(got.signature, { valid: true });
  assert.deepEqual(got.time, { valid: false, text: "expired 60m ago", leewaySeconds: 60 });
  assert.equal(got.valid, false);
  assert.equal(got.reason, "token expired 60m ago");

  // A bad signature on a token in date: the time is valid, the signature is not.
  const forged = await sign(boundClaims(), rsaOther, "RS256", "rsa-1");
  const bad = await verifyToken(forged, { jwks }, { now: NOW });
  assert.deepEqual(bad.signature, { valid: false, reason: 'signature does not match key "rsa-1"' });
  assert.deepEqual(bad.time, { valid: true, text: "expires in 47m", leewaySeconds: 60 });
});

Deno.test("verifyToken() allows the leeway at its boundary and says so", async (t) => {
  const expiredBy = (seconds: number) => {
    const claims = boundClaims();
    claims.exp = NOW.getTime() / 1000 - seconds;
    return sign(claims, rsa, "RS256");
  };
  const within = (s: number) => `expired ${s}s ago, within the 60 s leeway the API server allows`;
  const cases: { seconds: number; leewayMs?: number; valid: boolean; text: string }[] = [
    { seconds: 0, valid: true, text: within(0) },
    { seconds: 30, valid: true, text: within(30) },
    { seconds: 59, valid: true, text: within(59) },
    // go-jose refuses once now - leeway is after exp: at exactly 60 s the token still works.
    { seconds: 60, valid: true, text: within(60) },
    { seconds: 61, valid: false, text: "expired 61s ago" },
    { seconds: 30, leewayMs: 0, valid: false, text: "expired 30s ago" },
    {
      seconds: 90,
      leewayMs: 120_000,
      valid: true,
      text: "expired 90s ago, within the 120 s leeway of --leeway",
    },
  ];
  for (const c of cases) {
    await t.step(`${c.seconds}s late, leeway ${c.leewayMs ?? "default"}`, async () => {
      const got = await verifyToken(await expiredBy(c.seconds), { jwks }, {
        now: NOW,
        leewayMs: c.leewayMs,
      });
      assert.equal(got.time.text, c.text);
      assert.equal(got.time.valid, c.valid);
      assert.equal(got.valid, c.valid);
      assert.deepEqual(got.signature, { valid: true });
    });
  }
});

Deno.test("verifyToken() refuses a time claim that is not whole finite seconds", async (t) => {
  // 1e400 parses as Infinity: it must not read as "never expires".
  const cases: [string, string][] = [
    ["exp", "1e400"],
    ["exp", "-1e400"],
    ["exp", "1764378000.5"],
    ["nbf", "1e400"],
    ["iat", "1e999"],
  ];
  for (const [claim, value] of cases) {
    await t.step(`${claim}: ${value}`, async () => {
      // Signed by hand: jose's SignJWT cannot write a number JSON cannot hold.
      const header = b64url(JSON.stringify({ alg: "ES256", kid: "ec-1" }));
      const claims = { ...boundClaims(), [claim]: 0 };
      const body = b64url(JSON.stringify(claims).replace(`"${claim}":0`, `"${claim}":${value}`));
      const key = await crypto.subtle.importKey(
        "jwk",
        await exportPrivate(ec),
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["sign"],
      );
      const sig = new Uint8Array(
        await crypto.subtle.sign(
          { name: "ECDSA", hash: "SHA-256" },
          key,
          new TextEncoder().encode(`${header}.${body}`),
        ),
      );
      const token = `${header}.${body}.${b64url(sig)}`;
      const got = await verifyToken(token, { jwks }, { now: NOW });
      assert.deepEqual(got.signature, { valid: true });
      assert.equal(got.valid, false);
      assert.equal(got.time.valid, false);
      assert.equal(
        got.time.text,
        `claim "${claim}" is not a valid NumericDate (seconds since 1970)`,
      );
    });
  }
});

async function exportPrivate(key: TestKey) {
  const { exportJWK } = await import("jose");
  return await exportJWK(key.privateKey);
}
