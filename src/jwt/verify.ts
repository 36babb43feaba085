/**
 * Signature and claim checks against a JSON Web Key Set, such as the API server's
 * `/openid/v1/jwks`. Kept apart from decoding so that `decode` does not load jose.
 */

import { compactVerify, createLocalJWKSet, errors, type JSONWebKeySet, type JWK } from "jose";
import { CliError } from "../errors.ts";
import { decodeJwt } from "./decode.ts";
import { inspectToken } from "./inspect.ts";
import { checkTimes, type TimeCheck } from "./times.ts";

/** The outcome of {@link verifyToken}: two checks, the signature and the time claims. */
export interface VerifyResult {
  /** Both checks (and `iss`/`aud` when asked) passed. */
  valid: boolean;
  /** Why the token is not valid, in one line that never contains the token. */
  reason?: string;
  /** The `kid` of the key that verified the signature, else the `kid` the token names. */
  kid?: string;
  /** The token's `alg`. */
  algorithm?: string;
  /** The signature check alone. */
  signature: { valid: boolean; reason?: string };
  /** The time check alone (`exp`, `nbf` with the leeway), made whatever the signature says. */
  time: TimeCheck;
}

/** The keys to verify against. */
export interface VerifyKeys {
  jwks?: JSONWebKeySet;
}

/** Options for {@link verifyToken}. */
export interface VerifyOptions {
  now: Date;
  /** Clock skew allowed on `exp` and `nbf`, in milliseconds; the API server's 60 s by default. */
  leewayMs?: number;
  /** When set, the `iss` claim must equal it. */
  issuer?: string;
  /** When set, the `aud` claim must contain it. */
  audience?: string;
}

// Asymmetric algorithms only: a public key set can never check a shared-secret (HMAC) MAC.
const KEY_TYPES: Record<string, { kty: string; crv?: string }> = {
  RS256: { kty: "RSA" },
  RS384: { kty: "RSA" },
  RS512: { kty: "RSA" },
  PS256: { kty: "RSA" },
  PS384: { kty: "RSA" },
  PS512: { kty: "RSA" },
  ES256: { kty: "EC", crv: "P-256" },
  ES384: { kty: "EC", crv: "P-384" },
  ES512: { kty: "EC", crv: "P-521" },
  EdDSA: { kty: "OKP", crv: "Ed25519" },
  Ed25519: { kty: "OKP", crv: "Ed25519" },
};

/**
 * Verifies a JWT's signature against a key set, and separately its `exp` and `nbf` with the
 * leeway the API server allows, and when asked `iss` and `aud`. Refuses unsigned tokens, HMAC
 * algorithms, and keys whose type does not fit the algorithm. Resolves to a result; rejects only
 * with TokenFormatError for a token that is not a JWT at all.
 */
export async function verifyToken(
  token: string,
  keys: VerifyKeys,
  options: VerifyOptions,
): Promise<VerifyResult> {
  const text = token.trim();
  const { header, payload } = decodeJwt(text);
  const algorithm = header.alg as string;
  const tokenKid = typeof header.kid === "string" ? header.kid : undefined;
  const time = checkTimes(inspectToken(text, options.now), options.now, {
    leewayMs: options.leewayMs,
  });
  const signature = await checkSignature(text, keys, algorithm, tokenKid);
  const claims = checkClaims(payload, options);
  const reasons = [
    ...(signature.valid ? [] : [signature.reason ?? "signature is not valid"]),
    ...(time.valid ? [] : [`token ${time.text.startsWith("not ") ? "is " : ""}${time.text}`]),
    ...(claims === undefined ? [] : [claims]),
  ];
  const out: VerifyResult = {
    valid: reasons.length === 0,
    algorithm,
    signature: signature.valid
      ? { valid: true }
      : { valid: false, reason: signature.reason ?? "signature is not valid" },
    time,
  };
  if (reasons.length > 0) out.reason = reasons.join("; ");
  const kid = signature.kid ?? tokenKid;
  if (kid !== undefined) out.kid = kid;
  return out;
}

interface SignatureCheck {
  valid: boolean;
  reason?: string;
  kid?: string;
}

async function checkSignature(
  text: string,
  keys: VerifyKeys,
  algorithm: string,
  tokenKid: string | undefined,
): Promise<SignatureCheck> {
  const { signature } = decodeJwt(text);
  const fail = (reason: string, kid?: string): SignatureCheck => ({ valid: false, reason, kid });
  if (algorithm.toLowerCase() === "none") return fail('token is not signed (alg "none")');
  if (signature.length === 0) return fail("token has an empty signature");
  if (/^HS\d+$/.test(algorithm)) {
    return fail(
      `algorithm "${algorithm}" uses a shared secret and cannot be checked against public keys`,
    );
  }
  const keyType = KEY_TYPES[algorithm];
  if (!keyType) return fail(`algorithm "${algorithm}" is not supported`);
  if (!keys.jwks || keys.jwks.keys.length === 0) return fail("no keys to verify against");

  const selection = selectKeys(keys.jwks.keys, algorithm, tokenKid);
  if (typeof selection === "string") return fail(selection);

  let firstFailure: SignatureCheck | undefined;
  for (const { jwk, label } of selection) {
    try {
      await compactVerify(text, createLocalJWKSet({ keys: [jwk] }), { algorithms: [algorithm] });
      return { valid: true, kid: jwk.kid };
    } catch (error) {
      if (error instanceof errors.JWSSignatureVerificationFailed) {
        firstFailure ??= fail(`signature does not match ${label}`, jwk.kid ?? tokenKid);
        continue;
      }
      return fail(describeFailure(error, label), jwk.kid ?? tokenKid);
    }
  }
  if (selection.length > 1) {
    return fail(
      `signature does not match any of the ${selection.length} keys for algorithm "${algorithm}"`,
    );
  }
  return firstFailure!;
}

