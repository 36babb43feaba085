/** Typed calls for core/v1 Nodes (a token can be bound to one; `usage` reads their addresses). */
import type { ApiClient } from "./client.ts";
import { ApiError } from "./errors.ts";
import { listAll, type ListOptions } from "./list.ts";
import { deleteObject, type DeleteOptions, type ObjectMeta, segment } from "./meta.ts";

/** A core/v1 Node (the fields used here). */
export interface Node {
  metadata: ObjectMeta;
  status?: { addresses?: { type?: string; address?: string }[] };
}

/** The fields of a Node that `usage` reads. */
export type NodeLike = Partial<Node>;

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

/** Read one Node; undefined when it does not exist (404). Other failures throw {@link ApiError}. */
export async function readNode(client: ApiClient, name: string): Promise<Node | undefined> {
  try {
    return await getNode(client, name);
  } catch (e) {
    if (e instanceof ApiError && e.code === 404) return undefined;
    throw e;
  }
}

/** A Node's IP addresses (InternalIP, ExternalIP; not its host names). */
export function nodeAddresses(node: NodeLike): string[] {
  return [
    ...new Set(
      (node.status?.addresses ?? [])
        .filter((a) =>
          a.type !== "Hostname" && a.type !== "InternalDNS" && a.type !== "ExternalDNS"
        )
        .map((a) => a.address)
        .filter((a): a is string => typeof a === "string" && a !== ""),
    ),
  ];
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
