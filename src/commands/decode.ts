/**
 * `kubectl token decode [TOKEN|-]`: what a token says, without sending it anywhere unless
 * `--verify` needs the cluster's keys.
 */
import type { CommandContext } from "../context.ts";
import { CliError, UsageError } from "../errors.ts";
import { parseOutputFlag, toJson, toYaml } from "../output/printers.ts";
import { inspectToken, type TokenReport } from "../jwt/inspect.ts";
import { renderTokenReport, tokenReportDocument } from "../jwt/render.ts";
import type { VerifyResult } from "../jwt/verify.ts";
import { tokenFromText } from "../jwt/decode.ts";
import { fileError } from "../fs/file_error.ts";
import { parseDurationFlag } from "../flags/duration.ts";

/** Flags and argument of `decode`. */
export interface DecodeOptions {
  token?: string;
  verify: boolean;
  jwks?: string;
  /** Clock skew allowed on `exp` and `nbf` with --verify, a duration; default 60s. */
  leeway?: string;
  output: string;
}

/** Decode (and verify) the token and print the report; returns the exit code. */
export async function runDecode(ctx: CommandContext, options: DecodeOptions): Promise<number> {
  const format = parseOutputFlag(options.output, ["text", "json", "yaml"], "text");
  if (options.jwks && !options.verify) {
    throw new UsageError("Flag --jwks needs --verify");
  }
  if (options.leeway !== undefined && !options.verify) {
    throw new UsageError("Flag --leeway needs --verify");
  }
  const leewayMs = options.leeway === undefined
    ? undefined
    : parseDurationFlag("leeway", options.leeway);
  const token = await readToken(ctx, options.token);
  ctx.secret(token);
  const now = ctx.runtime.now();
  const report = inspectToken(token, now);
  let verification: VerifyResult | undefined;
  if (options.verify) {
    verification = await verify(ctx, token, report, { jwks: options.jwks, leewayMs });
  }
  const registry = await registryLookup(ctx, report);
  const out = ctx.runtime.stdout;
  if (format === "text") {
    out.write(renderTokenReport(report, now, { verification, registry }));
  } else {
    const doc = tokenReportDocument(report, verification);
    if (registry) doc.registry = registry;
    out.write(format === "json" ? toJson(doc) : toYaml(doc));
  }
  // The report is data on stdout; the verdict of a failed check is the error, on stderr.
  if (verification && !verification.valid) {
    throw new CliError(`Token is not valid: ${verification.reason ?? "verification failed"}`);
  }
  return 0;
}

/**
 * For a token bound to a Secret: its registry entry and state, when the cluster can be asked
 * (within a few seconds); decoding never fails for want of a cluster.
 */
async function registryLookup(ctx: CommandContext, report: TokenReport) {
  const bound = report.kubernetes?.boundObject;
  const namespace = report.kubernetes?.namespace;
  if (bound?.kind !== "Secret" || !bound.name || !namespace) return undefined;
  const [{ getSecret }, { registryStatus }, { ApiError }] = await Promise.all([
    import("../api/secrets.ts"),
    import("../registry/issued.ts"),
    import("../api/errors.ts"),
  ]);
  const ref = { namespace, name: bound.name, uid: bound.uid };
  try {
    const client = await ctx.client();
    let secret;
    try {
      secret = await getSecret(client, namespace, bound.name, { timeoutMs: 3000 });
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== 404) throw e;
    }
    return registryStatus(ref, secret, ctx.runtime.now());
  } catch (e) {
    ctx.log(1, `registry not consulted: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

async function readToken(ctx: CommandContext, arg: string | undefined): Promise<string> {
  const stdin = ctx.runtime.stdin;
  if (arg === "-" || (arg === undefined && !stdin.isTerminal())) {
    let bytes: Uint8Array;
    try {
      bytes = await stdin.readAll();
    } catch (e) {
      throw fileError("read the token from standard input", e);
    }
    const text = tokenFromText(new TextDecoder().decode(bytes));
    if (text === "") {
      if (arg === "-") throw new CliError("Cannot decode token: standard input is empty");
      return await currentToken(ctx);
    }
    return text;
  }
  if (arg !== undefined) {
    const token = tokenFromText(arg);
    if (token === "") throw new UsageError("The token argument is empty");
    return token;
  }
  return await currentToken(ctx);
}

async function currentToken(ctx: CommandContext): Promise<string> {
  const credential = await ctx.credential();
  if (credential.token) return credential.token;
  const config = await ctx.config();
  const user = config.userName ? `user "${config.userName}"` : "the current user";
  throw new CliError(
    `Cannot decode the current token: ${user} authenticates with ` +
      `${credential.certPem ? "a client certificate" : "no token"}; pass a token or "-"`,
  );
}

async function verify(
  ctx: CommandContext,
  token: string,
  report: TokenReport,
  options: { jwks?: string; leewayMs?: number },
): Promise<VerifyResult> {
  const jwksFile = options.jwks;
  if (report.kind === "bootstrap") {
    throw new CliError(
      "Cannot verify a bootstrap token offline: it is a shared secret; use kubectl token whoami --token",
    );
  }
  // jose loads only here, so plain decoding stays fast.
  const { parseJwks, verifyToken } = await import("../jwt/verify.ts");
  let jwks;
  if (jwksFile) {
    let text: string;
    try {
      text = await ctx.runtime.readTextFile(jwksFile);
    } catch (e) {
      throw fileError(`read key set "${jwksFile}"`, e);
    }
    jwks = parseJwks(text, jwksFile);
  } else {
    const { getJwks } = await import("../api/discovery.ts");
    const served = await getJwks(await ctx.client());
    jwks = parseJwks(JSON.stringify(served.jwks), served.url);
  }
  return await verifyToken(token, { jwks }, { now: ctx.runtime.now(), leewayMs: options.leewayMs });
}
