/** The `usage serve` command's flags and help; the work is in src/commands/usage_serve.ts. */
import type { Command } from "@commander-js/extra-typings";
import type { Run } from "./types.ts";
import { Complete, completes } from "./completion_rules.ts";

/** The `usage` command, whatever its own arguments and flags. */
// deno-lint-ignore no-explicit-any
export type UsageCommand = Command<any, any, any>;

/** Add `serve` to the `usage` command. */
export function registerUsageServe(usage: UsageCommand, run: Run): void {
  const cmd = usage.command("serve")
    .usage("--listen ADDR --tls-cert-file FILE --tls-private-key-file FILE [flags]")
    .summary("Receive the API server's audit events (webhook backend) into the usage database")
    .description(
      'An audit webhook backend: the API server (--audit-webhook-config-file) POSTs batches of audit.k8s.io/v1 events over HTTPS; each batch is aggregated at once and answered 200, and the aggregates (per credential: requests, source IPs, user agents, request shapes; token issues; Pod deletions) are written to an SQLite database at most every second, so "kubectl token usage --db" answers from it across restarts. Never stored: a raw event or a token. The database (default $KUBECACHEDIR/kubectl-token/usage.db, else ~/.kube/cache/kubectl-token/usage.db; folder 0700, file 0600) prunes rows older than --retain on every write and caps its size. While the database falls behind, batches get 503 and the API server sends them again. With --client-ca-file only clients with a certificate of that CA may send events. SIGINT or SIGTERM writes what waits and exits 0. -v 1 logs the events per second once a minute, never an event.',
    )
    .option("--listen <address>", "Address to listen on: HOST:PORT, [IPv6]:PORT or :PORT")
    .option("--tls-cert-file <file>", "Serving certificate (PEM, with its chain)")
    .option("--tls-private-key-file <file>", "Private key of the serving certificate (PEM)")
    .option(
      "--client-ca-file <file>",
      "Require client certificates issued by these CAs (PEM); without it anyone may send events",
    )
    .option("--retain <duration>", "Prune aggregates not seen for this long (0: keep)", "30d")
    .option("--max-body-size <size>", "Refuse larger batches with 413 (bytes, or 64Mi)", "64Mi")
    .addHelpText(
      "after",
      `
Examples:
  # Receive the events of the API server, which presents a client certificate of client-ca.crt
  kubectl token usage serve --listen :8443 --tls-cert-file serving.crt \\
    --tls-private-key-file serving.key --client-ca-file client-ca.crt

  # Then ask what each token did
  kubectl token usage --db ~/.kube/cache/kubectl-token/usage.db

  # The API server's side: kube-apiserver --audit-policy-file=policy.yaml \\
  #   --audit-webhook-config-file=audit-webhook.kubeconfig (batches of 400 events by default)
  # where audit-webhook.kubeconfig is:
  apiVersion: v1
  kind: Config
  clusters:
  - name: kubectl-token-usage
    cluster:
      server: https://usage.example.internal:8443/
      certificate-authority: /etc/kubernetes/audit/serving-ca.crt
  users:
  - name: kube-apiserver
    user:
      client-certificate: /etc/kubernetes/audit/apiserver-audit.crt
      client-key: /etc/kubernetes/audit/apiserver-audit.key
  contexts:
  - name: default
    context:
      cluster: kubectl-token-usage
      user: kube-apiserver
  current-context: default`,
    )
    .action(async (opts) => {
      // --db belongs to `usage` (the parent takes it wherever it stands on the line, as
      // commander does): the database this writes is the one `usage --db` reads.
      const db = (usage.opts() as { db?: string | true }).db;
      const { runUsageServe } = await import("../commands/usage_serve.ts");
      await run((ctx) => runUsageServe(ctx, { ...opts, db: db === true ? undefined : db }));
    });
  completes(cmd, {
    flags: {
      "--listen": Complete.none,
      "--tls-cert-file": Complete.files,
      "--tls-private-key-file": Complete.files,
      "--client-ca-file": Complete.files,
      "--retain": Complete.none,
      "--max-body-size": Complete.none,
    },
  });
}
