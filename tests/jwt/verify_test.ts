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
  options?: { skewSeconds?: number; issuer?: string; audience?: string; now?: Date };
  want: VerifyResult;
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
    options: { skewSeconds: 0 },
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
      const got = await verifyToken(token, { jwks: c.keys ?? jwks }, { now, ...rest });
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
