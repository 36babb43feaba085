/** The `whoami` command's flags and help; the work is in src/commands/whoami.ts. */
import type { CommandTree, Run } from "./types.ts";
import { Complete, completes } from "./completion_rules.ts";

/** Add `whoami` to the command tree. */
export function registerWhoami(program: CommandTree, run: Run): void {
  const cmd = program.command("whoami")
    .usage("[flags]")
    .summary("Show who the API server thinks you are")
    .description(
      "Ask the API server who the current credential authenticates as (SelfSubjectReview v1, v1beta1, v1alpha1; on older servers TokenReview, else what the credential itself says), how it authenticated, and when the credential expires.",
    )
    .option("-o, --output <format>", "Output format: text, json, yaml", "text")
    .addHelpText(
      "after",
      `
Examples:
  # Who am I, with the current context?
  kubectl token whoami

  # Who would a given token be?
  kubectl token whoami --token "$(cat token.jwt)"

  # Machine-readable
  kubectl token whoami -o json`,
    )
    .action(async (opts) => {
      const { runWhoami } = await import("../commands/whoami.ts");
      await run((ctx) => runWhoami(ctx, opts));
    });
  completes(cmd, { flags: { "--output": Complete.fromHelp } });
}
