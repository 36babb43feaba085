/**
 * Typed calls for core/v1 Secrets and ServiceAccounts (TODO(#12): the shape the other commands
 * move to): no command builds these paths by hand.
 */
import type { ApiClient } from "./client.ts";

/** Object metadata as these calls read and write it. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: {
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }[];
}

/** A core/v1 Secret. */
export interface Secret {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  type?: string;
  data?: Record<string, string>;
}

/** A core/v1 ServiceAccount (the fields used here). */
export interface ServiceAccount {
  metadata: ObjectMeta;
}

/** Options of a paged list. */
export interface ListOptions {
  /** Every namespace when undefined. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Objects per request (0: all at once). */
  chunkSize?: number;
}

const enc = encodeURIComponent;

function secretsPath(namespace?: string, name?: string): string {
  const base = namespace === undefined
    ? "/api/v1/secrets"
    : `/api/v1/namespaces/${enc(namespace)}/secrets`;
  return name === undefined ? base : `${base}/${enc(name)}`;
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

/** DELETE a Secret, only while it still has `uid` (a recreated namesake is left alone). */
export async function deleteSecret(
  client: ApiClient,
  namespace: string,
  name: string,
  options: { uid?: string } = {},
): Promise<void> {
  await client.request("DELETE", secretsPath(namespace, name), {
    body: {
      apiVersion: "v1",
      kind: "DeleteOptions",
      ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
    },
  });
}

/** List Secrets page by page (`limit`/`continue`); returns them all. */
export async function listSecrets(client: ApiClient, options: ListOptions = {}): Promise<Secret[]> {
  const items: Secret[] = [];
  let token: string | undefined;
  do {
    const page = await client.get<{ items?: Secret[]; metadata?: { continue?: string } }>(
      secretsPath(options.namespace),
      {
        query: {
          labelSelector: options.labelSelector || undefined,
          fieldSelector: options.fieldSelector || undefined,
          limit: options.chunkSize ? options.chunkSize : undefined,
          continue: token,
        },
      },
    );
    items.push(...(page.items ?? []));
    token = page.metadata?.continue || undefined;
  } while (token);
  return items;
}

/** GET one ServiceAccount. */
export function getServiceAccount(
  client: ApiClient,
  namespace: string,
  name: string,
): Promise<ServiceAccount> {
  return client.get<ServiceAccount>(
    `/api/v1/namespaces/${enc(namespace)}/serviceaccounts/${enc(name)}`,
  );
}
