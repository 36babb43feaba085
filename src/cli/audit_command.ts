/** The `audit` command's flags and help; the work is in src/commands/audit.ts. */
import { collect } from "./flags.ts";
import type { CommandTree, Run } from "./types.ts";
import { Complete, completes } from "./completion_rules.ts";

const SEVERITY_VALUES = ["info", "low", "medium", "high", "critical"];

/** Add `audit` (alias `list`) to the command tree. */
export function registerAudit(program: CommandTree, run: Run): void {
  const cmd = program.command("audit")
    .alias("list")
    .usage("[flags]")
    .summary("List token-bearing objects and what is wrong with them")
    .description(
      "Inventory of legacy service-account token Secrets, bootstrap tokens, service accounts that mount tokens automatically and issued (revocable) tokens, in one namespace or all, with findings: long-lived, unused, never used, orphaned, invalidated, expired, without expiry, expired but never pruned. Bootstrap tokens (kube-system) are included with -A or -n kube-system. Lists are read in pages, so memory stays flat on large clusters.",
    )
    .option("-A, --all-namespaces", "Audit every namespace")
    .option(
      "--unused-for <duration>",
      'Flag Secret tokens not used for longer than this, e.g. "90d", "36h"',
      "90d",
    )
    .option(
      "--severity <level>",
      "Show only objects whose worst finding is this or worse: info, low, medium, high, critical (on a terminal the default hides info rows)",
    )
    .option(
      "--kind <kinds>",
      "Audit only these kinds: secret, bootstrap, serviceaccount, issued (comma list or repeated)",
      collect,
    )
    .option(
      "-l, --selector <selector>",
      "Label selector sent with each list, e.g. -l app=ci,team!=web (kubectl's syntax)",
    )
    .option(
      "--fail-on <severity>",
      "Exit with 1 when a finding has this severity or more, shown or not (--severity only changes what is printed), or when a list was refused",
    )
    .option("-o, --output <format>", "Output format: wide, json, yaml (default: a table)")
    .option("--chunk-size <n>", "Objects per list request (0: all at once)", "500")
    .addHelpText(
      "after",
      `
Findings and their severity:
  long-lived (medium)   a Secret-based token never expires
  unused (high)         last used longer ago than --unused-for
  never-used (low, medium when older than --unused-for)
  orphaned (high)       its service account is gone, or was recreated with another UID
  invalidated (low)     the legacy token cleaner marked it invalid
  expired (low)         a bootstrap token past its expiration
  no-expiry (high)      a bootstrap token that never expires
  automount (info)      a service account that mounts a token into its pods
  in-use (info)         Pods still use the Secret token (replacement: -o yaml)
  unpruned (low)        an issued token (create --revocable) past its expiry whose registry
                        entry was never deleted: harmless (the token no longer works) but
                        "issued" still lists it; kubectl token issued --prune deletes it

Who uses each legacy token Secret: the Pods of its namespace that name it in a secret volume, a
projected volume source, env (secretKeyRef) or envFrom, in any phase (imagePullSecrets do not
count), with the workload that owns each (a ReplicaSet's Deployment, a Job's CronJob, else the
Pod's controller). -o wide shows them in CONSUMERS; -o json|yaml list them under "consumers"
(null when the Pods could not be listed) and give the in-use finding a "replacement": the
projected service-account token volume to put in the Pod spec in place of the Secret. A used
token that no Pod names is used from outside the cluster: its long-lived finding suggests
kubectl token kubeconfig NS/SA --exec instead.

On a terminal the table leaves out objects whose worst finding is only info, and says how many
(--severity info shows them); piped output and -o json|yaml hide nothing unless --severity or
--kind is given. A list the server refuses (403) is skipped with a warning and the rest audited;
the exit code is 1 only when nothing could be listed, or with --fail-on (an incomplete audit
never passes a --fail-on gate). -o json|yaml record refused lists in summary.incomplete.

Examples:
  # Audit the current namespace
  kubectl token audit

  # Audit the whole cluster, with the reasons, and fail a CI job on high findings
  kubectl token audit -A -o wide --fail-on high

  # Tokens unused for 30 days, as JSON
  kubectl token audit -A --unused-for 30d -o json

  # Which Pods still use legacy tokens, and the projected volumes that replace them
  kubectl token audit -A --kind secret -o yaml

  # Only high and critical Secret tokens of the CI team's objects
  kubectl token audit -A --kind secret --severity high -l team=ci`,
    )
    .action(async (opts) => {
      const { runAudit } = await import("../commands/audit.ts");
      await run((ctx) => runAudit(ctx, opts));
    });
  completes(cmd, {
    flags: {
      "--unused-for": Complete.none,
      "--fail-on": Complete.values(...SEVERITY_VALUES),
      "--severity": Complete.values(...SEVERITY_VALUES),
      "--kind": Complete.values("secret", "bootstrap", "serviceaccount", "issued"),
      "--selector": Complete.none,
      "--output": Complete.fromHelp,
      "--chunk-size": Complete.none,
    },
  });
}
