/** Service-account issuer discovery: the OIDC documents kube-apiserver serves for its issuer. */
import type { SigningKey } from "./_jwt.ts";

/** GET /.well-known/openid-configuration. */
export function openidConfiguration(issuer: string): Record<string, unknown> {
  return {
    issuer,
    jwks_uri: `${issuer}/openid/v1/jwks`,
    response_types_supported: ["id_token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
  };
}

/** GET /openid/v1/jwks. */
export function jwks(key: SigningKey): Record<string, unknown> {
  return { keys: [key.jwk()] };
}
