/** Kubeconfig files for the local server: one cluster "local", one user and context per file. */
import { Buffer } from "node:buffer";
import { stringify } from "yaml";

/** The credential a kubeconfig's user entry carries, as files or inline data. */
export interface KubeconfigUser {
  token?: string;
  certFile?: string;
  keyFile?: string;
  certPem?: string;
  keyPem?: string;
}

/** Render a kubeconfig with a single cluster, user and context. */
export function renderKubeconfig(
  server: string,
  caFile: string,
  names: { user: string; context: string },
  user: KubeconfigUser,
  namespace = "default",
): string {
  const entry: Record<string, string> = {};
  if (user.certFile) entry["client-certificate"] = user.certFile;
  if (user.keyFile) entry["client-key"] = user.keyFile;
  if (user.certPem) entry["client-certificate-data"] = Buffer.from(user.certPem).toString("base64");
  if (user.keyPem) entry["client-key-data"] = Buffer.from(user.keyPem).toString("base64");
  if (user.token) entry.token = user.token;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "local", cluster: { server, "certificate-authority": caFile } }],
    users: [{ name: names.user, user: entry }],
    contexts: [{ name: names.context, context: { cluster: "local", user: names.user, namespace } }],
    "current-context": names.context,
    preferences: {},
  });
}
