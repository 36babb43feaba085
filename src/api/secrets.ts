/** Typed calls for core/v1 Secrets: no command builds these paths by hand. */
import type { ApiClient } from "./client.ts";
import { listAll, type ListOptions, listPages } from "./list.ts";
import { deleteObject, type DeleteOptions, type ObjectMeta, segment } from "./meta.ts";

export type { ObjectMeta } from "./meta.ts";

/** A core/v1 Secret: the one type of a Secret in this code base. */
export interface Secret {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  type?: string;
  /** Values are base64 (see src/encoding/base64.ts). */
  data?: Record<string, string>;
}

/** The type of a legacy service-account token Secret. */
export const SERVICE_ACCOUNT_TOKEN_TYPE = "kubernetes.io/service-account-token";
/** The annotation of a legacy token Secret naming its service account. */
export const SERVICE_ACCOUNT_NAME_ANNOTATION = "kubernetes.io/service-account.name";
/** The annotation of a legacy token Secret holding its service account's UID. */
export const SERVICE_ACCOUNT_UID_ANNOTATION = "kubernetes.io/service-account.uid";

/** Options of {@link listSecrets}. */
export interface SecretListOptions extends ListOptions {
  /** Every namespace when undefined. */
  namespace?: string;
}

function secretsPath(namespace?: string, name?: string): string {
  const base = namespace === undefined
    ? "/api/v1/secrets"
    : `/api/v1/namespaces/${segment(namespace)}/secrets`;
  return name === undefined ? base : `${base}/${segment(name)}`;
}

/** GET one Secret. */
export function getSecret(
  client: ApiClient,
  namespace: string,
  name: string,
  options: { timeoutMs?: number } = {},
): Promise<Secret> {
  return client.get<Secret>(secretsPath(namespace, name), options);
}

/** POST a Secret (metadata.generateName works); returns what the server stored. */
export async function createSecret(
  client: ApiClient,
  namespace: string,
  secret: Secret,
): Promise<Secret> {
  const body = { apiVersion: "v1", kind: "Secret", ...secret };
  return (await client.post<Secret>(secretsPath(namespace), body)).body;
}

/** Merge-patch a Secret's metadata (labels, annotations); null removes a key. */
export async function patchSecretMetadata(
  client: ApiClient,
  namespace: string,
  name: string,
  metadata: {
    labels?: Record<string, string | null>;
    annotations?: Record<string, string | null>;
  },
): Promise<Secret> {
  return (await client.request<Secret>("PATCH", secretsPath(namespace, name), {
    body: { metadata },
    contentType: "application/merge-patch+json",
  })).body;
}

/** DELETE a Secret, only while it still has `uid` when one is given. */
export function deleteSecret(
  client: ApiClient,
  namespace: string,
  name: string,
  options: DeleteOptions = {},
): Promise<void> {
  return deleteObject(client, secretsPath(namespace, name), options);
}

/** List Secrets page by page (`limit`/`continue`), handing each page to `onPage`. */
export function listSecretPages(
  client: ApiClient,
  options: SecretListOptions & { onPage: (secrets: Secret[]) => void | Promise<void> },
): Promise<void> {
  return listPages<Secret>(client, secretsPath(options.namespace), options);
}

/** List Secrets page by page (`limit`/`continue`); returns them all. */
export function listSecrets(
  client: ApiClient,
  options: SecretListOptions = {},
): Promise<Secret[]> {
  return listAll<Secret>(client, secretsPath(options.namespace), options);
}
