/**
 * The command table: every command, argument and flag of kubectl-token, declared once with the
 * builder calls of commander (`.command()`, `.option()`, `.argument()`, `.action()` ...), but
 * recorded as data instead of building commander objects. From this one table:
 * - src/cli/parse.ts parses a command line without loading commander (its `node:*` modules cost
 *   35-50 ms), with commander's own rules ported;
 * - src/cli/commander_view.ts replays the recorded calls onto commander when commander has to
 *   speak: `--help`, usage errors, unknown commands, and the completion protocol, so that help
 *   text and error messages are commander's, unchanged;
 * - completion rules (completion_rules.ts) attach to the same entries.
 * Types come from @commander-js/extra-typings (type-only: nothing of it loads at run time), so a
 * command's `opts` are typed from its flag strings exactly as before.
 */

/** One recorded builder call, replayed in order onto commander. */
export interface RecordedCall {
  method: string;
  args: unknown[];
}

/** commander's `camelcase()`: "--as-group" -> "asGroup". */
function camelcase(name: string): string {
  return name.split("-").reduce((s, word) => s + word[0].toUpperCase() + word.slice(1));
}

/** A flag of the table (commander's Option, as far as parsing needs it). */
export class OptionSpec {
  readonly flags: string;
  readonly description: string;
  readonly required: boolean;
  readonly optional: boolean;
  readonly variadic: boolean;
  readonly short?: string;
  readonly long?: string;
  readonly negate: boolean;
  defaultValue: unknown = undefined;
  parseArg?: (value: string, previous: unknown) => unknown;
  hidden = false;
  readonly calls: RecordedCall[] = [];

  constructor(flags: string, description?: string) {
    this.flags = flags;
    this.description = description ?? "";
    this.required = flags.includes("<");
    this.optional = flags.includes("[");
    this.variadic = /\w\.\.\.[>\]]$/.test(flags);
    // commander's splitOptionFlags, for the forms the table uses: "-n, --namespace <ns>", "--x".
    const parts = flags.split(/[ |,]+/);
    if (/^-[^-]$/.test(parts[0])) this.short = parts.shift();
    if (/^--[^-]/.test(parts[0])) this.long = parts.shift();
    if (!this.short && !this.long) throw new Error(`no flags found in option "${flags}"`);
    this.negate = this.long?.startsWith("--no-") ?? false;
  }

  /** commander: `option.name()`. */
  name(): string {
    return this.long ? this.long.replace(/^--/, "") : this.short!.replace(/^-/, "");
  }

  /** commander: `option.attributeName()`, the key in `opts()`. */
  attributeName(): string {
    return camelcase(this.negate ? this.name().replace(/^no-/, "") : this.name());
  }

  /** commander: whether `arg` is this option's short or long flag. */
  is(arg: string): boolean {
    return this.short === arg || this.long === arg;
  }

  isBoolean(): boolean {
    return !this.required && !this.optional && !this.negate;
  }

  /** commander: `option.default(value)`. */
  default(value: unknown, description?: string): this {
    this.calls.push({
      method: "default",
      args: description === undefined ? [value] : [value, description],
    });
    this.defaultValue = value;
    return this;
  }

  /** commander: `option.argParser(fn)`. */
  argParser(fn: (value: string, previous: unknown) => unknown): this {
    this.calls.push({ method: "argParser", args: [fn] });
    this.parseArg = fn;
    return this;
  }

  /** commander: `option.hideHelp()`. */
  hideHelp(hide = true): this {
    this.calls.push({ method: "hideHelp", args: [hide] });
    this.hidden = hide;
    return this;
  }
}

/** A positional argument of the table. */
export interface ArgumentSpec {
  /** Without brackets and dots: "SA", "ID". */
  name: string;
  required: boolean;
  variadic: boolean;
  description: string;
  defaultValue?: unknown;
}

