import assert from "node:assert/strict";
import { parseFastPath } from "../../src/cli/fast_path.ts";

Deno.test("parseFastPath() takes exec-credential lines of plain long flags", () => {
  assert.deepEqual(
    parseFastPath([
      "exec-credential",
      "--service-account",
      "ci/deployer",
      "--context=admin",
      "--audience",
      "a",
      "--audience=b",
      "--duration",
      "1h",
      "--as-group",
      "g1",
      "--insecure-skip-tls-verify",
    ]),
    {
      command: "exec-credential",
      flags: {
        asGroups: ["g1"],
        requestTimeout: "0",
        context: "admin",
        insecureSkipTlsVerify: true,
      },
      options: {
        serviceAccount: "ci/deployer",
        audience: ["a", "b"],
        duration: "1h",
        clear: undefined,
      },
    },
  );
});

Deno.test("parseFastPath() takes decode with a token or standard input", () => {
  assert.deepEqual(parseFastPath(["decode", "-", "--verify", "--kubeconfig", "/k"]), {
    command: "decode",
    flags: { asGroups: [], requestTimeout: "0", kubeconfig: "/k" },
    options: { token: "-", verify: true, jwks: undefined, leeway: undefined, output: "text" },
  });
  assert.deepEqual(parseFastPath(["decode"])?.options, {
    token: undefined,
    verify: false,
    jwks: undefined,
    leeway: undefined,
    output: "text",
  });
});

Deno.test("parseFastPath() takes decode --leeway in both forms", async (t) => {
  for (const args of [["--leeway", "30s"], ["--leeway=30s"]]) {
    await t.step(args.join(" "), () => {
      assert.deepEqual(parseFastPath(["decode", "Bearer x.y.z", "--verify", ...args])?.options, {
        token: "Bearer x.y.z",
        verify: true,
        jwks: undefined,
        leeway: "30s",
        output: "text",
      });
    });
  }
});

Deno.test("parseFastPath() leaves everything unusual to commander", async (t) => {
  const cases: [string, string[]][] = [
    ["another command", ["create", "sa"]],
    ["no command", []],
    ["help", ["exec-credential", "--help"]],
    ["a short flag", ["decode", "-o", "json", "x"]],
    ["a verbosity flag", ["exec-credential", "--service-account", "a/b", "-v=6"]],
    ["a long verbosity flag", ["exec-credential", "--service-account", "a/b", "--v=6"]],
    ["an unknown flag", ["exec-credential", "--service-acount", "a/b"]],
    ["a flag of another command", ["decode", "--service-account", "a/b", "x"]],
    ["a missing value", ["exec-credential", "--service-account"]],
    ["a value that looks like a flag", ["exec-credential", "--context", "--clear"]],
    ["a value on a boolean flag", ["exec-credential", "--clear=true"]],
    ["too many arguments", ["decode", "a", "b"]],
    ["an argument to exec-credential", ["exec-credential", "x"]],
    ["an end of flags marker", ["decode", "--", "x"]],
  ];
  for (const [name, args] of cases) {
    await t.step(name, () => assert.equal(parseFastPath(args), undefined));
  }
});
