/** The `issued` command's flags and help; the work is in src/commands/issued.ts. */
import type { CommandTree, Run } from "./types.ts";
import { Complete, completes } from "./completion_rules.ts";

/** Add `issued` to the command tree. */
export function registerIssued(program: CommandTree, run: Run): void {
  const cmd = program.command("issued")
    .usage("[flags]")
    .summary("List the revocable tokens issued (the token registry)")
    .description(
      'List the tokens issued with "create --revocable" or "kubeconfig --revocable": each is bound to a small registry Secret (type kubectl-token.io/issued-token, never holding the token) that records its service account, requester, purpose, audiences, issue time, expiry and a short fingerprint. The ID is the Secret\'s name; "kubectl token revoke issued ID" ends that one token. STATE is active, expired, or revoked (its Secret is being deleted).',
    )
    .option("-A, --all-namespaces", "List issued tokens in every namespace")
    .option("--service-account <name>", "Only tokens of this service account")
    .option("--requester <user>", "Only tokens this user asked for (the exact user name)")
    .option("--expired", "Only expired tokens")
    .option("--prune", "Delete the registry Secrets of expired tokens (they no longer work)")
    .option("-o, --output <format>", "Output format: wide, json, yaml (default: a table)")
    .option("--chunk-size <n>", "Secrets per list request (0: all at once)", "500")
    .addHelpText(
      "after",
      `
Examples:
  # Issue a revocable token, then list the issued tokens of the namespace
  kubectl token create build-bot -n ci --revocable --purpose "release pipeline"
  kubectl token issued -n ci

  # Every issued token in the cluster, with fingerprints and JTIs
  kubectl token issued -A -o wide

  # Tokens alice asked for; delete the registry entries of expired tokens
  kubectl token issued -A --requester alice@example.com
  kubectl token issued -A --prune`,
    )
    .action(async (opts) => {
      const { runIssued } = await import("../commands/issued.ts");
      await run((ctx) => runIssued(ctx, opts));
    });
  completes(cmd, {
    flags: {
      "--service-account": Complete.lookup("serviceaccounts"),
      "--requester": Complete.none,
      "--output": Complete.fromHelp,
      "--chunk-size": Complete.none,
    },
  });
}
