/** The `completion` command's subcommands and help; the work is in src/commands/completion.ts. */
import type { CommandTree, Run } from "./types.ts";
import { Complete, completes } from "./completion_rules.ts";
import { UsageError } from "../errors.ts";

const SHELL_HELP: Record<string, string> = {
  bash: "source <(kubectl-token completion bash)",
  zsh: "source <(kubectl-token completion zsh)",
  fish: "kubectl-token completion fish | source",
  powershell: "kubectl-token completion powershell | Out-String | Invoke-Expression",
};

/** Add `completion` to the command tree. */
export function registerCompletion(program: CommandTree, run: Run): void {
  const completion = program.command("completion")
    .usage("bash|zsh|fish|powershell|install [flags]")
    .helpCommand(false)
    .argument("[SHELL]")
    .summary("Shell completion: scripts, and the helper for kubectl's own completion")
    .description(
      'Shell completion. "kubectl token <TAB>" is completed by kubectl\'s own shell completion, which asks the helper kubectl_complete-token (kubectl 1.26+): "completion install" puts it next to kubectl-token (krew cannot). The shell subcommands print scripts that complete kubectl-token when it is run directly. Commands, flags, and every argument and flag value with a known set of values are completed: output formats, severities, bound object kinds, names from the cluster in the namespace of -n or the context (namespaces, service accounts, legacy token Secrets, bootstrap token IDs, bound objects and their UIDs; 3 s at most) and from the kubeconfig (contexts, clusters, users, servers).',
    )
    .addHelpText(
      "after",
      `
Examples:
  # Complete "kubectl token ..." in any shell where kubectl's completion is loaded
  kubectl token completion install

  # The same, with the helper in a folder of your choice (it must be on PATH)
  kubectl token completion install --dir ~/.local/bin

  # Complete kubectl-token run directly, in bash
  source <(kubectl-token completion bash)`,
    )
    .action((shell) => {
      const expected = "expected bash, zsh, fish, powershell or install";
      if (shell === undefined) throw new UsageError(`Shell not specified: ${expected}`);
      throw new UsageError(`Invalid shell "${shell}": ${expected}`);
    });
  // The shells and "install" are subcommands, offered as such.
  completes(completion, { args: { SHELL: Complete.none } });
  for (const shell of ["bash", "zsh", "fish", "powershell"] as const) {
    completion.command(shell)
      .usage("")
      .summary(`Print the ${shell} completion script for kubectl-token`)
      .addHelpText("after", `\nExamples:\n  ${SHELL_HELP[shell]}`)
      .action(async () => {
        const { runCompletionScript } = await import("../commands/completion.ts");
        await run((ctx) => runCompletionScript(ctx, shell));
      });
  }
  const install = completion.command("install")
    .usage("[--dir DIR]")
    .summary("Write kubectl_complete-token next to kubectl-token, for kubectl's completion")
    .option("--dir <dir>", "Folder to write the helper into (default: where kubectl-token is)")
    .addHelpText(
      "after",
      `
Examples:
  # Next to the kubectl-token on PATH (krew's bin folder for a krew install)
  kubectl token completion install

  # Into a folder on PATH
  kubectl token completion install --dir /usr/local/bin`,
    )
    .action(async (opts) => {
      const { runCompletionInstall } = await import("../commands/completion.ts");
      await run((ctx) => runCompletionInstall(ctx, opts));
    });
  completes(install, { flags: { "--dir": Complete.files } });
}
