/** The `create` command's flags and help; the work is in src/commands/create.ts. */
import type { CommandTree, Run } from "./types.ts";
import { Complete, completes } from "./completion_rules.ts";
import { collect } from "./flags.ts";

/** Add `create` to the command tree. */
export function registerCreate(program: CommandTree, run: Run): void {
  const cmd = program.command("create")
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
    .option(
      "--revocable",
      'Record the token in the registry (a Secret it is bound to, holding no token): list it with "kubectl token issued", end it alone with "kubectl token revoke issued ID"',
    )
    .option("--purpose <text>", "With --revocable: why the token is issued, recorded with it")
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

  # Request a revocable token: its registry ID is printed on stderr
  kubectl token create myapp --revocable --purpose "nightly backup job" --duration 2h

  # Print an ExecCredential document, as an exec credential plugin would
  kubectl token create myapp -o exec-credential`,
    )
    .action(async (sa, opts) => {
      const { runCreate } = await import("../commands/create.ts");
      await run((ctx) =>
        runCreate(ctx, { serviceAccount: sa, ...opts, audience: opts.audience ?? [] })
      );
    });
  completes(cmd, {
    args: { SA: Complete.lookup("serviceaccounts") },
    flags: {
      "--duration": Complete.none,
      "--audience": Complete.none,
      "--bound-object-kind": Complete.fromHelp,
      "--bound-object-name": Complete.byFlag("--bound-object-kind", {
        Pod: Complete.lookup("pods"),
        Secret: Complete.lookup("secrets"),
        Node: Complete.lookup("nodes"),
      }),
      "--bound-object-uid": Complete.byFlag("--bound-object-kind", {
        Pod: Complete.lookup("pod-uid", "--bound-object-name"),
        Secret: Complete.lookup("secret-uid", "--bound-object-name"),
        Node: Complete.lookup("node-uid", "--bound-object-name"),
      }),
      "--purpose": Complete.none,
      "--output": Complete.fromHelp,
    },
  });
}
