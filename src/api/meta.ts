/** Object metadata and the delete that every typed delete of the API layer goes through. */
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

/** Options of a typed delete. */
export interface DeleteOptions {
  /** Delete only while the object still has this UID (a recreated namesake is left alone). */
  uid?: string;
}

/** Percent-encode one path segment (a namespace or a name). */
export const segment: (value: string) => string = encodeURIComponent;

/** DELETE the object at `path` with DeleteOptions, carrying a UID precondition when given. */
export async function deleteObject(
  client: ApiClient,
  path: string,
  options: DeleteOptions = {},
): Promise<void> {
  await client.request("DELETE", path, {
    body: {
      apiVersion: "v1",
      kind: "DeleteOptions",
      ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
    },
  });
}
