/** Types shared by the command definitions in src/cli/. */
import type { Command } from "@commander-js/extra-typings";
import type { CommandContext } from "../context.ts";

/** The root command that subcommands are added to. */
// deno-lint-ignore no-explicit-any
export type CommandTree = Command<[], any, any>;

/** Runs a command's work with a fresh context and records its exit code. */
export type Run = (fn: (ctx: CommandContext) => Promise<number>) => Promise<void>;
