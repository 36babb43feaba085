/**
 * src/cli/parse.ts against commander itself: for every command of the real table, many command
 * lines (each flag in each form and place, odd values, errors) go through both. Where parse.ts
 * takes a line, commander must call the same action with the same arguments and options; where
 * it declines, commander must refuse the line (help, usage error) — so no line that runs is ever
 * slowed down or parsed differently.
 */
import assert from "node:assert/strict";
import { CommanderError } from "@commander-js/extra-typings";
import { buildProgram } from "../../src/cli/program.ts";
import { toCommander } from "../../src/cli/commander_view.ts";
import { parseCommandLine } from "../../src/cli/parse.ts";
import type { CommandSpec, OptionSpec } from "../../src/cli/spec.ts";
import { denoRuntime, type Runtime } from "../../src/runtime.ts";

interface Call {
  path: string;
  args: unknown[];
  opts: Record<string, unknown>;
  root: Record<string, unknown>;
}

const sink = { write() {}, isTerminal: () => false };
const quiet: Runtime = { ...denoRuntime(), stdout: sink, stderr: sink };

function pathOf(cmd: CommandSpec): string {
  const names: string[] = [];
  for (let c: CommandSpec | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** The real table, its actions replaced by one that records what it was called with. */
function capturingTable(calls: Call[]): CommandSpec {
  const root = buildProgram(quiet, () => {});
  const walk = (cmd: CommandSpec) => {
    if (cmd.actionHandler) {
      const capture = (...all: unknown[]) => {
        const n = cmd.registeredArguments.length;
        calls.push({
          path: pathOf(cmd),
          args: all.slice(0, n),
          opts: { ...(all[n] as Record<string, unknown>) },
          root: { ...root.opts() },
        });
      };
      cmd.actionHandler = capture;
      for (const call of cmd.calls) if (call.method === "action") call.args = [capture];
    }
    cmd.commands.forEach(walk);
  };
  walk(root);
  return root;
}

type Outcome = Call | "refused" | "help" | { error: string };

function ours(argv: string[]): Outcome | undefined {
  const calls: Call[] = [];
  let line;
  try {
    line = parseCommandLine(capturingTable(calls), argv);
  } catch (e) {
    return { error: (e as Error).message };
  }
  if (!line) return undefined;
  if (line.help) return "help";
  const { command, args } = line;
  command.actionHandler!(...args, command.opts(), command);
  assert.equal(calls.length, 1);
  return calls[0];
}

async function commanders(argv: string[]): Promise<Outcome> {
  const calls: Call[] = [];
  const program = toCommander(capturingTable(calls));
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === "commander.helpDisplayed" ? "help" : "refused";
    }
    // A flag parser of ours (e.g. -v) refusing a value: both paths must throw it.
    return { error: (e as Error).message };
  }
  assert.equal(calls.length, 1, `commander ran ${calls.length} actions for ${argv.join(" ")}`);
  return calls[0];
}

function leaves(cmd: CommandSpec, out: CommandSpec[] = []): CommandSpec[] {
  if (cmd.actionHandler) out.push(cmd);
  cmd.commands.forEach((c) => leaves(c, out));
  return out;
}

function valueForms(option: OptionSpec, value: string): string[][] {
  const forms: string[][] = [];
  for (const flag of [option.long, option.short]) {
    if (!flag) continue;
    if (option.required || option.optional) {
      forms.push([flag, value]);
      if (flag.startsWith("--")) forms.push([`${flag}=${value}`]);
      else forms.push([`${flag}${value}`]);
    } else forms.push([flag]);
  }
  return forms;
}

