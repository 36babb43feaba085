/**
 * The command table (spec.ts) replayed onto commander, for what commander does best: `--help`,
 * usage errors with suggestions, and the completion protocol's walk of the tree. Loaded only on
 * those paths; src/cli/parse.ts runs every other line.
 */
import { Command, Option } from "@commander-js/extra-typings";
import { completes, rulesOf } from "./completion_rules.ts";
import type { CommandSpec, OptionSpec } from "./spec.ts";

// deno-lint-ignore no-explicit-any
type AnyCommand = Command<any, any, any>;
// deno-lint-ignore no-explicit-any
type Callable = Record<string, (...args: any[]) => unknown>;

function toOption(spec: OptionSpec): Option {
  const option = new Option(spec.flags, spec.description);
  for (const { method, args } of spec.calls) (option as unknown as Callable)[method](...args);
  return option;
}

function replay(spec: CommandSpec, cmd: AnyCommand): void {
  for (const { method, args } of spec.calls) {
    if (method === "command") {
      const [name, child] = args as [string, CommandSpec];
      const sub = cmd.command(name) as AnyCommand;
      replay(child, sub);
    } else if (method === "addOption") {
      cmd.addOption(toOption(args[0] as OptionSpec));
    } else (cmd as unknown as Callable)[method](...args);
  }
  completes(cmd, rulesOf(spec as unknown as AnyCommand));
  // An action that reads another command's options (a parent's) reads what commander parsed.
  spec.answerOptsFrom(() => cmd.opts());
}

/** A commander program equal to the table; the table's `opts()` then answer from it. */
export function toCommander(root: CommandSpec): AnyCommand {
  const program = new Command() as AnyCommand;
  replay(root, program);
  return program;
}
