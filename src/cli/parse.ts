/**
 * Parse a command line against the command table (spec.ts) without loading commander. The
 * rules are commander 14's own, ported from its `Command.parseOptions()`, `_parseCommand()` and
 * `_processArguments()` (node_modules/commander/lib/command.js) for every line that runs a
 * command: options of a command are recognised after its subcommands too, an unknown option
 * sends the rest of the line to the subcommand, `<value>` flags take the next word whatever it
 * looks like, `-nVALUE` and `--flag=VALUE` forms, repeated flags through their parser.
 * Whenever commander would speak instead (help, `--version`, a usage error, an unknown command,
 * `--`), this returns undefined and main() hands the line to commander, so that every message
 * stays commander's. tests/cli/parse_test.ts checks both agree on every command.
 */
import type { CommandSpec, OptionSpec } from "./spec.ts";

/** A command line ready to run: the leaf command and the arguments its action receives. */
export interface ParsedLine {
  command: CommandSpec;
  /** Declared arguments in order (variadic ones as arrays), as commander passes them. */
  args: unknown[];
  /** The line asks for the command's help (`-h`/`--help`), which commander would print. */
  help?: boolean;
}

/** Thrown inside the parser where commander would print help or an error. */
class Unparsed extends Error {}

function maybeOption(arg: string): boolean {
  return arg.length > 1 && arg[0] === "-";
}

function ancestry(cmd: CommandSpec): CommandSpec[] {
  const all: CommandSpec[] = [];
  for (let c: CommandSpec | null = cmd; c; c = c.parent) all.push(c);
  return all;
}

function negativeNumberArg(cmd: CommandSpec, arg: string): boolean {
  if (!/^-(\d+|\d*\.\d+)(e[+-]?\d+)?$/.test(arg)) return false;
  return !ancestry(cmd).some((c) => c.options.some((o) => o.short && /^-\d$/.test(o.short)));
}

/** commander's handleOptionValue: parser, then the values of flags without one. */
function setOption(cmd: CommandSpec, option: OptionSpec, value: string | null | undefined): void {
  const name = option.attributeName();
  let val: unknown = value;
  if (val != null && option.parseArg) {
    const old = cmd.getOptionValue(name);
    val = option.parseArg(val as string, old);
  } else if (val != null && option.variadic) {
    const old = cmd.getOptionValue(name);
    val = Array.isArray(old) && old !== option.defaultValue ? [...old, val] : [val];
  }
  if (val == null) {
    if (option.negate) val = false;
    else if (option.isBoolean() || option.optional) val = true;
    else val = "";
  }
  cmd.setOptionValue(name, val);
}

function findOption(cmd: CommandSpec, arg: string): OptionSpec | undefined {
  // The version flag is an option to commander too; seeing it means commander must answer.
  if (cmd.versionOption?.is(arg)) throw new Unparsed();
  return cmd.findOption(arg);
}

/** commander's `parseOptions()`: this command's options set, operands and unknown words split. */
function parseOptions(cmd: CommandSpec, args: string[]): { operands: string[]; unknown: string[] } {
  const operands: string[] = [];
  const unknown: string[] = [];
  let dest = operands;
  let activeVariadic: OptionSpec | null = null;
  let activeGroup: string | null = null;
  let i = 0;
  while (i < args.length || activeGroup) {
    const arg: string = activeGroup ?? args[i++];
    activeGroup = null;
    // "--" ends options: rare on a command line, commander's own handling applies.
    if (arg === "--") throw new Unparsed();
    if (activeVariadic && (!maybeOption(arg) || negativeNumberArg(cmd, arg))) {
      setOption(cmd, activeVariadic, arg);
      continue;
    }
    activeVariadic = null;
    if (maybeOption(arg)) {
      const option = findOption(cmd, arg);
      if (option) {
        if (option.required) {
          const value = args[i++];
          if (value === undefined) throw new Unparsed(); // "option ... argument missing"
          setOption(cmd, option, value);
        } else if (option.optional) {
          let value: string | null = null;
          if (i < args.length && (!maybeOption(args[i]) || negativeNumberArg(cmd, args[i]))) {
            value = args[i++];
          }
          setOption(cmd, option, value);
        } else setOption(cmd, option, undefined);
        activeVariadic = option.variadic ? option : null;
        continue;
      }
    }
    if (arg.length > 2 && arg[0] === "-" && arg[1] !== "-") {
      const option = findOption(cmd, `-${arg[1]}`);
      if (option) {
        // commander's combineFlagAndOptionalValue defaults to true.
        if (option.required || option.optional) setOption(cmd, option, arg.slice(2));
        else {
          setOption(cmd, option, undefined);
          activeGroup = `-${arg.slice(2)}`;
        }
        continue;
      }
    }
    if (/^--[^=]+=/.test(arg)) {
      const index = arg.indexOf("=");
      const option = findOption(cmd, arg.slice(0, index));
      if (option && (option.required || option.optional)) {
        setOption(cmd, option, arg.slice(index + 1));
        continue;
      }
    }
    if (
      dest === operands && maybeOption(arg) &&
      !(!cmd.hasCommands() && negativeNumberArg(cmd, arg))
    ) dest = unknown;
    dest.push(arg);
  }
  return { operands, unknown };
}

/** commander's `_parseCommand()` for the lines that run an action. */
function parseCommand(cmd: CommandSpec, operands: string[], unknown: string[]): ParsedLine {
  const parsed = parseOptions(cmd, unknown);
  operands = operands.concat(parsed.operands);
  unknown = parsed.unknown;
  const all = operands.concat(unknown);
  const sub = cmd.findCommand(operands[0]);
  if (sub) return parseCommand(sub, operands.slice(1), unknown);
  // A missing subcommand: commander prints help as an error.
  if (cmd.hasCommands() && all.length === 0 && !cmd.actionHandler) throw new Unparsed();
  // commander looks for its help flag among the words left unknown at this level.
  const help = new Set(cmd.help.helpFlags.split(/[ |,]+/).filter((f) => f.startsWith("-")));
  if (parsed.unknown.some((a) => help.has(a))) return { command: cmd, args: [], help: true };
  // Unknown options, unknown commands and wrong arguments are commander's to report.
  if (!cmd.actionHandler || parsed.unknown.length > 0) throw new Unparsed();
  const declared = cmd.registeredArguments;
  if (declared.some((a, i) => a.required && all[i] == null)) throw new Unparsed();
  const variadicLast = declared.length > 0 && declared[declared.length - 1].variadic;
  if (!variadicLast && all.length > declared.length) throw new Unparsed();
  const args = declared.map((a, index) => {
    if (a.variadic) return index < all.length ? all.slice(index) : (a.defaultValue ?? []);
    return index < all.length ? all[index] : a.defaultValue;
  });
  return { command: cmd, args };
}

/** Parse `args` (without the program name); undefined when commander must handle the line. */
export function parseCommandLine(root: CommandSpec, args: string[]): ParsedLine | undefined {
  if (args.length === 0) return undefined;
  try {
    return parseCommand(root, [], args);
  } catch (e) {
    if (e instanceof Unparsed) return undefined;
    throw e;
  }
}

/** Run a parsed line: the action gets its arguments, the command's options, then the command. */
export async function runParsedLine(line: ParsedLine): Promise<void> {
  const { command, args } = line;
  await command.actionHandler!(...args, command.opts(), command);
}
