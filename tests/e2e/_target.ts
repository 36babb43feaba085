/**
 * The one place that decides which cluster the end-to-end tests target: the local test API
 * server by default, or a real cluster when KUBECTL_TOKEN_E2E_KUBECONFIG names an admin
 * kubeconfig for it.
 */
import { startApiServer } from "../apiserver/mod.ts";
import type { ApiServer, ApiServerOptions } from "../apiserver/mod.ts";

/** A cluster to run the suite against. */
export interface Target {
  /** Admin kubeconfig (cluster-admin rights). */
  kubeconfig: string;
  /** The local server, when the target is local: lets tests seed objects and inject faults. */
  local?: ApiServer;
  close(): Promise<void>;
}

/** Start (or connect to) the cluster the suite runs against. */
export async function startTarget(options: ApiServerOptions = {}): Promise<Target> {
  const external = Deno.env.get("KUBECTL_TOKEN_E2E_KUBECONFIG");
  if (external) return { kubeconfig: external, close: () => Promise.resolve() };
  const local = await startApiServer(options);
  return { kubeconfig: local.kubeconfigPath, local, close: () => local.close() };
}
