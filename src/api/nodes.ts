/** Typed calls for core/v1 Nodes (a token can be bound to one). */
import type { ApiClient } from "./client.ts";
import { listAll, type ListOptions } from "./list.ts";
import { deleteObject, type DeleteOptions, type ObjectMeta, segment } from "./meta.ts";

/** A core/v1 Node (the fields used here). */
export interface Node {
  metadata: ObjectMeta;
}

function nodesPath(name?: string): string {
  return name === undefined ? "/api/v1/nodes" : `/api/v1/nodes/${segment(name)}`;
}

/** GET one Node. */
export function getNode(
  client: ApiClient,
  name: string,
  options: { timeoutMs?: number } = {},
): Promise<Node> {
  return client.get<Node>(nodesPath(name), options);
}

/** List the Nodes page by page; returns them all. */
export function listNodes(client: ApiClient, options: ListOptions = {}): Promise<Node[]> {
  return listAll<Node>(client, nodesPath(), options);
}

/** DELETE a Node, only while it still has `uid` when one is given. */
export function deleteNode(
  client: ApiClient,
  name: string,
  options: DeleteOptions = {},
): Promise<void> {
  return deleteObject(client, nodesPath(name), options);
}
