/**
 * Shell completion from the command tree, answering cobra's `__complete` protocol, which
 * kubectl speaks to plugins through `kubectl_complete-<plugin>` (kubectl 1.26+) and which the
 * scripts of `kubectl token completion <shell>` use too: the words after the program name, the
 * last being the word under the cursor ("" for a new word), are answered with one candidate a
 * line (`value<TAB>description`) and a last line `:<directive>`.
 *
 * Commands and flag names come from the commander tree; argument and flag values from the rules
 * each command declares with `completes()` (src/cli/completion_rules.ts). Every argument and
 * every flag taking a value must have one: {@link completionRuleProblems} names those that
 * do not, and a test runs it over the real program.
 */
import { type Argument, type Command, Help, type Option } from "@commander-js/extra-typings";
import { type Candidate, type Rule, rulesOf, type ValueKind } from "./completion_rules.ts";

export type { Candidate, ValueKind } from "./completion_rules.ts";

/** Cobra's directive bits. */
export const Directive = {
  Default: 0,
  Error: 1,
  NoSpace: 2,
  NoFileComp: 4,
  FilterFileExt: 8,
  FilterDirs: 16,
  KeepOrder: 32,
} as const;

/** The answer to one completion request. */
export interface Completion {
  candidates: Candidate[];
  directive: number;
}

/** Where completion finds names outside the command tree (a cluster, kubeconfig files). */
export interface CompletionSource {
  /**
   * Names from the cluster or kubeconfig, for the flags given so far (long names without
   * dashes: `namespace`, `context`, ...); `name` is the object whose UID a *-uid kind asks for.
   */
  list(
    kind: ValueKind,
    flags: Record<string, string>,
    options?: { name?: string },
  ): Promise<Candidate[]>;
}

// deno-lint-ignore no-explicit-any
type AnyCommand = Command<any, any, any>;

const NONE: Completion = { candidates: [], directive: Directive.NoFileComp };

/** Answer a completion request for `words` (the last one is being completed). */
export async function complete(
  program: AnyCommand,
  words: string[],
  source: CompletionSource,
): Promise<Completion> {
  const toComplete = words.at(-1) ?? "";
  const help = new Help();
  help.showGlobalOptions = true;
  let cmd = program;
  const flags: Record<string, string> = {};
  const positionals: string[] = [];
  let pending: { option: Option; owner: AnyCommand } | undefined;
  let operandsOnly = false;
  for (const word of words.slice(0, -1)) {
    if (pending) {
      flags[flagName(pending.option)] = word;
      pending = undefined;
    } else if (word === "--") {
      operandsOnly = true;
    } else if (!operandsOnly && word.startsWith("-") && word !== "-") {
      const { option, owner, value } = splitFlag(cmd, word);
      if (option && owner && takesValue(option)) {
        if (value === undefined) pending = { option, owner };
        else flags[flagName(option)] = value;
      } else if (option) {
        flags[flagName(option)] = "true";
      }
    } else {
      const sub = positionals.length === 0 ? findCommand(cmd, word) : undefined;
      if (sub) cmd = sub;
      else positionals.push(word);
    }
  }

  const state = { flags, source, cmd, positionals };
  if (pending) {
    const { option, owner } = pending;
    return await resolve(optionRule(owner, option), { ...state, toComplete, prefix: "", option });
  }
  if (!operandsOnly && toComplete.startsWith("-")) {
    const eq = toComplete.indexOf("=");
    if (toComplete.startsWith("--") && eq > 0) {
      const { option, owner } = splitFlag(cmd, toComplete.slice(0, eq));
      if (option && owner && takesValue(option)) {
        return await resolve(optionRule(owner, option), {
          ...state,
          toComplete: toComplete.slice(eq + 1),
          prefix: toComplete.slice(0, eq + 1),
          option,
        });
      }
    }
    const options = [...help.visibleOptions(cmd), ...help.visibleGlobalOptions(cmd)];
    const candidates: Candidate[] = [];
    for (const o of options) {
      const description = firstSentence(o.description);
      if (o.long) candidates.push({ value: o.long, description });
      if (o.short && toComplete === "-") candidates.push({ value: o.short, description });
    }
    return { candidates: filter(candidates, toComplete), directive: Directive.NoFileComp };
  }
  const subcommands = help.visibleCommands(cmd).filter((c) => c.name() !== "help");
  if (subcommands.length > 0 && positionals.length === 0) {
    const candidates = subcommands.map((c) => ({
      value: c.name(),
      description: firstSentence(c.summary() || c.description()),
    }));
    return { candidates: filter(candidates, toComplete), directive: Directive.NoFileComp };
  }
  const args = cmd.registeredArguments;
  const index = Math.min(positionals.length, args.length - 1);
  const arg = args[positionals.length] ?? (args.at(-1)?.variadic ? args.at(-1) : undefined);
  if (!arg) return NONE;
  // A variadic argument does not offer the values it was already given.
  const given = new Set(arg.variadic ? positionals.slice(index) : []);
  const found = await resolve(argumentRule(cmd, arg), {
    ...state,
    toComplete,
    prefix: "",
    argument: arg,
  });
  return { ...found, candidates: found.candidates.filter((c) => !given.has(c.value)) };
}

