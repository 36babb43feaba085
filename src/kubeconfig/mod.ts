/** Kubeconfig loading, merging and resolution, the way kubectl does it. */

export * from "./types.ts";
export * from "./files.ts";
export * from "./parse.ts";
export * from "./merge.ts";
export * from "./in_cluster.ts";
export * from "./proxy.ts";
export * from "./resolve.ts";
export * from "./credentials.ts";
