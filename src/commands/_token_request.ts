/** Shared by create, rotate, kubeconfig and exec-credential: asking for a token. */
import type { ApiClient } from "../api/client.ts";
import { ApiError, wrapApiError } from "../api/errors.ts";
import { createToken, type TokenRequest, type TokenRequestSpec } from "../api/serviceaccounts.ts";
import type { CreateRequest } from "./create.ts";
import type { ServiceAccountRef } from "./_service_account.ts";

/** The TokenRequest spec of a validated request. */
export function tokenRequestSpec(
  request: Pick<CreateRequest, "audiences" | "expirationSeconds" | "boundObject">,
): TokenRequestSpec {
  const spec: TokenRequestSpec = { audiences: request.audiences };
  if (request.expirationSeconds !== undefined) spec.expirationSeconds = request.expirationSeconds;
  if (request.boundObject) {
    spec.boundObjectRef = {
      kind: request.boundObject.kind,
      apiVersion: "v1",
      name: request.boundObject.name,
      ...(request.boundObject.uid ? { uid: request.boundObject.uid } : {}),
    };
  }
  return spec;
}

/** A token the API server issued. */
export interface IssuedToken {
  token: string;
  expiresAt?: Date;
  warnings: string[];
  /** The TokenRequest the server answered with. */
  response: TokenRequest;
}

/** POST a TokenRequest for `sa`; errors name the service account. */
export async function requestToken(
  client: ApiClient,
  sa: ServiceAccountRef,
  request: Pick<CreateRequest, "audiences" | "expirationSeconds" | "boundObject">,
): Promise<IssuedToken> {
  const what = `Cannot request token for service account "${sa.namespace}/${sa.name}"`;
  let response;
  try {
    response = await createToken(client, sa, tokenRequestSpec(request));
  } catch (e) {
    throw wrapApiError(e, what);
  }
  const token = response.body?.status?.token;
  if (!token) {
    throw new ApiError(`${what}: the server returned no token`, { code: response.status });
  }
  const expiry = response.body.status?.expirationTimestamp;
  const expiresAt = expiry ? new Date(expiry) : undefined;
  return {
    token,
    expiresAt: expiresAt && !Number.isNaN(expiresAt.getTime()) ? expiresAt : undefined,
    warnings: response.warnings,
    response: response.body,
  };
}
