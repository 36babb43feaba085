/**
 * src/cli/help.ts against commander: the help of every command of the real table, at several
 * terminal widths, must be byte for byte what commander prints for it.
 */
import assert from "node:assert/strict";
import type { Command } from "@commander-js/extra-typings";
import { buildProgram } from "../../src/cli/program.ts";
import { toCommander } from "../../src/cli/commander_view.ts";
import { renderHelp } from "../../src/cli/help.ts";
import type { CommandSpec } from "../../src/cli/spec.ts";
import { denoRuntime } from "../../src/runtime.ts";
import { main } from "../../src/main.ts";

// deno-lint-ignore no-explicit-any
type AnyCommand = Command<any, any, any>;

function pairs(spec: CommandSpec, cmd: AnyCommand, out: [CommandSpec, AnyCommand][] = []) {
  out.push([spec, cmd]);
  spec.commands.forEach((s, i) => pairs(s, cmd.commands[i] as AnyCommand, out));
  return out;
}

function commandersHelp(cmd: AnyCommand, width: number | undefined): string {
  let text = "";
  cmd.configureOutput({
    writeOut: (s) => text += s,
    writeErr: (s) => text += s,
    getOutHelpWidth: () => width as number, // commander itself passes undefined off a terminal
  });
  cmd.outputHelp();
  return text;
}

Deno.test("renderHelp() prints every command's help as commander does, at every width", async (t) => {
  const spec = buildProgram(denoRuntime(), () => {});
  const all = pairs(spec, toCommander(buildProgram(denoRuntime(), () => {})));
  assert.ok(all.length > 15);
  for (const width of [undefined, 40, 60, 80, 120, 250]) {
    await t.step(`width ${width ?? "default"}`, () => {
      for (const [s, c] of all) {
        assert.equal(renderHelp(s, width), commandersHelp(c, width), c.name());
      }
    });
  }
});

Deno.test("main() prints help without commander for -h and --help wherever commander would", async (t) => {
  // commander shows the help of the command where dispatch stops: "-h create" stops at the root.
  const cases: [string[], string[]][] = [
    [["--help"], []],
    [["create", "-h"], ["create"]],
    [["-h", "create"], []],
    [["bootstrap", "list", "--help"], ["bootstrap", "list"]],
    [["create", "--bogus", "-h"], ["create"]],
  ];
  for (const [args, path] of cases) {
    await t.step(args.join(" "), async () => {
      let out = "";
      const runtime = {
        ...denoRuntime(),
        stdout: { write: (s: string | Uint8Array) => void (out += s), isTerminal: () => false },
      };
      assert.equal(await main(args, runtime), 0);
      let spec = buildProgram(denoRuntime(), () => {});
      for (const name of path) spec = spec.findCommand(name)!;
      assert.equal(out, renderHelp(spec));
      // And it is commander's text for that command.
      let cmd = toCommander(buildProgram(denoRuntime(), () => {}));
      for (const name of path) cmd = cmd.commands.find((c) => c.name() === name) as AnyCommand;
      assert.equal(out, commandersHelp(cmd, undefined));
    });
  }
});