/** What help shows, as commander keeps it (help.ts renders it the way commander does). */
export interface HelpSettings {
  usage?: string;
  description: string;
  summary: string;
  /** `.addHelpText()` texts, by position. */
  texts: { position: string; text: string }[];
  /** The help flag: inherited from the parent when the command is created, as commander does. */
  helpFlags: string;
  helpDescription: string;
  /** `.configureHelp()`: also inherited at creation (the same object). */
  configuration: { showGlobalOptions?: boolean; sortSubcommands?: boolean; sortOptions?: boolean };
  /** `.helpCommand(true|false)`; undefined leaves commander's implicit rule. */
  helpCommand?: boolean;
}

// deno-lint-ignore no-explicit-any
type Action = (...args: any[]) => unknown;

/** A command of the table (commander's Command, as far as parsing needs it). */
export class CommandSpec {
  readonly calls: RecordedCall[] = [];
  readonly options: OptionSpec[] = [];
  readonly registeredArguments: ArgumentSpec[] = [];
  readonly commands: CommandSpec[] = [];
  readonly parent: CommandSpec | null;
  /** The option that prints the version (`.version()`): seen on a command line, commander speaks. */
  versionOption?: OptionSpec;
  actionHandler?: Action;
  readonly help: HelpSettings;
  #name: string;
  #aliases: string[] = [];
  #values: Record<string, unknown> = {};
  #optsSource?: () => Record<string, unknown>;
  #lazy: { names: string[]; load: () => void }[] = [];

  constructor(name = "", parent: CommandSpec | null = null) {
    this.#name = name;
    this.parent = parent;
    this.help = {
      description: "",
      summary: "",
      texts: [],
      helpFlags: parent?.help.helpFlags ?? "-h, --help",
      helpDescription: parent?.help.helpDescription ?? "display help for command",
      configuration: parent?.help.configuration ?? {},
    };
  }