interface ResolveState {
  cmd: AnyCommand;
  flags: Record<string, string>;
  positionals: string[];
  source: CompletionSource;
  toComplete: string;
  /** Put before each candidate: "--output=" when completing `--output=<value>`. */
  prefix: string;
  option?: Option;
  argument?: Argument;
}

async function resolve(rule: Rule | undefined, s: ResolveState): Promise<Completion> {
  if (!rule) return NONE;
  switch (rule.type) {
    case "none":
      return NONE;
    case "files":
      return { candidates: [], directive: Directive.Default };
    case "values":
      return offer(rule.values, s, Directive.NoFileComp);
    case "help": {
      const listed = listedValues(s.option?.description ?? s.argument?.description ?? "");
      return offer((listed ?? []).map((value) => ({ value })), s, Directive.NoFileComp);
    }
    case "lookup": {
      const name = rule.nameFlag ? s.flags[flagKey(rule.nameFlag)] : undefined;
      if (rule.nameFlag && !name) return NONE;
      return offer(await list(s, rule.kind, s.flags, name), s, Directive.NoFileComp);
    }
    case "service-account":
      return await serviceAccounts(rule.bare, s);
    case "by-arg": {
      const at = s.cmd.registeredArguments.findIndex((a) => a.name() === rule.arg);
      return await resolve(rule.rules[s.positionals[at] ?? ""], s);
    }
    case "by-flag":
      return await resolve(rule.rules[s.flags[flagKey(rule.flag)] ?? ""], s);
  }
}

/** NAMESPACE/NAME: namespaces (with "/", no space after) until a "/" is typed, then names. */
async function serviceAccounts(bare: boolean, s: ResolveState): Promise<Completion> {
  const slash = s.toComplete.indexOf("/");
  if (slash >= 0) {
    const ns = s.toComplete.slice(0, slash);
    const names = await list(s, "serviceaccounts", { ...s.flags, namespace: ns });
    const candidates = names.map((c) => ({ ...c, value: `${ns}/${c.value}` }));
    return offer(candidates, s, Directive.NoFileComp);
  }
  const [namespaces, names] = await Promise.all([
    list(s, "namespaces", s.flags),
    bare ? list(s, "serviceaccounts", s.flags) : Promise.resolve([]),
  ]);
  const candidates = [
    ...names,
    ...namespaces.map((c) => ({ value: `${c.value}/`, description: "namespace" })),
  ];
  const found = offer(candidates, s, Directive.NoFileComp);
  const partial = found.candidates.some((c) => c.value.endsWith("/"));
  return partial ? { ...found, directive: found.directive | Directive.NoSpace } : found;
}

function list(
  s: ResolveState,
  kind: ValueKind,
  flags: Record<string, string>,
  name?: string,
): Promise<Candidate[]> {
  return s.source.list(kind, flags, { name }).catch(() => []);
}

function offer(candidates: Candidate[], s: ResolveState, directive: number): Completion {
  const prefixed = candidates.map((c) => ({ ...c, value: s.prefix + c.value }));
  return { candidates: filter(prefixed, s.prefix + s.toComplete), directive };
}

function optionRule(owner: AnyCommand, option: Option): Rule | undefined {
  const rule = rulesOf(owner).flags?.[optionKey(option)];
  if (rule) return rule;
  return option.argChoices ? { type: "values", values: choices(option.argChoices) } : undefined;
}

function argumentRule(cmd: AnyCommand, arg: Argument): Rule | undefined {
  const rule = rulesOf(cmd).args?.[arg.name()];
  if (rule) return rule;
  return arg.argChoices ? { type: "values", values: choices(arg.argChoices) } : undefined;
}

function choices(values: readonly string[]): Candidate[] {
  return values.map((value) => ({ value }));
}

/**
 * What is wrong with the completion rules of `program` and its subcommands, one line each:
 * arguments and flags taking a value without a rule, rules naming no argument or flag, rules
 * that cannot work. Empty when all is well.
 */
export function completionRuleProblems(program: AnyCommand): string[] {
  const problems: string[] = [];
  const walk = (cmd: AnyCommand) => {
    const path = commandPath(cmd);
    const where = `completes() in ${sourceFileOf(cmd)}`;
    const rules = rulesOf(cmd);
    for (const arg of cmd.registeredArguments) {
      const rule = rules.args?.[arg.name()];
      if (!rule && !arg.argChoices) {
        problems.push(
          `${path}: argument ${arg.name()} has no completion rule: add ` +
            `args: { ${arg.name()}: Complete.<rule> } (Complete.none for none) to ${where}`,
        );
      }
      if (rule) checkRule(rule, cmd, `${path}: argument ${arg.name()}`, arg.description, problems);
    }
    for (const option of cmd.options) {
      if (!takesValue(option)) continue;
      const key = optionKey(option);
      const rule = rules.flags?.[key];
      if (!rule && !option.argChoices) {
        problems.push(
          `${path}: flag ${key} has no completion rule: add ` +
            `"${key}": Complete.<rule> (Complete.none for none) to flags of ${where}`,
        );
      }
      if (rule) checkRule(rule, cmd, `${path}: flag ${key}`, option.description, problems);
    }
    for (const name of Object.keys(rules.args ?? {})) {
      if (!cmd.registeredArguments.some((a) => a.name() === name)) {
        problems.push(`${path}: completion rule for argument ${name}, which it does not have`);
      }
    }
    for (const key of Object.keys(rules.flags ?? {})) {
      const option = cmd.options.find((o) => optionKey(o) === key);
      if (!option) {
        problems.push(`${path}: completion rule for flag ${key}, which it does not have`);
      } else if (!takesValue(option)) {
        problems.push(`${path}: completion rule for flag ${key}, which takes no value`);
      }
    }
    cmd.commands.forEach(walk);
  };
  walk(program);
  return problems;
}

