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
        "A least-privilege service account may not create tokens for itself (a token that can mint its successor never expires), so the new token is usually requested by a more privileged identity: --requester-context NAME (a context of the same kubeconfig files) or --requester-kubeconfig FILE (its current context, or --requester-context in it). The new token is then checked against the rotated user's own cluster before it is written.\n\n" +
        "--all rotates every token user of the kubeconfig whose token expires within --if-expires-within (default: 20% of its lifetime left), writing each file once under its lock, and prints a table of what it did; users that cannot be rotated (client certificates, exec plugins, tokens of no service account) and tokens that are not due are listed as skipped. --kubeconfig may name a folder: then every file in it (not hidden files, *.bak or *.lock; no subfolders) is a kubeconfig of its own. Exit code 1 if any user failed; the others are still rotated.\n\n" +
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
    .option(
      "--requester-context <name>",
      "Request the new token as this context (of the same kubeconfig files, or of --requester-kubeconfig)",
    )
    .option(
      "--requester-kubeconfig <file>",
      "Request the new token as the current (or --requester-context) context of this kubeconfig",
    )
    .option(
      "--all",
      "Rotate every token user of the kubeconfig (or of every file in a --kubeconfig folder) that is due",
    )
    .option(
      "--if-expires-within <duration|percent>",
      'With --all: rotate tokens that expire within this duration ("36h", "7d") or share of their lifetime ("20%"); default 20%',
    )
    .option("--backup", "Keep the previous file as <file>.bak (mode 0600)")
    .option("--dry-run", "Print what would change; change nothing (never prints a token)")
    .option("--delete-old", "Delete the old Secret or bootstrap token once the new one works")
    .option(
      "--grace <duration>",
      "With --delete-old, or rotating a revocable token: wait this long before deleting the old Secret (which ends the old token), e.g. 10m",
    )
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

  # Rotate the service account token in ci.kubeconfig, requesting it as the admin context
  kubectl token rotate --kubeconfig ci.kubeconfig --requester-kubeconfig ~/.kube/config

  # The same when both contexts are in one kubeconfig
  kubectl token rotate --context ci --requester-context admin

  # From cron: rotate every due token user of every kubeconfig in a folder
  kubectl token rotate --all --kubeconfig /etc/ci/kubeconfigs --requester-kubeconfig admin.kubeconfig

  # Rotate every token of the kubeconfig that expires within a day
  kubectl token rotate --all --if-expires-within 24h --requester-context admin

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
      "--requester-context": Complete.lookup("contexts"),
      "--requester-kubeconfig": Complete.files,
      "--if-expires-within": Complete.none,
      "--grace": Complete.none,
      "--timeout": Complete.none,
    },
  });
}
