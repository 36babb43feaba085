/** The `usage` command's flags and help; the work is in src/commands/usage.ts. */
import { collect } from "./flags.ts";
import type { CommandTree, Run } from "./types.ts";
import { Complete, completes } from "./completion_rules.ts";

const SEVERITY_VALUES = ["info", "low", "medium", "high", "critical"];
const KIND_VALUES = ["token", "legacy-token", "pod", "service-account", "user"];

/** Add `usage` to the command tree; returns it, so that `usage serve` can be added under it. */
export function registerUsage(program: CommandTree, run: Run): CommandTree {
  const cmd = program.command("usage")
    .usage("--audit-log PATH [flags]")
    .summary("What each token did, from the API server's audit events, and what looks wrong")
    .description(
      "Read the API server's audit events (audit.k8s.io/v1, as its log backend writes them) and report per credential: the service account, the token itself where the server names it (credential-id, 1.29+), the Pod and Node it is bound to, first and last use, requests, denied requests, source IPs, user agents, verbs and resources. Then findings with their evidence: a Pod-bound token used from an address that is neither its Pod's nor its Node's, a credential used with a new user agent or from a new network, a token used after its Pod was deleted, tokens minted by people or with long lifetimes, many denied requests, legacy Secret tokens still in use. The log is streamed: memory stays flat whatever its size.",
    )
    .option(
      "--audit-log <path>",
      "Audit events to read: a JSON-lines file, a folder of rotated files (.gz too), or - for standard input",
    )
    .option(
      "--db [path]",
      "The usage database: read it instead of --audit-log, or where usage serve writes (default: ~/.kube/cache/kubectl-token/usage.db)",
    )
    .option(
      "--service-account <name>",
      "Only this service account (NAMESPACE/NAME, or NAME with -n)",
    )
    .option(
      "--since <when>",
      'Only events from this time on: a duration back from now ("2h", "7d") or an RFC 3339 time',
    )
    .option(
      "--kind <kinds>",
      "Only these credential kinds: token, legacy-token, pod, service-account, user (comma list or repeated)",
      collect,
    )
    .option(
      "--fail-on <severity>",
      "Exit with 1 when a finding has this severity or more: info, low, medium, high, critical (or when the report is incomplete)",
    )
    .option("-o, --output <format>", "Output format: wide, json, yaml (default: a table)")
    .option("--offline", "Do not ask the cluster for the Pods and Nodes the tokens name")
    .option(
      "--max-token-lifetime <duration>",
      "Flag tokens requested with a longer lifetime than this",
      "24h",
    )
    .option(
      "--baseline <duration>",
      "How long after its first use a credential's user agents and networks count as known",
      "1h",
    )
    .option(
      "--denied-threshold <n>",
      "Flag a credential with at least this many denied requests (and --denied-ratio of all)",
      "20",
    )
    .option(
      "--denied-ratio <fraction>",
      "Flag it only when denied requests are at least this share of its requests",
      "0.25",
    )
    .addHelpText(
      "after",
      `
Identity of a credential, from the most precise (KIND column):
  token            a bound token, by its jti (credential-id extra, Kubernetes 1.29+)
  legacy-token     a Secret-based token, by its Secret (1.28+) or its service account
  pod              a Pod-bound token without a jti (older servers): the Pod's tokens together
  service-account  other tokens of a service account the events do not tell apart
  user             any other user; impersonated requests count for the user who impersonated

Findings and their severity:
  foreign-ip (high)              a Pod-bound token used from an address that is neither the
                                 Pod's nor its Node's (needs the cluster: not with --offline)
  used-after-pod-deleted (high)  a Pod-bound token used more than a minute after its Pod's
                                 deletion (pod-gone, info: the Pod is gone, when is unknown)
  new-user-agent, new-network (medium; low for users)
                                 first seen after the credential's first --baseline of use;
                                 a network is an IPv4 /24 or an IPv6 /64
  minted-by-user (medium)        TokenRequests by someone other than the cluster or the
                                 account itself
  long-lifetime (medium, high above 30 days)
                                 a requested lifetime above --max-token-lifetime (known only
                                 when the policy logs the TokenRequest body)
  denied (medium, high for 5 or more different requests)
                                 --denied-threshold denied requests, --denied-ratio of all
  legacy-token (medium)          a legacy Secret token still in use

-n NAMESPACE keeps the service accounts of that namespace (with the tokens minted for them and the
Pods deleted there); without -n every namespace is reported, whatever the kubeconfig's namespace.
Each request counts once (at its ResponseComplete stage). Malformed lines are skipped with one
warning. Where the events cannot tell, the report says so rather than raise a finding: see
"Not evaluated" and "Notes" after the findings. --fail-on counts every finding shown, and never
passes a report with malformed lines or an unreachable cluster.

Examples:
  # What every credential did, from the API server's audit log
  kubectl token usage --audit-log /var/log/kubernetes/audit.log

  # One service account over the last day, with verbs and resources
  kubectl token usage --audit-log /var/log/kubernetes/ --service-account ci/deployer --since 24h -o wide

  # From a cloud export on standard input, without asking the cluster, as JSON
  gunzip -c audit-*.json.gz | kubectl token usage --audit-log - --offline -o json

  # Fail a CI job on high findings
  kubectl token usage --audit-log audit.log --fail-on high`,
    )
    .action(async (opts) => {
      const { runUsage } = await import("../commands/usage.ts");
      await run((ctx) => runUsage(ctx, opts));
    });
  completes(cmd, {
    flags: {
      "--audit-log": Complete.files,
      "--db": Complete.files,
      "--service-account": Complete.serviceAccount({ bare: true }),
      "--since": Complete.none,
      "--kind": Complete.values(...KIND_VALUES),
      "--fail-on": Complete.values(...SEVERITY_VALUES),
      "--output": Complete.fromHelp,
      "--max-token-lifetime": Complete.none,
      "--baseline": Complete.none,
      "--denied-threshold": Complete.none,
      "--denied-ratio": Complete.none,
    },
  });
  return cmd;
}
