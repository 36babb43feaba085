/** The `bootstrap` command group's flags and help; the work is in src/commands/bootstrap.ts. */
import type { CommandTree, Run } from "./types.ts";
import { Complete, completes } from "./completion_rules.ts";
import { collect } from "./flags.ts";
import { UsageError } from "../errors.ts";

/** Add `bootstrap create|list|delete|generate` to the command tree. */
export function registerBootstrap(program: CommandTree, run: Run): void {
  const group = program.command("bootstrap")
    .usage("create|list|delete|generate [flags]")
    .summary("Manage bootstrap tokens (like kubeadm token)")
    .description(
      "Create, list, delete and generate bootstrap tokens ([a-z0-9]{6}.[a-z0-9]{16}), stored as Secrets in kube-system. They authenticate as system:bootstrap:<id> when the API server runs with --enable-bootstrap-token-auth.",
    )
    .helpCommand(false)
    .argument("[COMMAND]")
    .action((command) => {
      // Without this, commander prints the whole help on stderr and exits 0.
      const expected = "expected create, list, delete or generate";
      if (command === undefined) throw new UsageError(`Subcommand not specified: ${expected}`);
      throw new UsageError(`Invalid subcommand "${command}": ${expected}`);
    });

  // The subcommands complete as commands; the argument only catches a wrong one.
  completes(group, { args: { COMMAND: Complete.none } });
  const create = group.command("create")
    .usage("[TOKEN] [flags]")
    .argument("[TOKEN]", "Use this token instead of a generated one")
    .summary("Create a bootstrap token and print it")
    .description(
      "Create a bootstrap token on the server and print it. The token is drawn from a cryptographic random source unless given.",
    )
    .option("--ttl <duration>", 'Lifetime, e.g. "24h", "2d", "30m"; 0 means never expires', "24h")
    .option(
      "--usages <usages>",
      "Usages (comma-separated or repeated): signing, authentication (default both)",
      collect,
    )
    .option(
      "--groups <groups>",
      `Extra groups (comma-separated or repeated), each system:bootstrappers:... (default system:bootstrappers:kubeadm:default-node-token)`,
      collect,
    )
    .option("--description <text>", "A human-friendly description of the token")
    .option("-o, --output <format>", "Output format: token, json, yaml", "token")
    .addHelpText(
      "after",
      `
Examples:
  # A token for joining a node, valid for 24 hours
  kubectl token bootstrap create --description "join node-7"

  # A token that only signs the cluster-info ConfigMap, valid for two days
  kubectl token bootstrap create --ttl 2d --usages signing --groups ""`,
    )
    .action(async (token, opts) => {
      const { runBootstrapCreate } = await import("../commands/bootstrap.ts");
      await run((ctx) =>
        runBootstrapCreate(ctx, {
          token,
          ...opts,
          usages: opts.usages ?? [],
          groups: opts.groups ?? [],
        })
      );
    });
  completes(create, {
    args: { TOKEN: Complete.none },
    flags: {
      "--ttl": Complete.none,
      "--usages": Complete.fromHelp,
      "--groups": Complete.none,
      "--description": Complete.none,
      "--output": Complete.fromHelp,
    },
  });

  const list = group.command("list")
    .usage("[flags]")
    .summary("List bootstrap tokens (IDs only, never their secret)")
    .option("-o, --output <format>", "Output format: json, yaml (default: a table)")
    .addHelpText(
      "after",
      `
Examples:
  # List bootstrap tokens with their time left, usages and groups
  kubectl token bootstrap list`,
    )
    .action(async (opts) => {
      const { runBootstrapList } = await import("../commands/bootstrap.ts");
      await run((ctx) => runBootstrapList(ctx, opts));
    });
  completes(list, { flags: { "--output": Complete.fromHelp } });

  const del = group.command("delete")
    .usage("ID... [flags]")
    .argument("<ID...>", "Token IDs (or whole tokens)")
    .summary("Delete bootstrap tokens")
    .addHelpText(
      "after",
      `
Examples:
  # Delete the token with ID abcdef
  kubectl token bootstrap delete abcdef`,
    )
    .action(async (ids) => {
      const { runBootstrapDelete } = await import("../commands/bootstrap.ts");
      await run((ctx) => runBootstrapDelete(ctx, ids));
    });
  completes(del, { args: { ID: Complete.lookup("bootstrap-token-ids") } });

  group.command("generate")
    .usage("[flags]")
    .summary("Print a new random bootstrap token without touching the cluster")
    .addHelpText(
      "after",
      `
Examples:
  # Generate a token to put into a kubeadm configuration
  kubectl token bootstrap generate`,
    )
    .action(async () => {
      const { runBootstrapGenerate } = await import("../commands/bootstrap.ts");
      await run((ctx) => runBootstrapGenerate(ctx));
    });
}
