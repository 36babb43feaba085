/**
 * `--help` from the command table, without loading commander: commander 14's `Help.formatHelp()`
 * and `Command.outputHelp()` (node_modules/commander/lib/help.js, command.js) ported for what the
 * table uses, so that the text is byte for byte commander's (tests/cli/help_test.ts compares
 * every command at several widths). Colour handling is left out: the table has none.
 */
import type { ArgumentSpec, CommandSpec, OptionSpec } from "./spec.ts";

const MIN_WIDTH_TO_WRAP = 40;

interface Item {
  term: string;
  description: string;
}

function humanReadableArgName(arg: ArgumentSpec): string {
  const name = arg.name + (arg.variadic ? "..." : "");
  return arg.required ? `<${name}>` : `[${name}]`;
}

class HelpOption {
  readonly flags: string;
  readonly description: string;
  readonly short?: string;
  readonly long?: string;
  constructor(flags: string, description: string) {
    this.flags = flags;
    this.description = description;
    const parts = flags.split(/[ |,]+/);
    if (/^-[^-]$/.test(parts[0])) this.short = parts.shift();
    if (/^--[^-]/.test(parts[0])) this.long = parts.shift();
  }
}

function usageOf(cmd: CommandSpec): string {
  if (cmd.help.usage) return cmd.help.usage; // commander: "" means the default too
  return [
    "[options]",
    ...(cmd.commands.length ? ["[command]"] : []),
    ...cmd.registeredArguments.map(humanReadableArgName),
  ].join(" ");
}

function commandUsage(cmd: CommandSpec): string {
  const aliases = cmd.aliasNames();
  const name = cmd.name() + (aliases[0] ? `|${aliases[0]}` : "");
  let ancestors = "";
  for (let c = cmd.parent; c; c = c.parent) ancestors = `${c.name()} ${ancestors}`;
  return `${ancestors}${name} ${usageOf(cmd)}`;
}

function optionDescription(option: OptionSpec | HelpOption): string {
  if (!(option instanceof HelpOption) && option.defaultValue !== undefined) {
    const show = option.required || option.optional ||
      (option.isBoolean() && typeof option.defaultValue === "boolean");
    if (show) {
      const extra = `(default: ${JSON.stringify(option.defaultValue)})`;
      return option.description ? `${option.description} ${extra}` : extra;
    }
  }
  return option.description;
}

function argumentDescription(arg: ArgumentSpec): string {
  if (arg.defaultValue !== undefined) {
    const extra = `(default: ${JSON.stringify(arg.defaultValue)})`;
    return arg.description ? `${arg.description} ${extra}` : extra;
  }
  return arg.description;
}

function subcommandTerm(cmd: CommandSpec): string {
  const args = cmd.registeredArguments.map(humanReadableArgName).join(" ");
  const aliases = cmd.aliasNames();
  return cmd.name() + (aliases[0] ? `|${aliases[0]}` : "") +
    (cmd.options.length ? " [options]" : "") + (args ? ` ${args}` : "");
}

function visibleOptions(cmd: CommandSpec): (OptionSpec | HelpOption)[] {
  const visible: (OptionSpec | HelpOption)[] = cmd.options.filter((o) => !o.hidden);
  if (cmd.versionOption) visible.push(cmd.versionOption);
  // Built from the inherited flags, like commander's lazily created help option.
  const help = new HelpOption(cmd.help.helpFlags, cmd.help.helpDescription);
  const removeShort = help.short && cmd.findOption(help.short);
  const removeLong = help.long && cmd.findOption(help.long);
  if (!removeShort && !removeLong) visible.push(help);
  else if (help.long && !removeLong) visible.push(new HelpOption(help.long, help.description));
  else if (help.short && !removeShort) visible.push(new HelpOption(help.short, help.description));
  if (cmd.help.configuration.sortOptions) visible.sort(compareOptions);
  return visible;
}

function compareOptions(a: { short?: string; long?: string }, b: typeof a): number {
  const key = (o: typeof a) => o.short ? o.short.replace(/^-/, "") : o.long!.replace(/^--/, "");
  return key(a).localeCompare(key(b));
}

function visibleGlobalOptions(cmd: CommandSpec): (OptionSpec | HelpOption)[] {
  if (!cmd.help.configuration.showGlobalOptions) return [];
  const all: (OptionSpec | HelpOption)[] = [];
  for (let c = cmd.parent; c; c = c.parent) {
    all.push(...c.options.filter((o) => !o.hidden));
    if (c.versionOption) all.push(c.versionOption);
  }
  if (cmd.help.configuration.sortOptions) all.sort(compareOptions);
  return all;
}