function checkRule(
  rule: Rule,
  cmd: AnyCommand,
  what: string,
  description: string,
  problems: string[],
): void {
  const hasFlag = (flag: string) => {
    for (let c: AnyCommand | null = cmd; c; c = c.parent) {
      if (c.options.some((o) => o.long === flag || o.short === flag)) return true;
    }
    return false;
  };
  if (rule.type === "help" && !listedValues(description)) {
    problems.push(`${what}: Complete.fromHelp, but its help lists no values after a colon`);
  }
  if (rule.type === "lookup" && rule.nameFlag && !hasFlag(rule.nameFlag)) {
    problems.push(`${what}: looks up the object named by ${rule.nameFlag}, an unknown flag`);
  }
  if (rule.type === "by-arg") {
    if (!cmd.registeredArguments.some((a) => a.name() === rule.arg)) {
      problems.push(`${what}: chosen by argument ${rule.arg}, which the command does not have`);
    }
    for (const r of Object.values(rule.rules)) checkRule(r, cmd, what, description, problems);
  }
  if (rule.type === "by-flag") {
    if (!hasFlag(rule.flag)) problems.push(`${what}: chosen by ${rule.flag}, an unknown flag`);
    for (const r of Object.values(rule.rules)) checkRule(r, cmd, what, description, problems);
  }
}

function commandPath(cmd: AnyCommand): string {
  const names: string[] = [];
  for (let c: AnyCommand | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** Where a command is defined, by the layout of src/cli/: its top-level command's file. */
function sourceFileOf(cmd: AnyCommand): string {
  let top = cmd;
  while (top.parent?.parent) top = top.parent;
  return top.parent
    ? `src/cli/${top.name().replaceAll("-", "_")}_command.ts`
    : "src/cli/program.ts";
}

/** The protocol's text: candidates a line, then `:<directive>`. */
export function formatCompletion(completion: Completion): string {
  const lines = completion.candidates.map((c) =>
    c.description ? `${c.value}\t${c.description.replace(/\s+/g, " ")}` : c.value
  );
  return [...lines, `:${completion.directive}`].join("\n") + "\n";
}

/** The long flag name without dashes ("namespace"), else the short one ("n"). */
function flagName(option: Option): string {
  return (option.long ?? option.short ?? "").replace(/^-+/, "");
}

/** How rules name a flag: its long form ("--namespace"), else its short one ("-v"). */
function optionKey(option: Option): string {
  return option.long ?? option.short ?? "";
}

/** "--bound-object-kind" as a key of the flags seen so far ("bound-object-kind"). */
function flagKey(flag: string): string {
  return flag.replace(/^-+/, "");
}

function takesValue(option: Option): boolean {
  return option.required || option.optional;
}

/** The option a flag word names (this command or an ancestor) and an inline value, if any. */
function splitFlag(
  cmd: AnyCommand,
  word: string,
): { option?: Option; owner?: AnyCommand; value?: string } {
  let name = word;
  let value: string | undefined;
  if (word.startsWith("--")) {
    const eq = word.indexOf("=");
    if (eq > 0) [name, value] = [word.slice(0, eq), word.slice(eq + 1)];
  } else if (word.length > 2) {
    // -nfoo and -v=6: a short flag with its value attached.
    [name, value] = [word.slice(0, 2), word.slice(2)];
  }
  for (let c: AnyCommand | null = cmd; c; c = c.parent) {
    const option = c.options.find((o) => o.long === name || o.short === name);
    if (option) return { option, owner: c, value };
  }
  return {};
}

function findCommand(cmd: AnyCommand, name: string): AnyCommand | undefined {
  return cmd.commands.find((c) => c.name() === name || c.aliases().includes(name));
}

/** "Output format: text, json, yaml" gives its values: single words after the last colon. */
function listedValues(description: string): string[] | undefined {
  const m = /:\s*([A-Za-z][\w-]*(?:\s*,\s*[A-Za-z][\w-]*)+)\s*(?:\([^)]*\))?\s*$/.exec(
    description,
  );
  return m?.[1].split(",").map((s) => s.trim());
}

function firstSentence(text: string): string {
  return text.split("\n")[0].replace(/\.$/, "");
}

function filter(candidates: Candidate[], prefix: string): Candidate[] {
  return candidates.filter((c) => c.value.startsWith(prefix));
}
