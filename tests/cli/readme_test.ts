/**
 * The README's flag lists and the command table agree: every flag of every command is
 * documented in the README (by its long or short form), and every flag the README names is one
 * of the table's or of the other programs it documents (the install and release scripts,
 * kube-apiserver's audit flags).
 */
import assert from "node:assert/strict";
import { buildProgram } from "../../src/cli/program.ts";
import type { CommandSpec } from "../../src/cli/spec.ts";
import { denoRuntime } from "../../src/runtime.ts";

const README = await Deno.readTextFile(new URL("../../README.md", import.meta.url));

/** Flags the README names that belong to other programs. */
const OTHERS = new Set([
  // scripts/install.ts and scripts/release.ts
  "--bin-dir",
  "--manifest",
  "--archive",
  "--base-url",
  "--out-dir",
  // kube-apiserver, in the audit policy section
  "--audit-webhook-config-file",
  "--audit-log-path",
  "--audit-policy-file",
]);

function commands(cmd: CommandSpec, out: CommandSpec[] = []): CommandSpec[] {
  out.push(cmd);
  cmd.commands.forEach((c) => commands(c, out));
  return out;
}

function pathOf(cmd: CommandSpec): string {
  const names: string[] = [];
  for (let c: CommandSpec | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ") || "(global)";
}

const all = commands(buildProgram(denoRuntime(), () => {}));

Deno.test("every flag of the command table is documented in the README", () => {
  const documented = (flag: string | undefined) =>
    flag !== undefined && new RegExp(`(?<![\\w-])${flag}(?![\\w-])`).test(README);
  const missing = all.flatMap((cmd) =>
    cmd.options.filter((o) => !o.hidden && !documented(o.long) && !documented(o.short))
      .map((o) => `${pathOf(cmd)} ${o.flags}`)
  );
  assert.deepEqual(missing, []);
});

Deno.test("every flag the README names is a flag of the table or of a program it documents", () => {
  const known = new Set(["--help", ...OTHERS]);
  for (const cmd of all) {
    for (const o of [...cmd.options, ...(cmd.versionOption ? [cmd.versionOption] : [])]) {
      if (o.long) known.add(o.long);
    }
  }
  const named = new Set([...README.matchAll(/(?<![\w-])--[a-z][a-z0-9-]+/g)].map((m) => m[0]));
  assert.deepEqual([...named].filter((f) => !known.has(f)), []);
});
