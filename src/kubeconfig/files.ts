/** Which kubeconfig files kubectl reads, in which order, and reading them. */

import { CliError } from "../errors.ts";
import type { Runtime } from "../runtime.ts";
import type { ConnectionFlags, KubeconfigFile } from "./types.ts";
import { parseKubeconfig } from "./parse.ts";
import { kubeconfigCandidates } from "./candidates.ts";
import { isWindows } from "../path/platform.ts";
import { fileError } from "../fs/file_error.ts";

export {
  type KubeconfigCandidates,
  kubeconfigCandidates,
  type KubeconfigSource,
} from "./candidates.ts";

/**
 * The kubeconfig files to merge, as kubectl picks them: `--kubeconfig` alone (it must exist),
 * else the existing files of `KUBECONFIG`, else `~/.kube/config` when it exists.
 */
export async function kubeconfigPaths(
  runtime: Runtime,
  flags: Pick<ConnectionFlags, "kubeconfig">,
): Promise<string[]> {
  const candidates = kubeconfigCandidates(runtime, flags);
  if (candidates.source === "flag") {
    const [file] = candidates.paths;
    if (!(await runtime.exists(file))) {
      throw new CliError(
        `Cannot read kubeconfig "${file}" given by "--kubeconfig": no such file or directory`,
      );
    }
    return [file];
  }
  const existing: string[] = [];
  for (const file of candidates.paths) {
    // Missing files are skipped silently, as kubectl does (it logs them only at -v 1).
    if (await runtime.exists(file)) existing.push(file);
  }
  return existing;
}

/**
 * The largest kubeconfig read (kubectl has no limit; real files are kilobytes, and a limit keeps
 * `--kubeconfig /dev/zero` from filling memory).
 */
export const MAX_KUBECONFIG_BYTES = 10 * 1024 * 1024;

/** Reads and parses kubeconfig files, in order. */
export async function readKubeconfigFiles(
  runtime: Runtime,
  paths: string[],
): Promise<KubeconfigFile[]> {
  const windows = isWindows(runtime);
  const files: KubeconfigFile[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = await runtime.readTextFile(path, { maxBytes: MAX_KUBECONFIG_BYTES });
    } catch (e) {
      if (e instanceof Error && e.name === "TooLarge") {
        throw new CliError(
          `Cannot read kubeconfig "${path}": ${e.message}, the limit for a kubeconfig file`,
          { cause: e },
        );
      }
      throw fileError(`read kubeconfig "${path}"`, e);
    }
    files.push(await parseKubeconfig(text, path, { windows }));
  }
  return files;
}
