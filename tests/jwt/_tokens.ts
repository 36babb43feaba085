/** Keys, claims and tokens for the JWT tests, made with jose at a pinned time. */

import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

/** Issue time of the fixture tokens. */
export const ISSUED = new Date("2026-11-29T01:00:00Z");
/** The pinned "now": 13 minutes after issue, 47 minutes before expiry. */
export const NOW = new Date("2026-11-29T01:13:00Z");
export const ISSUED_S = ISSUED.getTime() / 1000;

export const ISSUER = "https://kubernetes.default.svc.cluster.local";

/** A key pair with its public JWK (kid, alg and use set). */
export interface TestKey {
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
  jwk: JWK;
}

/** Generates a signing key and its public JWK. */
export async function makeKey(alg: "RS256" | "ES256" | "ES384", kid?: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  if (kid !== undefined) jwk.kid = kid;
  jwk.use = "sig";
  return { privateKey, jwk };
}

/** Signs claims with a key; the header carries the key's kid unless `kid` says otherwise. */
export function sign(
  claims: JWTPayload,
  key: TestKey,
  alg: string,
  kid: string | null | undefined = key.jwk.kid,
): Promise<string> {
  const header: { alg: string; kid?: string; typ?: string } = { alg };
  if (kid !== null && kid !== undefined) header.kid = kid;
  return new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey);
}

/** Base64url (no padding) of a string's UTF-8 bytes. */
export function b64url(text: string | Uint8Array): string {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** Builds `header.payload.signature` by hand, for unsigned and malformed tokens. */
export function rawToken(header: unknown, payload: unknown, signature = ""): string {
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.${signature}`;
}

/** Claims of a Pod-bound token as a 1.30+ API server issues them, valid for one hour. */
export function boundClaims(): JWTPayload {
  return {
    aud: [ISSUER],
    exp: ISSUED_S + 3600,
    iat: ISSUED_S,
    nbf: ISSUED_S,
    iss: ISSUER,
    jti: "0c5e2a55-6d39-4a8e-9f2b-3c1d2e4f5a6b",
    "kubernetes.io": {
      namespace: "default",
      node: { name: "node-1", uid: "5e7b5c2f-0000-4000-8000-000000000001" },
      pod: { name: "my-pod", uid: "5e7b5c2f-0000-4000-8000-000000000002" },
      serviceaccount: { name: "my-sa", uid: "5e7b5c2f-0000-4000-8000-000000000003" },
      warnafter: ISSUED_S + 600,
    },
    sub: "system:serviceaccount:default:my-sa",
  };
}

/** Claims of a legacy Secret-based token (no expiry). */
export function legacyClaims(): JWTPayload {
  return {
    iss: "kubernetes/serviceaccount",
    "kubernetes.io/serviceaccount/namespace": "default",
    "kubernetes.io/serviceaccount/secret.name": "my-sa-token-x7k2p",
    "kubernetes.io/serviceaccount/service-account.name": "my-sa",
    "kubernetes.io/serviceaccount/service-account.uid": "5e7b5c2f-0000-4000-8000-000000000003",
    sub: "system:serviceaccount:default:my-sa",
  };
}

/** The segments of a token that are long enough to be recognisable in a message. */
export function tokenParts(token: string): string[] {
  return [token, ...token.split(".")].filter((part) => part.length >= 6);
}
