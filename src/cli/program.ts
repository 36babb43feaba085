/**
 * The command tree: kubectl's global connection flags on the root, one subcommand per file in
 * src/commands/ (loaded only when it runs, so `--help` stays fast).
 */
import type { Command, Option } from "@commander-js/extra-typings";
import { CommandSpec, OptionSpec } from "./spec.ts";
import type { Runtime } from "../runtime.ts";
import { UsageError } from "../errors.ts";
import { CommandContext } from "../context.ts";
import { VERSION } from "../version.ts";
import { collect, connectionFlagsOf } from "./flags.ts";
import { Complete, completes } from "./completion_rules.ts";
import { registerCreate } from "./create_command.ts";
import { registerDecode } from "./decode_command.ts";
import { registerWhoami } from "./whoami_command.ts";
import { registerVersion } from "./version_command.ts";
import { registerRotate } from "./rotate_command.ts";
import { registerKubeconfig } from "./kubeconfig_command.ts";
import { registerExecCredential } from "./exec_credential_command.ts";
import { registerCompletion } from "./completion_command.ts";
import { registerAudit } from "./audit_command.ts";
import { registerRevoke } from "./revoke_command.ts";
import { registerBootstrap } from "./bootstrap_command.ts";
import { registerScope } from "./scope_command.ts";
import { registerIssued } from "./issued_command.ts";
import { registerUsage } from "./usage_command.ts";
import { registerUsageServe } from "./usage_serve_command.ts";

/** kubectl accepts `-v=6`; commander hands that over as "=6". */
function parseLevel(value: string): string {
  const v = value.replace(/^=/, "");
  if (!/^\d+$/.test(v)) throw new UsageError(`Invalid value "${v}" for flag -v: expected a number`);
  return v;
}

const ROOT_HELP = `
Examples:
  # Request a short-lived token for the service account "build-bot" (namespace "ci")
  kubectl token create build-bot -n ci --duration 30m --audience vault

  # Show what is inside the token your kubeconfig uses, and check its signature
  kubectl token decode --verify

  # Ask the API server who you are and how you authenticated
  kubectl token whoami

Use "kubectl token <command> --help" for more information about a command.`;

/** Options for {@link buildProgram}. */
export interface BuildOptions {
  /**
   * Register each subcommand only when the command line names it (CommandSpec.lazyCommand):
   * for parsing and running a line, not for help, usage errors or completion.
   */
  lazy?: boolean;
}

/** Build the command table; `setExitCode` receives each command's result. */
export function buildProgram(
  runtime: Runtime,
  setExitCode: (code: number) => void,
  options: BuildOptions = {},
): CommandSpec {
  // The table records commander's calls (spec.ts); commander's types keep `opts` typed.
  const program = (new CommandSpec() as unknown as Command)
    .name("kubectl token")
    .usage("<command> [flags]")
    .description(
      "Request, inspect, verify and check Kubernetes tokens, with credentials resolved exactly as kubectl resolves them.",
    )
    .helpOption("-h, --help", "Show help for the command")
    .helpCommand(false)
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => runtime.stdout.write(s),
      writeErr: (s) => runtime.stderr.write(s),
      outputError: (s, write) => write(s.trim().replace(/\n+/g, " ") + "\n"),
    })
    .option("--kubeconfig <path>", "Path to the kubeconfig file to use")
    .option("--context <name>", "The name of the kubeconfig context to use")
    .option("--cluster <name>", "The name of the kubeconfig cluster to use")
    .option("--user <name>", "The name of the kubeconfig user to use")
    .option("-n, --namespace <namespace>", "The namespace scope for this request")
    .option("-s, --server <address>", "The address and port of the Kubernetes API server")
    .option("--token <token>", "Bearer token for authentication to the API server")
    .option("--certificate-authority <path>", "Path to a cert file for the certificate authority")
    .option("--client-certificate <path>", "Path to a client certificate file for TLS")
    .option("--client-key <path>", "Path to a client key file for TLS")
    .option(
      "--insecure-skip-tls-verify",
      "Do not check the server's certificate (makes HTTPS connections insecure)",
    )
    .option("--tls-server-name <name>", "Server name to use for certificate validation")
    .option("--as <user>", "Username to impersonate for the operation")
    .option("--as-group <group>", "Group to impersonate (repeatable)", collect)
    .option("--as-uid <uid>", "UID to impersonate for the operation")
    .option(
      "--request-timeout <duration>",
      'How long to wait for one server request (e.g. "5s", "1m"; "0" waits forever)',
      "0",
    )
    .addOption(
      (new OptionSpec(
        "-v, --v <level>",
        "Log level (6 and up logs each request)",
      ) as unknown as Option<
        "-v, --v <level>"
      >).argParser(parseLevel),
    );

  completes(program, {
    flags: {
      "--kubeconfig": Complete.files,
      "--context": Complete.lookup("contexts"),
      "--cluster": Complete.lookup("clusters"),
      "--user": Complete.lookup("users"),
      "--namespace": Complete.lookup("namespaces"),
      "--server": Complete.lookup("servers"),
      "--token": Complete.none,
      "--certificate-authority": Complete.files,
      "--client-certificate": Complete.files,
      "--client-key": Complete.files,
      "--tls-server-name": Complete.none,
      "--as": Complete.none,
      "--as-group": Complete.none,
      "--as-uid": Complete.none,
      "--request-timeout": Complete.none,
      "--v": Complete.none,
    },
  });

  const context = () => {
    const o = program.opts();
    const flags = connectionFlagsOf(o);
    return new CommandContext(runtime, flags, Number(o.v ?? 0));
  };
  const run = async (fn: (ctx: CommandContext) => Promise<number>) => {
    const ctx = context();
    try {
      setExitCode(await fn(ctx));
    } finally {
      await ctx.close();
    }
  };

  // In the order of the help's command list.
  const commands: [string[], () => void][] = [
    [["create", "request"], () => registerCreate(program, run)],
    [["decode"], () => registerDecode(program, run)],
    [["whoami"], () => registerWhoami(program, run)],
    [["version"], () => registerVersion(program, run)],
    [["rotate"], () => registerRotate(program, run)],
    [["kubeconfig"], () => registerKubeconfig(program, run)],
    [["exec-credential"], () => registerExecCredential(program, run)],
    [["completion"], () => registerCompletion(program, run)],
    [["audit", "list"], () => registerAudit(program, run)],
    [["revoke"], () => registerRevoke(program, run)],
    [["bootstrap"], () => registerBootstrap(program, run)],
    [["scope"], () => registerScope(program, run)],
    [["issued"], () => registerIssued(program, run)],
    [["usage"], () => registerUsageServe(registerUsage(program, run), run)],
  ];
  const table = program as unknown as CommandSpec;
  for (const [names, register] of commands) {
    if (options.lazy) table.lazyCommand(names, register);
    else register();
  }

  program.addHelpText("after", ROOT_HELP);
  program.version(VERSION, "--version", "Print the version").addHelpText("beforeAll", "");
  return table;
}