  #record(method: string, args: unknown[]): this {
    this.calls.push({ method, args });
    return this;
  }

  /** commander: `.name()` reads, `.name(n)` sets. */
  name(): string;
  name(name: string): this;
  name(name?: string): string | this {
    if (name === undefined) return this.#name;
    this.#name = name;
    return this.#record("name", [name]);
  }

  /** Names the command also answers to. */
  aliasNames(): string[] {
    return [...this.#aliases];
  }

  /** commander: `.command(name)` adds a subcommand and returns it. */
  command(name: string): CommandSpec {
    if (/\s/.test(name)) throw new Error(`declare the arguments of "${name}" with .argument()`);
    const child = new CommandSpec(name, this);
    this.commands.push(child);
    this.calls.push({ method: "command", args: [name, child] });
    return child;
  }

  alias(alias: string): this {
    this.#aliases.push(alias);
    return this.#record("alias", [alias]);
  }

  aliases(aliases: string[]): this {
    this.#aliases.push(...aliases);
    return this.#record("aliases", [aliases]);
  }

  usage(text: string): this {
    this.help.usage = text;
    return this.#record("usage", [text]);
  }

  summary(text: string): this {
    this.help.summary = text;
    return this.#record("summary", [text]);
  }

  description(text: string): this {
    this.help.description = text;
    return this.#record("description", [text]);
  }

  addHelpText(position: string, text: string): this {
    this.help.texts.push({ position, text });
    return this.#record("addHelpText", [position, text]);
  }

  helpCommand(enable: boolean): this {
    this.help.helpCommand = enable;
    return this.#record("helpCommand", [enable]);
  }

  helpOption(flags: string, description: string): this {
    this.help.helpFlags = flags;
    this.help.helpDescription = description;
    return this.#record("helpOption", [flags, description]);
  }

  configureHelp(settings: HelpSettings["configuration"]): this {
    this.help.configuration = settings;
    return this.#record("configureHelp", [settings]);
  }

  configureOutput(settings: unknown): this {
    return this.#record("configureOutput", [settings]);
  }

  showSuggestionAfterError(enable = true): this {
    return this.#record("showSuggestionAfterError", [enable]);
  }

  exitOverride(): this {
    return this.#record("exitOverride", []);
  }

  /** commander: `.version(version, flags, description)` (an option that prints the version). */
  version(version: string, flags = "-V, --version", description?: string): this {
    this.versionOption = new OptionSpec(flags, description);
    return this.#record("version", [version, flags, description]);
  }

  /** commander: `.argument("<NAME>" | "[NAME]" | "<NAME...>", description, default?)`. */
  argument(name: string, description?: string, defaultValue?: unknown): this {
    const bare = name.slice(1, -1);
    this.registeredArguments.push({
      name: bare.replace(/\.\.\.$/, ""),
      required: name.startsWith("<"),
      variadic: bare.endsWith("..."),
      description: description ?? "",
      ...(defaultValue !== undefined ? { defaultValue } : {}),
    });
    return this.#record("argument", [name, description, defaultValue].slice(0, arguments.length));
  }

  /** commander: `.option(flags, description, parser | default, default)`. */
  option(flags: string, description?: string, fnOrDefault?: unknown, defaultValue?: unknown): this {
    const option = new OptionSpec(flags, description);
    if (typeof fnOrDefault === "function") {
      option.defaultValue = defaultValue;
      option.parseArg = fnOrDefault as OptionSpec["parseArg"];
    } else option.defaultValue = fnOrDefault;
    this.#register(option);
    return this.#record("option", [...arguments]);
  }

  /** commander: `.addOption(option)`. */
  addOption(option: OptionSpec): this {
    this.#register(option);
    return this.#record("addOption", [option]);
  }

  #register(option: OptionSpec): void {
    this.options.push(option);
    const name = option.attributeName();
    if (option.negate) {
      const positive = option.long!.replace(/^--no-/, "--");
      if (!this.options.some((o) => o.is(positive))) {
        this.#values[name] = option.defaultValue === undefined ? true : option.defaultValue;
      }
    } else if (option.defaultValue !== undefined) this.#values[name] = option.defaultValue;
  }

  /** commander: `.action(fn)`; `fn` gets the arguments, then `opts()`, then the command. */
  action(fn: Action): this {
    this.actionHandler = fn;
    return this.#record("action", [fn]);
  }

  /** The flag values of this command (defaults, then what the command line set). */
  opts(): Record<string, unknown> {
    return this.#optsSource ? this.#optsSource() : { ...this.#values };
  }

  /** Set one flag value (the parser does, as commander's option listeners do). */
  setOptionValue(name: string, value: unknown): void {
    this.#values[name] = value;
  }

  /** The value a flag has now. */
  getOptionValue(name: string): unknown {
    return this.#values[name];
  }

  /** Let `opts()` answer from commander, once commander has parsed the line instead. */
  answerOptsFrom(source: () => Record<string, unknown>): void {
    this.#optsSource = source;
  }

  /**
   * Declare a subcommand by its name and aliases only: `load` registers it (with `.command()`)
   * the first time {@link findCommand} is asked for one of `names`. Building the whole table
   * costs several milliseconds of first-run compilation, and a command line runs one command.
   * A table with unloaded subcommands serves parsing and running only: help, usage errors and
   * completion need them all, in their order, so they use a table built without lazy slots.
   */
  lazyCommand(names: string[], load: () => void): this {
    this.#lazy.push({ names, load });
    return this;
  }

  /** Whether this command has subcommands, loaded or not. */
  hasCommands(): boolean {
    return this.commands.length > 0 || this.#lazy.length > 0;
  }

  /** Find a subcommand by name or alias (loading it if it was declared lazily). */
  findCommand(name: string | undefined): CommandSpec | undefined {
    if (!name) return undefined;
    const slot = this.#lazy.findIndex((l) => l.names.includes(name));
    if (slot >= 0) {
      const [{ names, load }] = this.#lazy.splice(slot, 1);
      const before = this.commands.length;
      load();
      const added = this.commands.slice(before).map((c) => [c.#name, ...c.#aliases].join(","));
      if (added.length !== 1 || added[0] !== names.join(",")) {
        throw new Error(`lazy command "${names}" registered [${added.join("; ")}]`);
      }
    }
    return this.commands.find((c) => c.#name === name || c.#aliases.includes(name));
  }

  /** Find this command's own option for `arg` ("-n", "--namespace"). */
  findOption(arg: string): OptionSpec | undefined {
    return this.options.find((o) => o.is(arg));
  }
}
