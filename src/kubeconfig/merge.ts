/** Merging kubeconfig files the way client-go's loader does. */

import type { KubeconfigFile, MergedKubeconfig, Sourced } from "./types.ts";

/**
 * Merges parsed kubeconfig files in precedence order: the first file that defines a cluster,
 * user or context name wins whole (later entries of that name are ignored, not merged and not an
 * error), and current-context comes from the first file that sets it.
 */
export function mergeKubeconfigs(files: KubeconfigFile[]): MergedKubeconfig {
  const merged: MergedKubeconfig = {
    files: files.map((file) => file.path),
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
  };
  for (const file of files) {
    for (const { name, cluster } of file.clusters) firstWins(merged.clusters, name, cluster, file);
    for (const { name, user } of file.users) firstWins(merged.users, name, user, file);
    for (const { name, context } of file.contexts) firstWins(merged.contexts, name, context, file);
    if (merged.currentContext === undefined && file.currentContext) {
      merged.currentContext = file.currentContext;
    }
  }
  return merged;
}

function firstWins<T>(
  map: Map<string, Sourced<T>>,
  name: string,
  value: T,
  file: KubeconfigFile,
): void {
  if (!map.has(name)) map.set(name, { name, value, file: file.path });
}
