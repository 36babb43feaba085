import assert from "node:assert/strict";
import { Command, Option } from "@commander-js/extra-typings";
import { buildProgram } from "../../src/cli/program.ts";
import { toCommander } from "../../src/cli/commander_view.ts";
import {
  complete,
  completionRuleProblems,
  type CompletionSource,
  type ValueKind,
} from "../../src/cli/complete.ts";
import { Complete, completes } from "../../src/cli/completion_rules.ts";
import { denoRuntime } from "../../src/runtime.ts";

Deno.test("every argument and every flag taking a value of every command has a completion rule", () => {
  const program = toCommander(buildProgram(denoRuntime(), () => {}));
  const problems = completionRuleProblems(program);
  assert.deepEqual(problems, [], `\n${problems.join("\n")}\n`);
});

Deno.test("completionRuleProblems() names what lacks a rule and rules that cannot work", () => {
  const program = new Command().name("kubectl token").option("--context <name>");
  const cmd = program.command("rotate")
    .argument("[TARGET]")
    .argument("[NAME]")
    .option("--grace <duration>")
    .option("--output <format>", "Output format")
    .option("--dry-run");
  completes(cmd, {
    args: {
      TARGET: Complete.values("secret"),
      NAME: Complete.byArg("KIND", {}),
      EXTRA: Complete.none,
    },
    flags: { "--output": Complete.fromHelp, "--dry-run": Complete.none, "--gone": Complete.none },
  });
  const group = program.command("bootstrap");
  group.command("delete").argument("<ID...>");
  group.command("create")
    .option("--ttl <duration>")
    .option("--usages <u>", "Usages")
    // An option whose choices are its rule needs no entry.
    .addOption(new Option("--mode <m>").choices(["a", "b"]));
  assert.deepEqual(completionRuleProblems(program), [
    'kubectl token: flag --context has no completion rule: add "--context": Complete.<rule> (Complete.none for none) to flags of completes() in src/cli/program.ts',
    "kubectl token rotate: argument NAME: chosen by argument KIND, which the command does not have",
    'kubectl token rotate: flag --grace has no completion rule: add "--grace": Complete.<rule> (Complete.none for none) to flags of completes() in src/cli/rotate_command.ts',
    "kubectl token rotate: flag --output: Complete.fromHelp, but its help lists no values after a colon",
    "kubectl token rotate: completion rule for argument EXTRA, which it does not have",
    "kubectl token rotate: completion rule for flag --dry-run, which takes no value",
    "kubectl token rotate: completion rule for flag --gone, which it does not have",
    "kubectl token bootstrap delete: argument ID has no completion rule: add args: { ID: Complete.<rule> } (Complete.none for none) to completes() in src/cli/bootstrap_command.ts",
    'kubectl token bootstrap create: flag --ttl has no completion rule: add "--ttl": Complete.<rule> (Complete.none for none) to flags of completes() in src/cli/bootstrap_command.ts',
    'kubectl token bootstrap create: flag --usages has no completion rule: add "--usages": Complete.<rule> (Complete.none for none) to flags of completes() in src/cli/bootstrap_command.ts',
  ]);
});

/** A source answering from a table, recording what it was asked. */
function tableSource(names: Partial<Record<ValueKind, Record<string, string[]>>>) {
  const asked: string[] = [];
  const source: CompletionSource = {
    list(kind, flags, { name } = {}) {
      const ns = flags["namespace"] ?? "default";
      asked.push(`${kind} ${ns}${name ? ` ${name}` : ""}`);
      return Promise.resolve((names[kind]?.[name ?? ns] ?? []).map((value) => ({ value })));
    },
  };
  return { source, asked };
}

Deno.test("complete() follows the rules of the real program", async (t) => {
  const program = toCommander(buildProgram(denoRuntime(), () => {}));
  const { source, asked } = tableSource({
    namespaces: { default: ["ci", "default"] },
    serviceaccounts: { ci: ["robot", "deployer"], default: ["builder"] },
    "bootstrap-token-ids": { default: ["abcdef", "ghijkl"] },
    "pod-uid": { web: ["0b5e-uid"] },
  });
  const cases: [string[], string[], number][] = [
    [["revoke", ""], ["secret", "bootstrap", "token", "issued"], 4],
    [["rotate", ""], ["secret", "bootstrap"], 4],
    [["revoke", "token", ""], [], 4],
    // A variadic argument does not offer what it was given already.
    [["bootstrap", "delete", "abcdef", ""], ["ghijkl"], 4],
    // NAMESPACE/ first (no space after it), then the names in that namespace.
    [["exec-credential", "--service-account", ""], ["ci/", "default/"], 6],
    [["exec-credential", "--service-account=c"], ["--service-account=ci/"], 6],
    [["exec-credential", "--service-account", "ci/"], ["ci/robot", "ci/deployer"], 4],
    [["kubeconfig", ""], ["builder", "ci/", "default/"], 6],
    [["kubeconfig", "bu"], ["builder"], 4],
    [[
      "create",
      "--bound-object-kind",
      "Pod",
      "--bound-object-name",
      "web",
      "--bound-object-uid",
      "",
    ], [
      "0b5e-uid",
    ], 4],
    [["create", "--bound-object-uid", ""], [], 4],
    [["audit", "--fail-on", "h"], ["high"], 4],
    [["scope", "-o", ""], ["wide", "json", "yaml"], 4],
    [["bootstrap", "create", "--usages", ""], ["signing", "authentication"], 4],
    [["bootstrap", "create", "--ttl", ""], [], 4],
    [["completion", "install", "--dir", ""], [], 0],
  ];
  for (const [words, expected, directive] of cases) {
    await t.step(JSON.stringify(words), async () => {
      const got = await complete(program, words, source);
      assert.deepEqual(got.candidates.map((c) => c.value), expected);
      assert.equal(got.directive, directive);
    });
  }
  assert.ok(asked.includes("serviceaccounts ci"), asked.join(", "));
});

Deno.test("complete() offers nothing, without file completion, when a lookup fails", async () => {
  const program = toCommander(buildProgram(denoRuntime(), () => {}));
  const failing: CompletionSource = { list: () => Promise.reject(new Error("connection refused")) };
  for (const words of [["revoke", "secret", ""], ["kubeconfig", "ci/"], ["-n", ""]]) {
    assert.deepEqual(await complete(program, words, failing), { candidates: [], directive: 4 });
  }
});
