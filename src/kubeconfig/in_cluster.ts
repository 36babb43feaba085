/** The configuration of a process running in a pod (client-go's `rest.InClusterConfig`). */

import type { Runtime } from "../runtime.ts";
import { pathApi } from "../path/platform.ts";

/** Where the kubelet mounts the service account token, CA bundle and namespace. */
export const DEFAULT_IN_CLUSTER_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Options for {@link inClusterConfig}. */
export interface InClusterOptions {
  /** The service account folder (default {@link DEFAULT_IN_CLUSTER_DIR}). */
  dir?: string;
}

/** What a pod knows about the cluster it runs in. */
export interface InClusterConfig {
  /** `https://KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT`, IPv6 hosts bracketed. */
  server: string;
  /** The service account token file; it is re-read on every use because the kubelet rotates it. */
  tokenFile: string;
  /** The cluster CA bundle (`ca.crt`), when it is there and holds a certificate. */
  caPem?: string;
  /** `POD_NAMESPACE`, else the mounted `namespace` file, when either is set. */
  namespace?: string;
}

/**
 * The in-cluster configuration, or undefined when this is not a pod: like client-go, both
 * `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT` must be set and the token file must
 * exist.
 */
export async function inClusterConfig(
  runtime: Runtime,
  options: InClusterOptions = {},
): Promise<InClusterConfig | undefined> {
  const host = runtime.env("KUBERNETES_SERVICE_HOST");
  const port = runtime.env("KUBERNETES_SERVICE_PORT");
  if (!host || !port) return undefined;
  const dir = options.dir ?? DEFAULT_IN_CLUSTER_DIR;
  const api = pathApi(false);
  const tokenFile = api.join(dir, "token");
  if (!(await runtime.exists(tokenFile))) return undefined;

  // Go's net.JoinHostPort brackets any host holding a colon.
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const config: InClusterConfig = { server, tokenFile };
  const ca = await readOptional(runtime, api.join(dir, "ca.crt"));
  // client-go keeps the CA file only when it parses as a certificate pool; otherwise it logs
  // and falls back to the system roots.
  if (ca?.includes("-----BEGIN CERTIFICATE-----")) config.caPem = ca;
  const namespace = runtime.env("POD_NAMESPACE") ||
    (await readOptional(runtime, api.join(dir, "namespace")))?.trim();
  if (namespace) config.namespace = namespace;
  return config;
}

async function readOptional(runtime: Runtime, path: string): Promise<string | undefined> {
  try {
    return await runtime.readTextFile(path);
  } catch {
    return undefined;
  }
}
