import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import { runCli, runKubectl } from "./_cli.ts";

Deno.test("kubectl token --help lists the commands with examples", async () => {
  const r = await runKubectl(["token", "--help"]);
  assert.equal(r.code, 0, r.stderr);
  for (const word of ["create", "decode", "whoami", "version", "--kubeconfig", "Examples:"]) {
    assert.match(r.stdout, new RegExp(word));
  }
});

Deno.test("each command's --help shows its flags and examples", async (t) => {
  for (
    const [cmd, flag] of [
      ["create", "--bound-object-kind"],
      ["decode", "--verify"],
      ["whoami", "--output"],
    ]
  ) {
    await t.step(cmd, async () => {
      const r = await runCli([cmd, "--help"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(flag));
      assert.match(r.stdout, /Examples:/);
    });
  }
});

Deno.test("kubectl token version prints the version from deno.json", async () => {
  const r = await runKubectl(["token", "version"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `kubectl-token v${denoJson.version}\n`);
  const j = await runCli(["version", "-o", "json"]);
  assert.equal(JSON.parse(j.stdout).version, `v${denoJson.version}`);
});

Deno.test("usage errors exit 2 with one line that names the flag", async (t) => {
  const cases: [string[], RegExp][] = [
    [["create", "default", "--bound-object-name", "x"], /--bound-object-name/],
    [["create", "default", "--duration", "90x"], /--duration/],
    [["create", "default", "--duration", "1.5s"], /--duration/],
    [
      ["create", "default", "--bound-object-kind", "Deployment", "--bound-object-name", "x"],
      /--bound-object-kind/,
    ],
    [["create", "default", "-o", "table"], /--output/],
    [["whoami", "--no-such-flag"], /no-such-flag/],
    [["decode", "--jwks", "x.json", "a.b.c"], /--jwks/],
    [["nosuchcommand"], /nosuchcommand/],
  ];
  for (const [args, re] of cases) {
    await t.step(args.join(" "), async () => {
      const r = await runCli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /\s+at\s/);
    });
  }
});

Deno.test("with no configuration at all the error says so and does not try localhost:8080", async () => {
  const r = await runCli(["whoami"]);
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.stderr, /8080/);
  assert.match(r.stderr, /configuration|kubeconfig/i);
  assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
});
