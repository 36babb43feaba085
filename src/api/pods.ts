/**
 * Pods and the workloads that own them, as the audit reads them: typed functions over the REST
 * paths, so commands never build these paths.
 */
import type { ApiClient } from "./client.ts";
import { ApiError } from "./errors.ts";
import { listPages } from "./list.ts";
import { deleteObject, type DeleteOptions, segment } from "./meta.ts";

/** An owner reference, as in `metadata.ownerReferences`. */
export interface OwnerReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
}

/** A container's fields that can name a Secret. */
export interface ContainerLike {
  name?: string;
  env?: { name?: string; valueFrom?: { secretKeyRef?: { name?: string } } }[];
  envFrom?: { secretRef?: { name?: string } }[];
}

/** The fields of a Pod the audit reads. */
export interface PodLike {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    creationTimestamp?: string;
    ownerReferences?: OwnerReference[];
  };
  spec?: {
    serviceAccountName?: string;
    nodeName?: string;
    volumes?: {
      name?: string;
      secret?: { secretName?: string };
      projected?: { sources?: { secret?: { name?: string } }[] };
    }[];
    containers?: ContainerLike[];
    initContainers?: ContainerLike[];
    ephemeralContainers?: ContainerLike[];
  };
  status?: {
    phase?: string;
    podIP?: string;
    podIPs?: { ip?: string }[];
    hostIP?: string;
    hostIPs?: { ip?: string }[];
  };
}

/** An object that may itself be owned (a ReplicaSet by a Deployment, a Job by a CronJob). */
export interface OwnedObject {
  metadata?: { name?: string; namespace?: string; ownerReferences?: OwnerReference[] };
}

/** How to page a list. */
export interface PageOptions {
  /** Items per request (`limit`); 0 for all at once. */
  chunkSize: number;
  /** Overrides the client's timeout for each request. */
  timeoutMs?: number;
}

function podsPath(namespace?: string, name?: string): string {
  const base = namespace === undefined
    ? "/api/v1/pods"
    : `/api/v1/namespaces/${segment(namespace)}/pods`;
  return name === undefined ? base : `${base}/${segment(name)}`;
}

/**
 * List the Pods of one namespace (or of all, when undefined) page by page (`limit`/`continue`),
 * handing each page to `onPage` before asking for the next.
 */
export function listPods(
  client: ApiClient,
  namespace: string | undefined,
  options: PageOptions & { onPage: (pods: PodLike[]) => void | Promise<void> },
): Promise<void> {
  return listPages<PodLike>(client, podsPath(namespace), options);
}

/** GET one Pod. */
export function getPod(
  client: ApiClient,
  namespace: string,
  name: string,
  options: { timeoutMs?: number } = {},
): Promise<PodLike> {
  return client.get<PodLike>(podsPath(namespace, name), options);
}

/** DELETE a Pod, only while it still has `uid` when one is given. */
export function deletePod(
  client: ApiClient,
  namespace: string,
  name: string,
  options: DeleteOptions = {},
): Promise<void> {
  return deleteObject(client, podsPath(namespace, name), options);
}

/** Read one Pod; undefined when it does not exist (404). Other failures throw {@link ApiError}. */
export async function readPod(
  client: ApiClient,
  namespace: string,
  name: string,
): Promise<PodLike | undefined> {
  try {
    return await client.get<PodLike>(
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`,
    );
  } catch (e) {
    if (e instanceof ApiError && e.code === 404) return undefined;
    throw e;
  }
}

/** The addresses a Pod has: its own (`podIPs`, `podIP`) and its host's (`hostIPs`, `hostIP`). */
export function podAddresses(pod: PodLike): string[] {
  const s = pod.status ?? {};
  const all = [
    s.podIP,
    ...(s.podIPs ?? []).map((p) => p.ip),
    s.hostIP,
    ...(s.hostIPs ?? []).map((p) => p.ip),
  ];
  return [...new Set(all.filter((ip): ip is string => typeof ip === "string" && ip !== ""))];
}

/** Where the owners that can themselves be owned are served. */
const OWNER_PATHS: Record<string, string> = {
  ReplicaSet: "/apis/apps/v1/namespaces/{ns}/replicasets/{name}",
  Job: "/apis/batch/v1/namespaces/{ns}/jobs/{name}",
};

/** Whether {@link readOwner} can read objects of this kind. */
export function readableOwnerKind(kind: string): boolean {
  return kind in OWNER_PATHS;
}

/**
 * Read a ReplicaSet or Job by name; undefined when it cannot be read (gone, forbidden, or the API
 * group not served): the caller then reports the object itself as the workload.
 */
export async function readOwner(
  client: ApiClient,
  kind: string,
  namespace: string,
  name: string,
): Promise<OwnedObject | undefined> {
  const template = OWNER_PATHS[kind];
  if (!template) return undefined;
  const path = template.replace("{ns}", segment(namespace)).replace("{name}", segment(name));
  try {
    return await client.get<OwnedObject>(path);
  } catch (e) {
    if (e instanceof ApiError && (e.code === 403 || e.code === 404)) return undefined;
    throw e;
  }
}
