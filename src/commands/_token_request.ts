/** Shared by rotate, kubeconfig and exec-credential: asking for a token, naming service accounts. */
import type { ApiClient } from "../api/client.ts";
import { ApiError } from "../api/errors.ts";
import { UsageError } from "../errors.ts";
import { type CreateRequest, tokenRequestBody } from "./create.ts";

/** A service account by namespace and name. */
export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * Parse `NS/NAME` (or `NAME`, in `defaultNamespace` when given) from `flag`; usage errors name
 * the flag.
 */
export function parseServiceAccountFlag(
  flag: string,
  value: string,
  defaultNamespace?: string,
): ServiceAccountRef {
  const parts = value.split("/");
  const [namespace, name] = parts.length === 2
    ? parts
    : parts.length === 1 && defaultNamespace !== undefined
    ? [defaultNamespace, parts[0]]
    : [undefined, undefined];
  if (namespace === undefined || name === undefined) {
    throw new UsageError(`Invalid value "${value}" for flag ${flag}: expected NAMESPACE/NAME`);
  }
  if (!DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(name)) {
    throw new UsageError(
      `Invalid value "${value}" for flag ${flag}: namespace and name must be lowercase ` +
        `RFC 1123 names`,
    );
  }
  return { namespace, name };
}

/** A token the API server issued. */
export interface IssuedToken {
  token: string;
  expiresAt?: Date;
  warnings: string[];
  /** The TokenRequest the server answered with. */
  response: Record<string, unknown>;
}

/** POST a TokenRequest for `sa`; errors name the service account. */
export async function requestToken(
  client: ApiClient,
  sa: ServiceAccountRef,
  request: Pick<CreateRequest, "audiences" | "expirationSeconds" | "boundObject">,
): Promise<IssuedToken> {
  const path = `/api/v1/namespaces/${encodeURIComponent(sa.namespace)}/serviceaccounts/` +
    `${encodeURIComponent(sa.name)}/token`;
  const what = `Cannot request token for service account "${sa.namespace}/${sa.name}"`;
  let response;
  try {
    response = await client.post<{ status?: { token?: string; expirationTimestamp?: string } }>(
      path,
      tokenRequestBody({ ...request, output: "token" }),
    );
  } catch (e) {
    if (e instanceof ApiError) e.message = `${what}: ${e.message}`;
    throw e;
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
    response: response.body as Record<string, unknown>,
  };
}
