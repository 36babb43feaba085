/**
 * RBAC objects and rule reviews through the API: typed functions over the REST paths of
 * rbac.authorization.k8s.io/v1 and SelfSubjectRulesReview, so commands never build these paths.
 */
import type { ApiClient } from "./client.ts";
import { ApiError } from "./errors.ts";
import type { BindingObject, RoleObject } from "../rbac/mod.ts";

/** The four RBAC kinds. */
export type RbacKind = "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding";

/** The plural resource of each kind, as RBAC errors and rules name it. */
export const RBAC_RESOURCES: Record<RbacKind, string> = {
  Role: "roles",
  ClusterRole: "clusterroles",
  RoleBinding: "rolebindings",
  ClusterRoleBinding: "clusterrolebindings",
};

const BASE = "/apis/rbac.authorization.k8s.io/v1";

function collectionPath(kind: RbacKind, namespace: string | undefined): string {
  const resource = RBAC_RESOURCES[kind];
  const cluster = kind === "ClusterRole" || kind === "ClusterRoleBinding";
  return cluster || namespace === undefined
    ? `${BASE}/${resource}`
    : `${BASE}/namespaces/${encodeURIComponent(namespace)}/${resource}`;
}

function objectPath(kind: RbacKind, namespace: string | undefined, name: string): string {
  return `${collectionPath(kind, namespace)}/${encodeURIComponent(name)}`;
}

interface ListPage<T> {
  metadata?: { continue?: string };
  items?: T[] | null;
}

/** Items per page when listing, as kubectl's default chunk size. */
export const RBAC_CHUNK_SIZE = 500;

/**
 * Every object of a kind: in one namespace, or in all of them when `namespace` is undefined (for
 * Roles and RoleBindings), page by page (`limit`/`continue`).
 */
export async function listRbac<K extends RbacKind>(
  client: ApiClient,
  kind: K,
  namespace?: string,
): Promise<(K extends "Role" | "ClusterRole" ? RoleObject : BindingObject)[]> {
  type T = K extends "Role" | "ClusterRole" ? RoleObject : BindingObject;
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await client.get<ListPage<T>>(collectionPath(kind, namespace), {
      query: { limit: RBAC_CHUNK_SIZE, continue: token },
    });
    for (const item of page.items ?? []) {
      // List items carry no kind; the objects are easier to tell apart with it.
      items.push({ ...item, apiVersion: "rbac.authorization.k8s.io/v1", kind });
    }
    token = page.metadata?.continue || undefined;
  } while (token);
  return items;
}

/** One object, or undefined when it does not exist. */
export async function getRbac<T extends RoleObject | BindingObject>(
  client: ApiClient,
  kind: RbacKind,
  namespace: string | undefined,
  name: string,
): Promise<T | undefined> {
  try {
    return await client.get<T>(objectPath(kind, namespace, name));
  } catch (e) {
    if (e instanceof ApiError && e.code === 404) return undefined;
    throw e;
  }
}

/** How a write is sent: for real, or with `dryRun=All` (validated and authorized, not stored). */
export interface WriteOptions {
  dryRun: boolean;
}

/** Create an object (POST); it must name its kind and, for Roles and RoleBindings, namespace. */
export async function createRbac<T extends RoleObject | BindingObject>(
  client: ApiClient,
  object: T & { kind: string },
  options: WriteOptions,
): Promise<T> {
  const kind = object.kind as RbacKind;
  const res = await client.post<T>(collectionPath(kind, object.metadata.namespace), object, {
    query: { dryRun: options.dryRun ? "All" : undefined },
  });
  return res.body;
}

/** Replace an object (PUT); send the `resourceVersion` read to refuse a concurrent change. */
export async function replaceRbac<T extends RoleObject | BindingObject>(
  client: ApiClient,
  object: T & { kind: string },
  options: WriteOptions,
): Promise<T> {
  const kind = object.kind as RbacKind;
  const res = await client.request<T>(
    "PUT",
    objectPath(kind, object.metadata.namespace, object.metadata.name),
    { body: object, query: { dryRun: options.dryRun ? "All" : undefined } },
  );
  return res.body;
}

/** A resource rule as SelfSubjectRulesReview returns it. */
export interface ResourceRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
}

/** A non-resource rule as SelfSubjectRulesReview returns it. */
export interface NonResourceRule {
  verbs: string[];
  nonResourceURLs?: string[];
}

/** The status of a SelfSubjectRulesReview. */
export interface RulesStatus {
  resourceRules?: ResourceRule[];
  nonResourceRules?: NonResourceRule[];
  incomplete?: boolean;
  evaluationError?: string;
}

/**
 * What the client's user (with impersonation, the impersonated one) may do in a namespace: the
 * rules of the ClusterRoleBindings and of that namespace's RoleBindings, flattened, as
 * SelfSubjectRulesReview returns them.
 */
export async function reviewRules(client: ApiClient, namespace: string): Promise<RulesStatus> {
  const res = await client.post<{ status?: RulesStatus }>(
    "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
    { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectRulesReview", spec: { namespace } },
  );
  return res.body.status ?? {};
}
