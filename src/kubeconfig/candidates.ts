/**
 * Which kubeconfig files kubectl would consider, without reading them: kept apart from the
 * parser so that the exec-credential cache shortcut can name the files without loading YAML.
 */

import type { Runtime } from "../runtime.ts";
import type { ConnectionFlags } from "./types.ts";
import { isWindows, pathApi } from "../path/platform.ts";

/** Where the kubeconfig candidates came from. */
export type KubeconfigSource = "flag" | "env" | "home" | "none";

/** The files kubectl would consider, before checking which exist. */
export interface KubeconfigCandidates {
  source: KubeconfigSource;
  /** Absolute paths, duplicates removed, in precedence order. */
  paths: string[];
}

/** The kubeconfig files kubectl would consider for these flags and environment, existing or not. */
export function kubeconfigCandidates(
  runtime: Runtime,
  flags: Pick<ConnectionFlags, "kubeconfig">,
): KubeconfigCandidates {
  const windows = isWindows(runtime);
  const api = pathApi(windows);
  const cwd = runtime.cwd();
  if (flags.kubeconfig) {
    return { source: "flag", paths: [api.resolve(cwd, flags.kubeconfig)] };
  }
  const env = runtime.env("KUBECONFIG");
  if (env) {
    // Go's filepath.SplitList: ";" on Windows, ":" elsewhere; empty entries mean nothing.
    const entries = env.split(windows ? ";" : ":").filter((entry) => entry !== "");
    const paths = [...new Set(entries.map((entry) => api.resolve(cwd, entry)))];
    return { source: "env", paths };
  }
  const home = runtime.homeDir();
  if (home) return { source: "home", paths: [api.join(home, ".kube", "config")] };
  return { source: "none", paths: [] };
}