// `iss` and `aud`, only when asked: the reason, or undefined when they are fine.
function checkClaims(payload: Record<string, unknown>, options: VerifyOptions): string | undefined {
  if (options.issuer !== undefined && payload.iss !== options.issuer) {
    return typeof payload.iss === "string"
      ? `issuer "${payload.iss}" is not the expected "${options.issuer}"`
      : `token has no issuer, expected "${options.issuer}"`;
  }
  if (options.audience !== undefined) {
    const aud = payload.aud;
    const list = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
    if (!list.includes(options.audience)) {
      return list.length === 0
        ? `token has no audience, expected "${options.audience}"`
        : `audiences ${list.map((a) => `"${a}"`).join(", ")} do not include "${options.audience}"`;
    }
  }
  return undefined;
}

/**
 * Parses a JSON Web Key Set (`{"keys": [...]}`; a single JWK is accepted too) read from
 * `source`, a file name or URL used in error messages. Throws CliError when the shape is wrong
 * or a key holds private material.
 */
export function parseJwks(text: string, source: string): JSONWebKeySet {
  const fail = (why: string): never => {
    throw new CliError(`Cannot read key set from "${source}": ${why}`);
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    fail("not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    fail('expected a JSON object with a "keys" array');
  }
  const object = value as Record<string, unknown>;
  const keys = typeof object.kty === "string" && !("keys" in object) ? [object] : object.keys;
  if (!Array.isArray(keys)) fail('expected a JSON object with a "keys" array');
  const list = keys as unknown[];
  if (list.length === 0) fail("the key set has no keys");
  list.forEach((key, i) => {
    if (key === null || typeof key !== "object" || Array.isArray(key)) {
      fail(`key ${i + 1} is not a JSON object`);
    }
    const jwk = key as Record<string, unknown>;
    if (typeof jwk.kty !== "string") fail(`key ${i + 1} has no "kty" field`);
    if (jwk.kid !== undefined && typeof jwk.kid !== "string") {
      fail(`key ${i + 1} has a "kid" that is not a string`);
    }
    if ("d" in jwk || "k" in jwk) {
      fail(`key ${i + 1} holds private or secret key material; give the public key set`);
    }
  });
  return { keys: list as JWK[] };
}

interface Candidate {
  jwk: JWK;
  label: string;
}

// Picks the keys that may verify this token, or says why none can. Mirrors the checks of
// jose's createLocalJWKSet so that its refusals come with a precise reason.
function selectKeys(keys: JWK[], algorithm: string, kid: string | undefined): Candidate[] | string {
  const { kty, crv } = KEY_TYPES[algorithm];
  const labelled = keys.map((jwk, i) => ({
    jwk,
    label: jwk.kid !== undefined ? `key "${jwk.kid}"` : `key ${i + 1} (no kid)`,
  }));
  const named = kid === undefined ? labelled : labelled.filter((c) => c.jwk.kid === kid);
  if (named.length === 0) return `no key with kid "${kid}" in the key set`;

  const problems: string[] = [];
  const usable = named.filter(({ jwk, label }) => {
    let problem: string | undefined;
    if (jwk.kty !== kty) {
      problem = `${label} is ${
        article(jwk.kty)
      } ${jwk.kty} key and cannot verify algorithm "${algorithm}"`;
    } else if (crv !== undefined && jwk.crv !== crv) {
      problem = `${label} uses curve "${jwk.crv}" and cannot verify algorithm "${algorithm}"`;
    } else if (jwk.alg !== undefined && jwk.alg !== algorithm) {
      problem = `${label} is for algorithm "${jwk.alg}", not "${algorithm}"`;
    } else if (jwk.use !== undefined && jwk.use !== "sig") {
      problem = `${label} is not a signing key (use "${jwk.use}")`;
    } else if (jwk.key_ops !== undefined && !jwk.key_ops.includes("verify")) {
      problem = `${label} does not allow "verify" in its key_ops`;
    }
    if (problem) problems.push(problem);
    return problem === undefined;
  });
  if (usable.length > 0) return usable;
  if (kid !== undefined || problems.length === 1) return problems[0];
  return `no key in the key set fits algorithm "${algorithm}"`;
}

function article(word: string | undefined): string {
  return /^[AEIOU]/i.test(word ?? "") ? "an" : "a";
}

function describeFailure(error: unknown, label: string): string {
  // jose's messages describe keys and algorithms, never the token's contents.
  if (
    error instanceof errors.JWKInvalid || error instanceof errors.JWKSInvalid ||
    error instanceof TypeError
  ) {
    return `${label} cannot be used: ${error.message}`;
  }
  if (error instanceof errors.JOSEError) return `token cannot be verified: ${error.message}`;
  throw error;
}
