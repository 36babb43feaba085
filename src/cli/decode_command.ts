/** The `decode` command's flags and help; the work is in src/commands/decode.ts. */
import type { CommandTree, Run } from "./types.ts";
import { Complete, completes } from "./completion_rules.ts";

/** Add `decode` to the command tree. */
export function registerDecode(program: CommandTree, run: Run): void {
  const cmd = program.command("decode")
    .usage("[TOKEN|-] [flags]")
    .argument("[TOKEN]", 'The token to decode, or "-" to read it from standard input')
    .summary("Show what a token says: claims, expiry, Kubernetes binding")
    .description(
      "Decode a JWT or bootstrap token without sending it anywhere: header, issuer, subject, audiences, issue and expiry times, the share of its lifetime left, and its Kubernetes claims. With no argument and a terminal on standard input, the token of the current kubeconfig user is decoded. --verify checks the signature against the cluster's /openid/v1/jwks (or --jwks FILE) and, as a separate check, the time claims with the API server's 60 s leeway (--leeway). A 'Bearer ' prefix (pasted from an Authorization header) is removed. A failed verification exits 1 with the reason on standard error.",
    )
    .option("--verify", "Check the signature and the time claims", false)
    .option("--jwks <file>", "JSON Web Key Set to verify against (default: the cluster's)")
    .option(
      "--leeway <duration>",
      "Clock skew allowed on the expiry and not-before times with --verify (default: 60s, as the API server allows)",
    )
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
  kubectl token decode "$TOKEN" --verify --jwks jwks.json -o json

  # A token pasted from an Authorization header; no clock skew allowed
  kubectl token decode "Bearer $TOKEN" --verify --leeway 0s`,
    )
    .action(async (token, opts) => {
      const { runDecode } = await import("../commands/decode.ts");
      await run((ctx) => runDecode(ctx, { token, ...opts }));
    });
  completes(cmd, {
    args: { TOKEN: Complete.none },
    flags: { "--jwks": Complete.files, "--output": Complete.fromHelp, "--leeway": Complete.none },
  });
}
