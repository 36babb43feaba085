/**
 * Shell completion from the command tree, answering cobra's `__complete` protocol, which
 * kubectl speaks to plugins through `kubectl_complete-<plugin>` (kubectl 1.26+) and which the
 * scripts of `kubectl token completion <shell>` use too: the words after the program name, the
 * last being the word under the cursor ("" for a new word), are answered with one candidate a
 * line (`value<TAB>description`) and a last line `:<directive>`.
 *
 * Commands, flags and flag values come from the commander tree, so a command added to
 * src/cli/ completes without changes here. Values are found, in this order: the option's
 * `.choices()`, {@link FLAG_VALUES} by long flag name, a list of single words after the last
 * colon of the flag's description ("Output format: text, json, yaml"); positional arguments go
 * by their name in {@link ARGUMENT_VALUES} (name an argument `[SA]`, `[SECRET]`, `[TOKEN_ID]`,
 * `[NAMESPACE]` or `[CONTEXT]` and it completes from the cluster or kubeconfig).
 */
import { type Command, Help, type Option } from "@commander-js/extra-typings";

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

/** One completion candidate. */
export interface Candidate {
  value: string;
  description?: string;
}

/** The answer to one completion request. */
export interface Completion {
  candidates: Candidate[];
  directive: number;
}

/** Where completion finds names outside the command tree (a cluster, kubeconfig files). */
export interface CompletionSource {
  /** Names from the cluster or kubeconfig, for the flags given so far (e.g. -n, --context). */
  list(kind: ValueKind, flags: Record<string, string>): Promise<Candidate[]>;
}

/** The kinds of names completion can look up. */
export type ValueKind =
  | "namespaces"
  | "serviceaccounts"
  | "secrets"
  | "pods"
  | "nodes"
  | "bootstrap-token-ids"
  | "contexts"
  | "clusters"
  | "users";

type ValueRule =
  | { kind: ValueKind }
  | { files: true }
  | { byFlag: string; kinds: Record<string, ValueKind> };

/** Values of flags, by long name: cluster lookups, or files (the shell's own completion). */
export const FLAG_VALUES: Record<string, ValueRule> = {
  namespace: { kind: "namespaces" },
  context: { kind: "contexts" },
  "requester-context": { kind: "contexts" },
  cluster: { kind: "clusters" },
  user: { kind: "users" },
  kubeconfig: { files: true },
  "requester-kubeconfig": { files: true },
  "certificate-authority": { files: true },
  "client-certificate": { files: true },
  "client-key": { files: true },
  jwks: { files: true },
  dir: { files: true },
  "bound-object-name": {
    byFlag: "bound-object-kind",
    kinds: { Pod: "pods", Secret: "secrets", Node: "nodes" },
  },
};

/** Values of positional arguments, by the argument's name in the command definition. */
export const ARGUMENT_VALUES: Record<string, ValueRule | "none"> = {
  SA: { kind: "serviceaccounts" },
  SERVICE_ACCOUNT: { kind: "serviceaccounts" },
  SERVICEACCOUNT: { kind: "serviceaccounts" },
  SECRET: { kind: "secrets" },
  TOKEN_ID: { kind: "bootstrap-token-ids" },
  BOOTSTRAP_TOKEN_ID: { kind: "bootstrap-token-ids" },
  NAMESPACE: { kind: "namespaces" },
  CONTEXT: { kind: "contexts" },
  FILE: { files: true },
  TOKEN: "none",
};

// deno-lint-ignore no-explicit-any
type AnyCommand = Command<any, any, any>;

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
  let pending: Option | undefined;
  let operandsOnly = false;
  for (const word of words.slice(0, -1)) {
    if (pending) {
      flags[flagName(pending)] = word;
      pending = undefined;
    } else if (word === "--") {
      operandsOnly = true;
    } else if (!operandsOnly && word.startsWith("-") && word !== "-") {
      const { option, value } = splitFlag(cmd, word);
      if (option && takesValue(option)) {
        if (value === undefined) pending = option;
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

  if (pending) return await flagValues(pending, toComplete, flags, source, "");
  if (!operandsOnly && toComplete.startsWith("-")) {
    const eq = toComplete.indexOf("=");
    if (toComplete.startsWith("--") && eq > 0) {
      const { option } = splitFlag(cmd, toComplete.slice(0, eq));
      if (option && takesValue(option)) {
        const prefix = toComplete.slice(0, eq + 1);
        return await flagValues(option, toComplete.slice(eq + 1), flags, source, prefix);
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
  const arg = args[positionals.length] ?? (args.at(-1)?.variadic ? args.at(-1) : undefined);
  if (!arg) return { candidates: [], directive: Directive.NoFileComp };
  const rule = ARGUMENT_VALUES[arg.name().toUpperCase().replace(/[^A-Z_]/g, "")];
  if (arg.argChoices) {
    return {
      candidates: filter(arg.argChoices.map((value) => ({ value })), toComplete),
      directive: Directive.NoFileComp,
    };
  }
  if (rule === "none") return { candidates: [], directive: Directive.NoFileComp };
  if (!rule) return { candidates: [], directive: Directive.Default };
  return await fromRule(rule, toComplete, flags, source, "");
}

async function flagValues(
  option: Option,
  toComplete: string,
  flags: Record<string, string>,
  source: CompletionSource,
  prefix: string,
): Promise<Completion> {
  const choices = option.argChoices ?? listedValues(option.description);
  if (choices) {
    const candidates = choices.map((v) => ({ value: prefix + v }));
    return { candidates: filter(candidates, prefix + toComplete), directive: Directive.NoFileComp };
  }
  const rule = FLAG_VALUES[flagName(option)];
  if (!rule) return { candidates: [], directive: Directive.NoFileComp };
  return await fromRule(rule, toComplete, flags, source, prefix);
}

async function fromRule(
  rule: ValueRule,
  toComplete: string,
  flags: Record<string, string>,
  source: CompletionSource,
  prefix: string,
): Promise<Completion> {
  if ("files" in rule) return { candidates: [], directive: Directive.Default };
  const kind = "kind" in rule ? rule.kind : rule.kinds[flags[rule.byFlag] ?? ""];
  if (!kind) return { candidates: [], directive: Directive.NoFileComp };
  const found = await source.list(kind, flags).catch(() => []);
  const candidates = found.map((c) => ({ ...c, value: prefix + c.value }));
  return { candidates: filter(candidates, prefix + toComplete), directive: Directive.NoFileComp };
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

function takesValue(option: Option): boolean {
  return option.required || option.optional;
}

/** The option a flag word names (this command or an ancestor) and an inline value, if any. */
function splitFlag(cmd: AnyCommand, word: string): { option?: Option; value?: string } {
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
    if (option) return { option, value };
  }
  return {};
}

function findCommand(cmd: AnyCommand, name: string): AnyCommand | undefined {
  return cmd.commands.find((c) => c.name() === name || c.aliases().includes(name));
}

/** "Output format: text, json, yaml" gives its values: single words after the last colon. */
function listedValues(description: string): string[] | undefined {
  const m = /:\s*([A-Za-z][\w-]*(?:\s*,\s*[A-Za-z][\w-]*)+)\s*$/.exec(description);
  return m?.[1].split(",").map((s) => s.trim());
}

function firstSentence(text: string): string {
  return text.split("\n")[0].replace(/\.$/, "");
}

function filter(candidates: Candidate[], prefix: string): Candidate[] {
  return candidates.filter((c) => c.value.startsWith(prefix));
}
