/**
 * The command tree: kubectl's global connection flags on the root, one subcommand per file in
 * src/commands/ (loaded only when it runs, so `--help` stays fast).
 */
import { Command, Option } from "@commander-js/extra-typings";
import type { ConnectionFlags } from "../kubeconfig/types.ts";
import type { Runtime } from "../runtime.ts";
import { UsageError } from "../errors.ts";
import { CommandContext } from "./context.ts";
import { VERSION } from "../version.ts";

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

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

/** Build the command tree; `setExitCode` receives each command's result. */
export function buildProgram(runtime: Runtime, setExitCode: (code: number) => void) {
  const program = new Command()
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
    .addOption(new Option("-v, --v <level>", "Log level (6 and up logs each request)").argParser(
      parseLevel,
    ));

  const context = () => {
    const o = program.opts();
    const flags: ConnectionFlags = {
      kubeconfig: o.kubeconfig,
      context: o.context,
      cluster: o.cluster,
      user: o.user,
      namespace: o.namespace,
      server: o.server,
      token: o.token,
      certificateAuthority: o.certificateAuthority,
      clientCertificate: o.clientCertificate,
      clientKey: o.clientKey,
      insecureSkipTlsVerify: o.insecureSkipTlsVerify,
      tlsServerName: o.tlsServerName,
      as: o.as,
      asGroups: o.asGroup ?? [],
      asUid: o.asUid,
      requestTimeout: o.requestTimeout,
    };
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

  program.command("create")
    .alias("request")
    .usage("[SA] [flags]")
    .argument("[SA]", "Service account name (default: the service account of your own token)")
    .summary("Request a service account token (TokenRequest)")
    .description(
      "Request a short-lived token for a service account through the TokenRequest API, optionally bound to an audience and to a Pod, Secret or Node so that it stops working when that object is deleted.",
    )
    .option(
      "--duration <duration>",
      'Requested lifetime, e.g. "10m", "1h30m"; the server may shorten it; 0 means the server default',
    )
    .option(
      "--audience <audience>",
      "Intended audience of the token (repeatable); default: the API server's audiences",
      collect,
    )
    .option(
      "--bound-object-kind <kind>",
      "Kind of the object to bind the token to: Pod, Secret, Node",
    )
    .option("--bound-object-name <name>", "Name of the object to bind the token to")
    .option("--bound-object-uid <uid>", "UID of the object to bind the token to")
    .option("-o, --output <format>", "Output format: token, json, yaml, exec-credential", "token")
    .addHelpText(
      "after",
      `
Examples:
  # Request a token for the service account "myapp" in the current namespace
  kubectl token create myapp

  # Request a token for "myapp" in namespace "prod" with a custom audience and 30 minutes lifetime
  kubectl token create myapp -n prod --audience https://vault.example.com --duration 30m

  # Request a token bound to a Secret: deleting the Secret revokes the token
  kubectl token create myapp --bound-object-kind Secret --bound-object-name myapp-token-anchor

  # Print an ExecCredential document, as an exec credential plugin would
  kubectl token create myapp -o exec-credential`,
    )
    .action(async (sa, opts) => {
      const { runCreate } = await import("../commands/create.ts");
      await run((ctx) =>
        runCreate(ctx, { serviceAccount: sa, ...opts, audience: opts.audience ?? [] })
      );
    });

  program.command("decode")
    .usage("[TOKEN|-] [flags]")
    .argument("[TOKEN]", 'The token to decode, or "-" to read it from standard input')
    .summary("Show what a token says: claims, expiry, Kubernetes binding")
    .description(
      "Decode a JWT or bootstrap token without sending it anywhere: header, issuer, subject, audiences, issue and expiry times, the share of its lifetime left, and its Kubernetes claims. With no argument and a terminal on standard input, the token of the current kubeconfig user is decoded. --verify checks the signature against the cluster's /openid/v1/jwks (or --jwks FILE) and the time claims.",
    )
    .option("--verify", "Check the signature and the time claims", false)
    .option("--jwks <file>", "JSON Web Key Set to verify against (default: the cluster's)")
    .option("-o, --output <format>", "Output format: text, json, yaml", "text")
    .addHelpText(
      "after",
      `
Examples:
  # Decode the token of the current kubeconfig user
  kubectl token decode

  # Decode a token from a file and verify its signature against the cluster's keys
  kubectl token decode - --verify < token.jwt

  # Verify offline against a saved key set, as JSON
  kubectl token decode "$TOKEN" --verify --jwks jwks.json -o json`,
    )
    .action(async (token, opts) => {
      const { runDecode } = await import("../commands/decode.ts");
      await run((ctx) => runDecode(ctx, { token, ...opts }));
    });

  program.command("whoami")
    .usage("[flags]")
    .summary("Show who the API server thinks you are")
    .description(
      "Ask the API server who the current credential authenticates as (SelfSubjectReview v1, v1beta1, v1alpha1; on older servers TokenReview, else what the credential itself says), how it authenticated, and when the credential expires.",
    )
    .option("-o, --output <format>", "Output format: text, json, yaml", "text")
    .addHelpText(
      "after",
      `
Examples:
  # Who am I, with the current context?
  kubectl token whoami

  # Who would a given token be?
  kubectl token whoami --token "$(cat token.jwt)"

  # Machine-readable
  kubectl token whoami -o json`,
    )
    .action(async (opts) => {
      const { runWhoami } = await import("../commands/whoami.ts");
      await run((ctx) => runWhoami(ctx, opts));
    });

  program.command("version")
    .usage("[flags]")
    .summary("Print the version of kubectl-token")
    .option("-o, --output <format>", "Output format: text, json, yaml", "text")
    .action(async (opts) => {
      const { runVersion } = await import("../commands/version.ts");
      await run((ctx) => runVersion(ctx, opts));
    });

  program.addHelpText("after", ROOT_HELP);
  program.version(VERSION, "--version", "Print the version").addHelpText("beforeAll", "");
  return program;
}
