/** `kubectl token version`: the plugin's version, and with -o json|yaml its build details. */
import type { CommandContext } from "../context.ts";
import { BUILD_COMMIT, CLIENT_LIBRARY_VERSION, VERSION } from "../version.ts";
import { parseOutputFlag, toJson, toYaml } from "../output/printers.ts";

/** Options of `version`. */
export interface VersionOptions {
  output: string;
}

/** Print the version; returns the exit code. */
export function runVersion(ctx: CommandContext, options: VersionOptions): Promise<number> {
  const format = parseOutputFlag(options.output, ["text", "json", "yaml"], "text");
  const out = ctx.runtime.stdout;
  if (format === "text") {
    out.write(`kubectl-token ${VERSION}\n`);
    return Promise.resolve(0);
  }
  const doc = {
    version: VERSION,
    gitCommit: BUILD_COMMIT,
    kubernetesClient: CLIENT_LIBRARY_VERSION,
    deno: ctx.runtime.platform.deno,
    v8: ctx.runtime.platform.v8,
    typescript: ctx.runtime.platform.typescript,
    platform: `${ctx.runtime.platform.os}/${ctx.runtime.platform.arch}`,
  };
  out.write(format === "json" ? toJson(doc) : toYaml(doc));
  return Promise.resolve(0);
}
