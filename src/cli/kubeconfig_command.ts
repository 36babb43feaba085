/** The `kubeconfig` command's flags and help; the work is in src/commands/kubeconfig.ts. */
import type { CommandTree, Run } from "./types.ts";
import { Complete, completes } from "./completion_rules.ts";
import { collect } from "./flags.ts";

/** Add `kubeconfig` to the command tree. */
export function registerKubeconfig(program: CommandTree, run: Run): void {
  const cmd = program.command("kubeconfig")
    .usage("SA [flags]")
    .argument("<SA>", "Service account: NAME (in the current namespace) or NAMESPACE/NAME")
    .summary("Write a kubeconfig for a service account")
    .description(
      "Write a kubeconfig whose cluster (server, CA) is the current context's and whose user is the service account: with a short-lived token (--duration), or with --exec an exec credential plugin entry that runs \"kubectl-token exec-credential\" with your current credentials, so the token renews itself and is never stored in the file. To stdout, to --output-file (mode 0600), or merged into an existing kubeconfig with --merge (atomically, under kubectl's lock, keeping everything else).",
    )
    .option("--duration <duration>", 'Token lifetime, e.g. "1h"; default the server\'s')
    .option("--audience <audience>", "Intended audience of the token (repeatable)", collect)
    .option("--exec", "Write an exec plugin user that renews the token, instead of a token")
    .option("--output-file <path>", "Write to this file (mode 0600) instead of stdout")
    .option("--merge <path>", "Add the cluster, user and context to this kubeconfig")
    .option("--name <name>", 'Name of the user and context (default "NAMESPACE-NAME")')
    .option(
      "--revocable",
      'Record the token in the registry (see "kubectl token issued"), so that "kubectl token revoke issued ID" ends it alone',
    )
    .option("--purpose <text>", "With --revocable: why the token is issued, recorded with it")
    .option("--backup", "With --merge or --output-file: keep the previous file as <file>.bak")
    .addHelpText(
      "after",
      `
Examples:
  # A kubeconfig for "deployer" in namespace "ci" with a 1-hour token, on stdout
  kubectl token kubeconfig ci/deployer --duration 1h

  # A kubeconfig whose token renews itself through this plugin
  kubectl token kubeconfig ci/deployer --exec --output-file deployer.kubeconfig

  # A kubeconfig with a revocable token, for a contractor (its ID is printed on stderr)
  kubectl token kubeconfig ci/deployer --duration 8h --revocable --purpose "contractor access"

  # Add the service account as a context to your own kubeconfig
  kubectl token kubeconfig ci/deployer --exec --merge ~/.kube/config`,
    )
    .action(async (sa, opts) => {
      const { runKubeconfig } = await import("../commands/kubeconfig.ts");
      await run((ctx) =>
        runKubeconfig(ctx, { serviceAccount: sa, ...opts, audience: opts.audience ?? [] })
      );
    });
  completes(cmd, {
    args: { SA: Complete.serviceAccount({ bare: true }) },
    flags: {
      "--duration": Complete.none,
      "--audience": Complete.none,
      "--output-file": Complete.files,
      "--merge": Complete.files,
      "--name": Complete.none,
      "--purpose": Complete.none,
    },
  });
}