/** Command lines for one command: its own and the global flags in each form, before and after. */
function linesFor(cmd: CommandSpec, root: CommandSpec): string[][] {
  const path = pathOf(cmd).split(" ");
  const required = cmd.registeredArguments.filter((a) => a.required).map((_, i) => `arg${i}`);
  const base = [...path, ...required];
  const lines: string[][] = [base];
  // Optional arguments, one past the end, and a "-" argument.
  lines.push([...path, ...cmd.registeredArguments.map((_, i) => `a${i}`)]);
  lines.push([...path, ...cmd.registeredArguments.map((_, i) => `a${i}`), "extra"]);
  lines.push([...path, "-", ...required.slice(1)]);
  const values = ["v1", "-x", "-1", "", "a=b", "--token"];
  for (const option of cmd.options) {
    for (const value of values) {
      for (const form of valueForms(option, value)) {
        lines.push([...base, ...form]);
        lines.push([...path, ...form, ...required]);
      }
    }
    // Given twice: the last wins, or a repeatable flag collects.
    for (const form of valueForms(option, "w")) lines.push([...base, ...form, ...form]);
  }
  for (const option of root.options) {
    for (const value of ["g1", "-y", "=3", "7"]) {
      for (const form of valueForms(option, value)) {
        lines.push([...form, ...base]);
        lines.push([...base, ...form]);
      }
    }
  }
  // Short flags grouped, unknown flags, help, version, "--", a missing value.
  const booleans = cmd.options.filter((o) => o.isBoolean() && o.short).map((o) => o.short![1]);
  if (booleans.length) lines.push([...base, `-${booleans.join("")}`]);
  lines.push([...base, "--no-such-flag"], [...base, "-Z"], [...base, "-h"], [...base, "--help"]);
  lines.push([...base, "--version"], [...base, "--", "x"], ["-n"], [...base, "-n"]);
  lines.push(["--namespace", "ns", ...base, "--namespace=other"]);
  return lines;
}

Deno.test("parseCommandLine() runs every line that commander runs, the same way, and only those", async (t) => {
  const root = buildProgram(quiet, () => {});
  const all = leaves(root).flatMap((cmd) => linesFor(cmd, root));
  all.push(["frob"], [], ["bootstrap"], ["completion"], ["bootstrap", "frob"], [
    "-v",
    "x",
    "version",
  ]);
  assert.ok(all.length > 500, `only ${all.length} lines`);
  let taken = 0;
  for (const argv of all) {
    const mine = ours(argv);
    const theirs = await commanders(argv);
    const name = JSON.stringify(argv);
    if (mine === undefined) {
      // Declined: commander must refuse it too, except after "--" (rare; commander runs it).
      if (!argv.includes("--")) assert.equal(theirs, "refused", `${name}: commander ran it`);
    } else {
      taken++;
      assert.deepEqual(mine, theirs, name);
    }
  }
  // Most lines run without commander.
  assert.ok(taken > all.length / 2, `${taken} of ${all.length} taken`);
  await t.step("a usage error of a flag parser is thrown on both paths", async () => {
    const error = { error: 'Invalid value "x" for flag -v: expected a number' };
    assert.deepEqual(ours(["-v", "x", "version"]), error);
    assert.deepEqual(await commanders(["-v", "x", "version"]), error);
  });
});

Deno.test("a table whose commands load lazily parses every line as the whole table does", () => {
  const eager = buildProgram(quiet, () => {});
  const all = leaves(eager).flatMap((cmd) => linesFor(cmd, eager));
  all.push(["frob"], [], ["bootstrap"], ["request", "sa"], ["list", "-A"], ["usage", "serve"]);
  const outcome = (root: CommandSpec, argv: string[]) => {
    try {
      const line = parseCommandLine(root, argv);
      if (!line) return undefined;
      return {
        path: pathOf(line.command),
        args: line.args,
        help: line.help ?? false,
        opts: line.command.opts(),
        root: root.opts(),
      };
    } catch (e) {
      return { error: (e as Error).message };
    }
  };
  let parsed = 0;
  for (const argv of all) {
    const theirs = outcome(buildProgram(quiet, () => {}), argv);
    const mine = outcome(buildProgram(quiet, () => {}, { lazy: true }), argv);
    assert.deepEqual(mine, theirs, JSON.stringify(argv));
    if (theirs && !("error" in theirs)) parsed++;
  }
  assert.ok(parsed > all.length / 2, `${parsed} of ${all.length} parsed`);
});

Deno.test("a lazy command slot that registers other names than it declares is a programming error", () => {
  const root = buildProgram(quiet, () => {}, { lazy: true });
  root.lazyCommand(["frob"], () => root.command("frobnicate"));
  assert.throws(() => root.findCommand("frob"), /lazy command "frob" registered \[frobnicate\]/);
});
