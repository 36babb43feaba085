/** Helpers for the rotation tests: kubeconfigs written by hand, with comments, around tokens. */
import { join } from "node:path";
import { admin } from "./_cluster.ts";
import type { Target } from "./_target.ts";

/** Let service account "robot" of `ns` request tokens for itself (what self-rotation needs). */
export async function allowSelfRotation(target: Target, ns: string): Promise<void> {
  const items = [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "self-token", namespace: ns },
      rules: [{
        apiGroups: [""],
        resources: ["serviceaccounts/token"],
        resourceNames: ["robot"],
        verbs: ["create"],
      }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "self-token", namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "self-token" },
      subjects: [{ kind: "ServiceAccount", name: "robot", namespace: ns }],
    },
  ];
  const list = { apiVersion: "v1", kind: "List", items };
  await admin(target, ["create", "--validate=false", "-f", "-"], JSON.stringify(list));
}

/** The target's cluster entry as kubeconfig YAML lines (under `clusters:`), named "main". */
export async function clusterYaml(target: Target): Promise<string> {
  const view = JSON.parse(
    await admin(target, ["config", "view", "--minify", "--raw", "--flatten", "-o", "json"]),
  );
  const c = view.clusters[0].cluster;
  return `- cluster:\n` +
    `    certificate-authority-data: ${c["certificate-authority-data"]}  # the cluster CA\n` +
    `    server: ${c.server}\n` +
    `  name: main\n`;
}

/** Write `text` to `name` in `dir` with `mode`; returns the path. */
export async function writeFile(dir: string, name: string, text: string, mode = 0o600) {
  const path = join(dir, name);
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, mode);
  return path;
}

/** The permission bits of a file. */
export async function modeOf(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}
