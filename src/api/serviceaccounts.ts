/** Typed calls for core/v1 ServiceAccounts and their `token` subresource (TokenRequest). */
import type { ApiClient, ApiResponse } from "./client.ts";
import { listAll, type ListOptions, listPages } from "./list.ts";
import { deleteObject, type DeleteOptions, type ObjectMeta, segment } from "./meta.ts";

/** A core/v1 ServiceAccount (the fields used here). */
export interface ServiceAccount {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  /** The token Secrets the controller keeps (before 1.24), by name. */
  secrets?: { name?: string }[];
  imagePullSecrets?: { name: string }[];
  automountServiceAccountToken?: boolean;
}

/** What a TokenRequest asks for (authentication.k8s.io/v1 TokenRequestSpec). */
export interface TokenRequestSpec {
  audiences: string[];
  expirationSeconds?: number;
  boundObjectRef?: { kind: string; apiVersion: string; name: string; uid?: string };
}

/** A TokenRequest as the server answers it. */
export interface TokenRequest {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: TokenRequestSpec;
  status?: { token?: string; expirationTimestamp?: string };
  [key: string]: unknown;
}

/** A JSON patch operation (RFC 6902). */
export interface JsonPatchOperation {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  value?: unknown;
  from?: string;
}

function accountsPath(namespace: string | undefined, name?: string): string {
  const base = namespace === undefined
    ? "/api/v1/serviceaccounts"
    : `/api/v1/namespaces/${segment(namespace)}/serviceaccounts`;
  return name === undefined ? base : `${base}/${segment(name)}`;
}

/** GET one ServiceAccount. */
export function getServiceAccount(
  client: ApiClient,
  namespace: string,
  name: string,
): Promise<ServiceAccount> {
  return client.get<ServiceAccount>(accountsPath(namespace, name));
}

/** List the ServiceAccounts of a namespace (every one when undefined); returns them all. */
export function listServiceAccounts(
  client: ApiClient,
  namespace: string | undefined,
  options: ListOptions = {},
): Promise<ServiceAccount[]> {
  return listAll<ServiceAccount>(client, accountsPath(namespace), options);
}

/**
 * List the ServiceAccounts of a namespace (every one when undefined) page by page, handing each
 * page to `onPage` before asking for the next.
 */
export function listServiceAccountPages(
  client: ApiClient,
  namespace: string | undefined,
  options: ListOptions & { onPage: (accounts: ServiceAccount[]) => void | Promise<void> },
): Promise<void> {
  return listPages<ServiceAccount>(client, accountsPath(namespace), options);
}

/** POST a ServiceAccount; returns what the server stored. */
export async function createServiceAccount(
  client: ApiClient,
  namespace: string,
  account: ServiceAccount,
): Promise<ServiceAccount> {
  const body = { apiVersion: "v1", kind: "ServiceAccount", ...account };
  return (await client.post<ServiceAccount>(accountsPath(namespace), body)).body;
}

/** DELETE a ServiceAccount, only while it still has `uid` when one is given. */
export function deleteServiceAccount(
  client: ApiClient,
  namespace: string,
  name: string,
  options: DeleteOptions = {},
): Promise<void> {
  return deleteObject(client, accountsPath(namespace, name), options);
}

/** Apply a JSON patch to a ServiceAccount (a `test` op makes it conditional). */
export async function patchServiceAccount(
  client: ApiClient,
  namespace: string,
  name: string,
  operations: JsonPatchOperation[],
): Promise<ServiceAccount> {
  return (await client.request<ServiceAccount>("PATCH", accountsPath(namespace, name), {
    contentType: "application/json-patch+json",
    body: operations,
  })).body;
}

/** The TokenRequest body for `spec`, as kubectl create token sends it. */
export function tokenRequest(spec: TokenRequestSpec): TokenRequest {
  return { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", metadata: {}, spec };
}

/** POST a TokenRequest for the service account; the answer keeps the `Warning` headers. */
export function createToken(
  client: ApiClient,
  account: { namespace: string; name: string },
  spec: TokenRequestSpec,
): Promise<ApiResponse<TokenRequest>> {
  return client.post<TokenRequest>(
    `${accountsPath(account.namespace, account.name)}/token`,
    tokenRequest(spec),
  );
}
