/** The `version` command's flags and help; the work is in src/commands/version.ts. */
import type { CommandTree, Run } from "./types.ts";
import { Complete, completes } from "./completion_rules.ts";

/** Add `version` to the command tree. */
export function registerVersion(program: CommandTree, run: Run): void {
  const cmd = program.command("version")
    .usage("[flags]")
    .summary("Print the version of kubectl-token")
    .option("-o, --output <format>", "Output format: text, json, yaml", "text")
    .action(async (opts) => {
      const { runVersion } = await import("../commands/version.ts");
      await run((ctx) => runVersion(ctx, opts));
    });
  completes(cmd, { flags: { "--output": Complete.fromHelp } });
}
