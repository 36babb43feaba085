/** Nodes, as `usage` reads them: typed calls over the REST paths, so commands never build them. */
import type { ApiClient } from "./client.ts";
import { ApiError } from "./errors.ts";

/** The fields of a Node that `usage` reads. */
export interface NodeLike {
  metadata?: { name?: string; uid?: string };
  status?: { addresses?: { type?: string; address?: string }[] };
}

/** Read one Node; undefined when it does not exist (404). Other failures throw {@link ApiError}. */
export async function readNode(client: ApiClient, name: string): Promise<NodeLike | undefined> {
  try {
    return await client.get<NodeLike>(`/api/v1/nodes/${encodeURIComponent(name)}`);
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
