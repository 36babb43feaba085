/** The `rotate` command's flags and help; the work is in src/commands/rotate.ts. */
import type { CommandTree, Run } from "./types.ts";
import { Complete, completes } from "./completion_rules.ts";

/** Add `rotate` to the command tree. */
export function registerRotate(program: CommandTree, run: Run): void {
  const cmd = program.command("rotate")
    .usage("[secret NAME | bootstrap ID] [flags]")
    .argument("[TARGET]", 'Nothing for the kubeconfig user, "secret" or "bootstrap"')
    .argument("[NAME]", "The Secret name or bootstrap token ID")
    .summary("Replace a token with a fresh one, without losing access")
    .description(
      "Without arguments: request a fresh token for the service account of the current (or --context) kubeconfig user, with the same audiences and lifetime, check that it authenticates, then write it into the file that defines the user (atomically, under kubectl's lock, keeping the file's mode, comments and every other entry). A user with tokenFile gets that file rewritten.\n\n" +
        "rotate secret NAME: create a replacement for a legacy service-account-token Secret, wait for the token controller to fill it and print its name.\n\n" +
        "rotate bootstrap ID: create a new bootstrap token with the same usages, groups, description and TTL and print it.",
    )
    .option(
      "--service-account <ns/name>",
      "Service account of the kubeconfig user's token, when its claims do not say",
    )
    .option(
      "--duration <duration>",
      'Lifetime of the new token, e.g. "24h" (default: the old token\'s lifetime)',
    )
    .option("--backup", "Keep the previous file as <file>.bak (mode 0600)")
    .option("--dry-run", "Print what would change; change nothing (never prints a token)")
    .option("--delete-old", "Delete the old Secret or bootstrap token once the new one works")
    .option("--grace <duration>", "With --delete-old: wait this long before deleting, e.g. 10m")
    .option(
      "--timeout <duration>",
      "How long to wait for the token controller to fill a new Secret (default 1m)",
    )
    .addHelpText(
      "after",
      `
Examples:
  # Replace the token of the current kubeconfig user with a fresh one of the same lifetime
  kubectl token rotate

  # The same for the user of context "ci", valid for 24 hours, keeping a backup of the file
  kubectl token rotate --context ci --duration 24h --backup

  # See what would change
  kubectl token rotate --dry-run

  # Replace a legacy token Secret; delete the old one 10 minutes later
  kubectl token rotate secret build-bot-token -n ci --delete-old --grace 10m

  # Replace a bootstrap token (prints the new token)
  kubectl token rotate bootstrap abcdef --delete-old`,
    )
    .action(async (target, name, opts) => {
      const { runRotate } = await import("../commands/rotate.ts");
      await run((ctx) => runRotate(ctx, { target, name, ...opts }));
    });
  completes(cmd, {
    args: {
      TARGET: Complete.values(
        "secret\tA legacy service-account token Secret",
        "bootstrap\tA bootstrap token, by ID",
      ),
      NAME: Complete.byArg("TARGET", {
        secret: Complete.lookup("token-secrets"),
        bootstrap: Complete.lookup("bootstrap-token-ids"),
      }),
    },
    flags: {
      "--service-account": Complete.serviceAccount({ bare: false }),
      "--duration": Complete.none,
      "--grace": Complete.none,
      "--timeout": Complete.none,
    },
  });
}
