/** Service-account issuer discovery: the OIDC documents kube-apiserver serves for its issuer. */
import type { SigningKey } from "./_jwt.ts";

/**
 * GET /.well-known/openid-configuration. Without --service-account-jwks-uri, kube-apiserver
 * points jwks_uri at its own external address (host:port), not at the issuer.
 */
export function openidConfiguration(
  issuer: string,
  externalAddress: string,
): Record<string, unknown> {
  return {
    issuer,
    jwks_uri: `https://${externalAddress}/openid/v1/jwks`,
    response_types_supported: ["id_token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
  };
}

/**
 * Whether an Accept header admits a media type, as go-restful decides for the OIDC routes (each
 * produces one type; anything else is 406 Not Acceptable).
 */
export function accepts(accept: string | undefined, mediaType: string): boolean {
  if (!accept?.trim()) return true;
  const [type] = mediaType.split("/");
  return accept.split(",").some((part) => {
    const range = part.split(";")[0].trim().toLowerCase();
    return range === "*/*" || range === `${type}/*` || range === mediaType;
  });
}

/** GET /openid/v1/jwks. */
export function jwks(key: SigningKey): Record<string, unknown> {
  return { keys: [key.jwk()] };
}
