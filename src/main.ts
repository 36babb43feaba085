/** The program: parse the command line, run one command, map errors to exit codes. */
import type { Runtime } from "./runtime.ts";
import { CliError, UsageError } from "./errors.ts";
import { CommandContext } from "./cli/context.ts";
import { type FastCommand, parseFastPath } from "./cli/fast_path.ts";
import { withRedactedStderr } from "./output/redact.ts";

/**
 * Run kubectl-token with `args` (without the program name) and return the exit code:
 * 0 success, 1 failure, 2 usage error. Nothing deeper calls `Deno.exit`.
 */
export async function main(args: string[], plain: Runtime): Promise<number> {
  // Every stderr line (errors, I detail, Warning, logs) is redacted: see src/output/redact.ts.
  const runtime = withRedactedStderr(plain);
  let code = 0;
  const verbose = verbosityOf(args);
  // Set once commander is loaded; the fast path never loads it.
  let commanderError: (new (...args: never[]) => Error) | undefined;
  try {
    const fast = parseFastPath(args);
    if (fast) return await runFast(fast, runtime);
    const [{ buildProgram }, { CommanderError }] = await Promise.all([
      import("./cli/program.ts"),
      import("@commander-js/extra-typings"),
    ]);
    commanderError = CommanderError;
    const program = buildProgram(runtime, (c) => code = c);
    // Completion requests carry partial command lines that must not be parsed as commands.
    if (args[0] === "__complete") {
      return await (await import("./commands/completion.ts")).runComplete(
        program,
        args.slice(1),
        runtime,
      );
    }
    if (args.length === 0) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync(args, { from: "user" });
    return code;
  } catch (e) {
    return report(e, runtime, verbose, commanderError);
  }
}

/** Run a command line that {@link parseFastPath} took, the way program.ts runs commands. */
async function runFast(fast: FastCommand, runtime: Runtime): Promise<number> {
  const ctx = new CommandContext(runtime, fast.flags, 0);
  try {
    if (fast.command === "exec-credential") {
      const { runExecCredential } = await import("./commands/exec_credential.ts");
      return await runExecCredential(ctx, fast.options);
    }
    const { runDecode } = await import("./commands/decode.ts");
    return await runDecode(ctx, fast.options);
  } finally {
    await ctx.close();
  }
}

function report(
  e: unknown,
  runtime: Runtime,
  verbosity: number,
  commanderError: (new (...args: never[]) => Error) | undefined,
): number {
  if (commanderError && e instanceof commanderError) {
    const code = (e as { code?: string }).code;
    // commander has printed its message already (help and version exit 0).
    if (
      code === "commander.helpDisplayed" || code === "commander.help" ||
      code === "commander.version"
    ) return 0;
    return 2;
  }
  if (e instanceof UsageError) {
    runtime.stderr.write(`error: ${oneLine(e.message)}\n`);
    return 2;
  }
  if (e instanceof CliError) {
    runtime.stderr.write(`error: ${oneLine(e.message)}\n`);
    if (verbosity >= 6 && e.detail) runtime.stderr.write(`I detail: ${oneLine(e.detail)}\n`);
    return 1;
  }
  // An unexpected failure: still one line; the stack only on request.
  const message = e instanceof Error ? e.message : String(e);
  runtime.stderr.write(`error: ${oneLine(message)}\n`);
  if (verbosity >= 9 && e instanceof Error && e.stack) runtime.stderr.write(`${e.stack}\n`);
  return 1;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, "; ").trim();
}

/** The `-v` level, read before parsing so that parse errors can honour it too. */
function verbosityOf(args: string[]): number {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const m = /^(?:-v|--v)(?:=?(\d+))?$/.exec(a);
    if (m) return Number(m[1] ?? args[i + 1] ?? 0) || 0;
  }
  return 0;
}
