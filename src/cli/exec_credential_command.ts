/** The `exec-credential` command's flags and help; the work is in src/commands/exec_credential.ts. */
import type { CommandTree, Run } from "./types.ts";
import { Complete, completes } from "./completion_rules.ts";
import { collect } from "./flags.ts";

/** Add `exec-credential` to the command tree. */
export function registerExecCredential(program: CommandTree, run: Run): void {
  const cmd = program.command("exec-credential")
    .usage("--service-account NS/NAME [flags]")
    .summary("Act as a client-go exec credential plugin for a service account")
    .description(
      'Print an ExecCredential (client.authentication.k8s.io/v1 or v1beta1, as KUBERNETES_EXEC_INFO asks) holding a short-lived token for a service account, requested with the credentials of --context (or --kubeconfig). Tokens are cached under $KUBECACHEDIR/kubectl-token (default ~/.kube/cache/kubectl-token; folder 0700, files 0600) and reused until 80% of their lifetime; parallel calls share one request. Written by "kubectl token kubeconfig SA --exec".',
    )
    .option("--service-account <ns/name>", "The service account to get a token for")
    .option("--audience <audience>", "Intended audience of the token (repeatable)", collect)
    .option("--duration <duration>", 'Requested lifetime, e.g. "1h"; default the server\'s')
    .option("--clear", "Remove all cached tokens")
    .addHelpText(
      "after",
      `
Examples:
  # In a kubeconfig user entry (kubectl token kubeconfig SA --exec writes this for you):
  #   exec:
  #     apiVersion: client.authentication.k8s.io/v1
  #     command: kubectl-token
  #     args: [exec-credential, --service-account, ci/deployer, --context, admin]
  #     interactiveMode: Never

  # Try it by hand
  kubectl token exec-credential --service-account ci/deployer --duration 1h

  # Forget every cached token
  kubectl token exec-credential --clear`,
    )
    .action(async (opts) => {
      const { runExecCredential } = await import("../commands/exec_credential.ts");
      await run((ctx) => runExecCredential(ctx, { ...opts, audience: opts.audience ?? [] }));
    });
  completes(cmd, {
    flags: {
      "--service-account": Complete.serviceAccount({ bare: false }),
      "--audience": Complete.none,
      "--duration": Complete.none,
    },
  });
}
