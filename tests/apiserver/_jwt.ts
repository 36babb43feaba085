/**
 * The service-account signing key and the JWTs it makes, shaped like kube-apiserver's
 * (pkg/serviceaccount/jwt.go, claims.go, legacy.go): RS256 with no `typ` header, the key ID is
 * the base64url SHA-256 of the public key's DER, and claims are serialised with sorted keys
 * because go-jose merges them through a map.
 */
import { Buffer } from "node:buffer";
import { createHash, generateKeyPair, type KeyObject, sign, verify } from "node:crypto";

/** Issuer of Secret-based (legacy) service-account tokens. */
export const LEGACY_ISSUER = "kubernetes/serviceaccount";

function b64url(data: Uint8Array | string): string {
  return Buffer.from(data).toString("base64url");
}

/** JSON with object keys sorted at every level, as Go's encoding of a map produces. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${sortedJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A decoded and signature-checked token. */
export interface VerifiedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/** An RSA key that signs service-account tokens and publishes itself as a JWK. */
export class SigningKey {
  readonly kid: string;
  readonly #private: KeyObject;
  readonly #public: KeyObject;

  private constructor(privateKey: KeyObject, publicKey: KeyObject) {
    this.#private = privateKey;
    this.#public = publicKey;
    const der = publicKey.export({ type: "spki", format: "der" });
    this.kid = createHash("sha256").update(der).digest("base64url");
  }

  /** Generate a fresh 2048-bit key (a few hundred milliseconds, so done off the event loop). */
  static generate(): Promise<SigningKey> {
    return new Promise((resolve, reject) => {
      generateKeyPair("rsa", { modulusLength: 2048 }, (err, publicKey, privateKey) => {
        if (err) reject(err);
        else resolve(new SigningKey(privateKey, publicKey));
      });
    });
  }

  /** The public key as served at /openid/v1/jwks. */
  jwk(): Record<string, unknown> {
    const { n, e } = this.#public.export({ format: "jwk" });
    return { use: "sig", kty: "RSA", kid: this.kid, alg: "RS256", n, e };
  }

  /** Sign claims into a compact JWS. */
  sign(claims: Record<string, unknown>): string {
    const header = b64url(JSON.stringify({ alg: "RS256", kid: this.kid }));
    const payload = b64url(sortedJson(claims));
    const signature = sign("sha256", Buffer.from(`${header}.${payload}`), this.#private);
    return `${header}.${payload}.${b64url(signature)}`;
  }

  /**
   * Decode a compact JWS. Returns undefined when it is not a JWT at all; throws with go-jose's
   * wording when it is one but the signature does not verify against this key.
   */
  decode(token: string): { jwt: VerifiedJwt; verified: boolean } | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    try {
      const header = JSON.parse(Buffer.from(parts[0], "base64url").toString());
      const payload = JSON.parse(Buffer.from(parts[1], "base64url").toString());
      if (typeof header !== "object" || typeof payload !== "object" || !header || !payload) {
        return undefined;
      }
      const verified = header.alg === "RS256" &&
        verify(
          "sha256",
          Buffer.from(`${parts[0]}.${parts[1]}`),
          this.#public,
          Buffer.from(parts[2], "base64url"),
        );
      return { jwt: { header, payload }, verified };
    } catch {
      return undefined;
    }
  }
}

/** A name and UID, the shape of every object reference inside `kubernetes.io` claims. */
export interface Ref {
  name: string;
  uid: string;
}

/** What a bound token is issued for. */
export interface BoundClaimsInput {
  issuer: string;
  audiences: string[];
  namespace: string;
  serviceAccount: Ref;
  pod?: Ref;
  secret?: Ref;
  /** For a Pod-bound token the pod's node (uid may be empty if the Node object is missing). */
  node?: { name: string; uid?: string };
  issuedAt: Date;
  expirationSeconds: number;
  /** Extended tokens carry the requested lifetime here, the real one in exp. */
  warnAfterSeconds?: number;
}

/** The claims of a TokenRequest token, exactly as pkg/serviceaccount.Claims builds them. */
export function boundClaims(input: BoundClaimsInput): Record<string, unknown> {
  const iat = Math.floor(input.issuedAt.getTime() / 1000);
  const kubernetes: Record<string, unknown> = {
    namespace: input.namespace,
    serviceaccount: input.serviceAccount,
  };
  if (input.pod) kubernetes.pod = input.pod;
  if (input.secret) kubernetes.secret = input.secret;
  if (input.node) kubernetes.node = input.node.uid ? input.node : { name: input.node.name };
  if (input.warnAfterSeconds) kubernetes.warnafter = iat + input.warnAfterSeconds;
  return {
    aud: input.audiences,
    exp: iat + input.expirationSeconds,
    iat,
    iss: input.issuer,
    jti: crypto.randomUUID(),
    "kubernetes.io": kubernetes,
    nbf: iat,
    sub: `system:serviceaccount:${input.namespace}:${input.serviceAccount.name}`,
  };
}

/** The claims of a Secret-based token, as the legacy token controller signs them. */
export function legacyClaims(
  namespace: string,
  serviceAccount: Ref,
  secretName: string,
): Record<string, unknown> {
  return {
    iss: LEGACY_ISSUER,
    "kubernetes.io/serviceaccount/namespace": namespace,
    "kubernetes.io/serviceaccount/secret.name": secretName,
    "kubernetes.io/serviceaccount/service-account.name": serviceAccount.name,
    "kubernetes.io/serviceaccount/service-account.uid": serviceAccount.uid,
    sub: `system:serviceaccount:${namespace}:${serviceAccount.name}`,
  };
}
