/** The `scope` command's flags and help; the work is in src/commands/scope.ts. */
import type { CommandTree, Run } from "./types.ts";
import { Complete, completes } from "./completion_rules.ts";

/** Add `scope` to the command tree. */
export function registerScope(program: CommandTree, run: Run): void {
  const cmd = program.command("scope")
    .usage("[SA --from-audit PATH] [flags]")
    .argument(
      "[SA]",
      "Service account (NAME, or NAMESPACE/NAME) to compare with what it did; needs --from-audit",
    )
    .summary("What the current credential may do in a namespace, risky rights marked")
    .description(
      "List what the current credential (or --token) may do in a namespace, from a SelfSubjectRulesReview, marking risky rights (wildcards, reading secrets, creating service-account tokens, impersonate, bind, escalate, pods/exec, nodes/proxy), with a verdict: read-only, broader than read-only, or cluster-admin equivalent. A service account that may create tokens only for itself is marked self-renewal, not a risk.\n\n" +
        "With a service account and --from-audit (or --db): compare what it may do (each rule with the binding and role it comes from) with what it did (its requests in the API server's audit events), mark each rule used, partly used or granted but unused, and print a least-privilege Role/ClusterRole with bindings that allows every request it was allowed and nothing else, checked against those requests first. --apply creates or updates it.",
    )
    .option("-A, --all-namespaces", "Review every namespace (one SelfSubjectRulesReview each)")
    .option(
      "--from-audit <path>",
      'With SA: the audit events to read, as the log backend writes them: a JSON-lines file, a folder of rotated files, .gz files, or "-" for stdin',
    )
    .option(
      "--db [path]",
      "With SA: take its requests from the usage database that kubectl token usage serve keeps instead (default: ~/.kube/cache/kubectl-token/usage.db)",
    )
    .option(
      "--apply",
      "With SA: create the proposed roles and bindings, or update them where they exist",
    )
    .option(
      "--dry-run <strategy>",
      'With --apply: "server" sends them with dryRun=All (checked, not stored), "client" sends nothing: none, server, client',
    )
    .option(
      "-o, --output <format>",
      "Output format: wide (adds what each risk means), json, yaml (default: a table; with SA: the report as comments, then the proposal as YAML)",
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
  kubectl token scope -A -o wide

  # What did service account "prod/deployer" use of its rights? Propose a least-privilege role
  kubectl token scope deployer -n prod --from-audit /var/log/kubernetes/audit.log

  # The same from rotated and compressed logs, sent to the server as a dry run
  kubectl token scope prod/deployer --from-audit /var/log/kubernetes/ --apply --dry-run=server

  # Apply it: stdout is YAML (the report is in comments), or let scope create it
  kubectl token scope prod/deployer --from-audit audit.log | kubectl apply -f -
  kubectl token scope prod/deployer --from-audit audit.log --apply`,
    )
    .action(async (sa, opts) => {
      const { runScope } = await import("../commands/scope.ts");
      await run((ctx) => runScope(ctx, { ...opts, serviceAccount: sa }));
    });
  completes(cmd, {
    args: { SA: Complete.lookup("serviceaccounts") },
    flags: {
      "--output": Complete.values("wide", "json", "yaml"),
      "--from-audit": Complete.files,
      "--db": Complete.files,
      "--dry-run": Complete.fromHelp,
    },
  });
}
