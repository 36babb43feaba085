/** The `revoke` command's flags and help; the work is in src/commands/revoke.ts. */
import type { CommandTree, Run } from "./types.ts";
import { Complete, completes } from "./completion_rules.ts";

/** Add `revoke` to the command tree. */
export function registerRevoke(program: CommandTree, run: Run): void {
  const cmd = program.command("revoke")
    .usage(
      "(secret NAME | bootstrap ID | token TOKEN|- | issued ID | --unused-for D | --orphaned | --expired) [flags]",
    )
    .argument("[KIND]", "secret, bootstrap, token or issued")
    .argument(
      "[NAME]",
      "Secret name, bootstrap token ID, the token (- reads standard input), or the ID of an issued token",
    )
    .summary("Delete token Secrets and bootstrap tokens; end bound tokens")
    .description(
      "Revoke a legacy token Secret or a bootstrap token by name, or many at once with the audit's selectors. A bound token has no revoke API: given one, say how it ends, and with --delete-bound-object or --recreate-service-account end it. Without --yes it asks on a terminal and refuses otherwise.",
    )
    .option("-A, --all-namespaces", "With selectors: look in every namespace")
    .option(
      "--unused-for <duration>",
      'Select Secret tokens unused for longer than this, e.g. "90d"',
    )
    .option("--orphaned", "Select Secret tokens whose service account is gone or was recreated")
    .option("--expired", "Select expired bootstrap tokens")
    .option("--invalidated", "Select Secret tokens the legacy token cleaner invalidated")
    .option("--delete-bound-object", "Delete the Pod, Secret or Node the given token is bound to")
    .option(
      "--recreate-service-account",
      "Delete and recreate the token's service account (labels, annotations and image pull secrets kept): invalidates every token of that account",
    )
    .option(
      "--force",
      "With selectors: also delete Secrets that Pods still use (never those whose Pods could not be listed)",
    )
    .option(
      "--token-file <file>",
      "With issued ID: the token itself (- reads standard input), checked with TokenReview until the server refuses it",
    )
    .option(
      "-l, --selector <selector>",
      "With issued: revoke every issued token whose registry Secret matches this label selector",
    )
    .option("--dry-run", "Only list what would be deleted")
    .option("-y, --yes", "Do not ask for confirmation")
    .option("--chunk-size <n>", "Objects per list request with selectors (0: all at once)", "500")
    .addHelpText(
      "after",
      `
Legacy token Secrets on servers before 1.24: the token controller keeps one token Secret for
every service account, the one its "secrets" list names. Deleting it ends its token, but the
controller then creates a new Secret with a new token for the account (taking the entry out of
the list first changes nothing: the controller reacts the same way). revoke says so in the
REASON column before asking, and names the new Secret afterwards; only deleting the service
account ends its last legacy token there. (rotate secret --delete-old avoids the extra Secret
by listing the new one in place of the old.)

Secrets in use: a selector skips a legacy token Secret that a Pod still names (secret volume,
projected source, env or envFrom; finished Pods count too), and says so; --force deletes it
anyway. When the Pods cannot be listed, their Secrets are skipped even with --force: name one
(revoke secret NAME) to delete it. kubectl token audit -o yaml shows who uses each Secret and
the projected token volume that replaces it.

Examples:
  # See which Secret tokens in the cluster were unused for 90 days or are orphaned
  kubectl token revoke -A --unused-for 90d --orphaned --dry-run

  # Delete them without asking (in CI)
  kubectl token revoke -A --unused-for 90d --orphaned --yes

  # Delete one legacy token Secret, and one bootstrap token
  kubectl token revoke secret build-bot-token -n ci
  kubectl token revoke bootstrap abcdef

  # End one revocable token (see kubectl token issued), and prove it is refused
  kubectl token revoke issued build-bot-issued-x7k2p -n ci --yes
  kubectl token revoke issued build-bot-issued-x7k2p -n ci --yes --token-file - < token.jwt

  # End every issued token of the service account "build-bot"
  kubectl token revoke issued -n ci -l kubectl-token.io/service-account=build-bot --yes

  # How can this bound token be revoked? Then delete the Pod it is bound to
  kubectl token revoke token - < token.jwt
  kubectl token revoke token - --delete-bound-object < token.jwt`,
    )
    .action(async (kind, name, opts) => {
      const { runRevoke } = await import("../commands/revoke.ts");
      await run((ctx) => runRevoke(ctx, { kind, name, ...opts }));
    });
  completes(cmd, {
    args: {
      KIND: Complete.values(
        "secret\tA legacy service-account token Secret",
        "bootstrap\tA bootstrap token, by ID",
        "token\tA bound token (- reads standard input)",
        "issued\tA revocable token, by its registry ID",
      ),
      NAME: Complete.byArg("KIND", {
        secret: Complete.lookup("token-secrets"),
        bootstrap: Complete.lookup("bootstrap-token-ids"),
        token: Complete.none,
        issued: Complete.lookup("secrets"),
      }),
    },
    flags: {
      "--unused-for": Complete.none,
      "--chunk-size": Complete.none,
      "--token-file": Complete.files,
      "--selector": Complete.none,
    },
  });
}
