/** The program: parse the command line, run one command, map errors to exit codes. */
import type { Runtime } from "./runtime.ts";
import type { CommandSpec } from "./cli/spec.ts";
import { CliError, UsageError } from "./errors.ts";
import { withRedactedStderr } from "./output/redact.ts";

/**
 * Run kubectl-token with `args` (without the program name) and return the exit code:
 * 0 success, 1 failure, 2 usage error. Nothing deeper calls `Deno.exit`.
 */
export async function main(args: string[], plain: Runtime): Promise<number> {
  // Every stderr line (errors, I detail, Warning, logs) is redacted: see src/output/redact.ts.
  const runtime = withRedactedStderr(plain);
  let code = 0;
  let verbose = 0;
  // Set once commander is loaded: only for help, usage errors and completion.
  let commanderError: (new (...args: never[]) => Error) | undefined;
  try {
    const [{ buildProgram }, { parseCommandLine, runParsedLine }] = await Promise.all([
      import("./cli/program.ts"),
      import("./cli/parse.ts"),
    ]);
    const setCode = (c: number) => code = c;
    // Completion requests carry partial command lines that must not be parsed as commands.
    const complete = args[0] === "__complete";
    // A line that runs a command needs only that command's table entry; help, usage errors
    // and completion need the whole table.
    const wantsHelp = args.includes("-h") || args.includes("--help");
    if (!complete && !wantsHelp) {
      const lazy = buildProgram(runtime, setCode, { lazy: true });
      verbose = verbosityOf(args, lazy);
      const line = parseCommandLine(lazy, args);
      if (line && !line.help) {
        await runParsedLine(line);
        return code;
      }
    }
    const table = buildProgram(runtime, setCode);
    verbose = verbosityOf(args, table);
    const line = complete ? undefined : parseCommandLine(table, args);
    if (line && !line.help) {
      await runParsedLine(line);
      return code;
    }
    if (line?.help) {
      // commander sizes help to the terminal (process.stdout.columns), else 80 columns.
      const { renderHelp } = await import("./cli/help.ts");
      const text = renderHelp(line.command, runtime.stdout.columns?.());
      if (text !== undefined) {
        runtime.stdout.write(text);
        return 0;
      }
    }
    const [{ toCommander }, { CommanderError }] = await Promise.all([
      import("./cli/commander_view.ts"),
      import("@commander-js/extra-typings"),
    ]);
    commanderError = CommanderError;
    const program = toCommander(table);
    if (args[0] === "__complete") {
      return await (await import("./cli/complete_source.ts")).runComplete(
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
function verbosityOf(args: string[], table: CommandSpec): number {
  const flag = table.findOption("--v");
  if (!flag) return 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    for (const name of [flag.short, flag.long]) {
      if (!name || !a.startsWith(name)) continue;
      const rest = a.slice(name.length);
      if (rest === "") return Number(args[i + 1] ?? 0) || 0;
      if (/^=?\d+$/.test(rest)) return Number(rest.replace("=", "")) || 0;
    }
  }
  return 0;
}
