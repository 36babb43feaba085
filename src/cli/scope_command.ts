/** The `scope` command's flags and help; the work is in src/commands/scope.ts. */
import type { CommandTree, Run } from "./types.ts";
import { Complete, completes } from "./completion_rules.ts";

/** Add `scope` to the command tree. */
export function registerScope(program: CommandTree, run: Run): void {
  const cmd = program.command("scope")
    .usage("[flags]")
    .summary("What the current credential may do in a namespace, risky rights marked")
    .description(
      "List what the current credential (or --token) may do in a namespace, from a SelfSubjectRulesReview, marking risky rights (wildcards, reading secrets, creating service-account tokens, impersonate, bind, escalate, pods/exec, nodes/proxy), with a verdict: read-only, broader than read-only, or cluster-admin equivalent. A service account that may create tokens only for itself is marked self-renewal, not a risk.",
    )
    .option("-A, --all-namespaces", "Review every namespace (one SelfSubjectRulesReview each)")
    .option(
      "-o, --output <format>",
      "Output format: wide (adds what each risk means), json, yaml (default: a table)",
    )
    .addHelpText(
      "after",
      `
Examples:
  # What may my current credential do in namespace "prod"?
  kubectl token scope -n prod

  # What may this token do? As JSON, for a policy check
  kubectl token scope --token "$(cat token.jwt)" -o json

  # Every namespace, with what each risky right means
  kubectl token scope -A -o wide`,
    )
    .action(async (opts) => {
      const { runScope } = await import("../commands/scope.ts");
      await run((ctx) => runScope(ctx, opts));
    });
  completes(cmd, { flags: { "--output": Complete.values("wide", "json", "yaml") } });
}