function visibleCommands(cmd: CommandSpec): CommandSpec[] {
  const visible = [...cmd.commands];
  if (cmd.help.configuration.sortSubcommands) {
    visible.sort((a, b) => a.name().localeCompare(b.name()));
  }
  return visible;
}

/** commander's `Help.boxWrap()`. */
function boxWrap(str: string, width: number): string {
  if (width < MIN_WIDTH_TO_WRAP) return str;
  const wrapped: string[] = [];
  for (const line of str.split(/\r\n|\n/)) {
    const chunks = line.match(/[\s]*[^\s]+/g);
    if (chunks === null) {
      wrapped.push("");
      continue;
    }
    let sum = [chunks.shift()!];
    let sumWidth = sum[0].length;
    for (const chunk of chunks) {
      if (sumWidth + chunk.length <= width) {
        sum.push(chunk);
        sumWidth += chunk.length;
        continue;
      }
      wrapped.push(sum.join(""));
      const next = chunk.trimStart();
      sum = [next];
      sumWidth = next.length;
    }
    wrapped.push(sum.join(""));
  }
  return wrapped.join("\n");
}

/** commander's `Help.formatItem()`. */
function formatItem(item: Item, termWidth: number, helpWidth: number): string {
  const indent = "  ";
  if (!item.description) return indent + item.term;
  const padded = item.term.padEnd(termWidth);
  const remaining = helpWidth - termWidth - 2 - 2;
  let description: string;
  if (remaining < MIN_WIDTH_TO_WRAP || /\n[^\S\r\n]/.test(item.description)) {
    description = item.description;
  } else {
    description = boxWrap(item.description, remaining).replace(
      /\n/g,
      "\n" + " ".repeat(termWidth + 2),
    );
  }
  return indent + padded + "  " + description.replace(/\n/g, `\n${indent}`);
}

/** commander's `Help.formatHelp()`. */
function formatHelp(cmd: CommandSpec, helpWidth: number): string {
  const args: Item[] = cmd.registeredArguments.some((a) => a.description)
    ? cmd.registeredArguments.map((a) => ({ term: a.name, description: argumentDescription(a) }))
    : [];
  const options: Item[] = visibleOptions(cmd).map((o) => ({
    term: o.flags,
    description: optionDescription(o),
  }));
  const globals: Item[] = visibleGlobalOptions(cmd).map((o) => ({
    term: o.flags,
    description: optionDescription(o),
  }));
  const commands: Item[] = visibleCommands(cmd).map((c) => ({
    term: subcommandTerm(c),
    description: c.help.summary || c.help.description,
  }));
  const termWidth = Math.max(
    0,
    ...[args, options, globals, commands].flat().map((i) => i.term.length),
  );
  const list = (heading: string, items: Item[]) =>
    items.length ? [heading, ...items.map((i) => formatItem(i, termWidth, helpWidth)), ""] : [];
  let output = [`Usage: ${commandUsage(cmd)}`, ""];
  if (cmd.help.description.length > 0) {
    output = output.concat([boxWrap(cmd.help.description, helpWidth), ""]);
  }
  output = output.concat(
    list("Arguments:", args),
    list("Options:", options),
    cmd.help.configuration.showGlobalOptions ? list("Global Options:", globals) : [],
    list("Commands:", commands),
  );
  return output.join("\n");
}

function hasImplicitHelpCommand(cmd: CommandSpec): boolean {
  return cmd.help.helpCommand ??
    (cmd.commands.length > 0 && !cmd.actionHandler && !cmd.findCommand("help"));
}

/**
 * The help of `cmd` as commander's `outputHelp()` writes it (texts before and after included), for
 * a terminal `width` columns wide (commander's 80 when not a terminal); undefined where the
 * table uses something this port leaves to commander (an implicit help command).
 */
export function renderHelp(cmd: CommandSpec, width?: number): string | undefined {
  const chain: CommandSpec[] = [];
  for (let c: CommandSpec | null = cmd; c; c = c.parent) chain.push(c);
  if (chain.some(hasImplicitHelpCommand)) return undefined;
  const texts = (c: CommandSpec, position: string) =>
    c.help.texts.filter((t) => t.position === position && t.text).map((t) => `${t.text}\n`);
  return [
    ...[...chain].reverse().flatMap((c) => texts(c, "beforeAll")),
    ...texts(cmd, "before"),
    formatHelp(cmd, width ?? 80),
    ...texts(cmd, "after"),
    ...chain.flatMap((c) => texts(c, "afterAll")),
  ].join("");
}
