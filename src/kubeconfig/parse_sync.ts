/**
 * Synchronous kubeconfig parsing for the writers, which check text inside a synchronous edit
 * under the file's lock. Importing this loads the yaml package; the reading path uses parse.ts.
 */

import type { KubeconfigFile } from "./types.ts";
import { kubeconfigOfData, type ParseOptions } from "./parse.ts";
import { readFastYaml } from "./_fast_yaml.ts";
import { readYamlPackage } from "./_yaml.ts";

/** parse.ts' readKubeconfigYaml, synchronously. */
export function readKubeconfigYamlSync(text: string, path: string): unknown {
  const fast = readFastYaml(text);
  return fast !== undefined ? fast : readYamlPackage(text, path);
}

/** parse.ts' parseKubeconfig, synchronously. */
export function parseKubeconfigSync(
  text: string,
  path: string,
  options: ParseOptions = {},
): KubeconfigFile {
  return kubeconfigOfData(readKubeconfigYamlSync(text, path), path, options);
}
