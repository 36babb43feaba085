/** Typed calls for core/v1 Namespaces. */
import type { ApiClient } from "./client.ts";
import { listAll, type ListOptions } from "./list.ts";
import type { ObjectMeta } from "./meta.ts";

/** A core/v1 Namespace (the fields used here). */
export interface Namespace {
  metadata: ObjectMeta;
}

/** List the namespaces page by page; returns them all. */
export function listNamespaces(
  client: ApiClient,
  options: ListOptions = {},
): Promise<Namespace[]> {
  return listAll<Namespace>(client, "/api/v1/namespaces", options);
}
