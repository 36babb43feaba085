import assert from "node:assert/strict";
import { join } from "node:path";
import { Command } from "@commander-js/extra-typings";
import { complete } from "../../src/cli/complete.ts";
import { clusterSource } from "../../src/commands/completion.ts";
import { denoRuntime } from "../../src/runtime.ts";
import { pluginBinDir, runCli, runKubectl } from "./_cli.ts";
import { create, freshNamespace } from "./_cluster.ts";
import { startTarget } from "./_target.ts";

/** The candidates (values only) and the directive of a `__complete` answer. */
function parse(stdout: string): { values: string[]; directive: number } {
  const lines = stdout.trimEnd().split("\n");
  const last = lines.pop() ?? "";
  assert.match(last, /^:\d+$/, stdout);
  return { values: lines.map((l) => l.split("\t")[0]), directive: Number(last.slice(1)) };
}

Deno.test("__complete answers commands, flags and flag values from the command tree", async (t) => {
  const cases: [string[], string[], number][] = [
    [["cr"], ["create"], 4],
    [[""], ["create", "decode", "whoami", "version", "completion"], 4],
    [["completion", ""], ["bash", "zsh", "fish", "powershell", "install"], 4],
    [["create", "--bound-object-k"], ["--bound-object-kind"], 4],
    [["create", "-o", ""], ["token", "json", "yaml", "exec-credential"], 4],
    [["whoami", "--output", "j"], ["json"], 4],
    [["create", "--output=y"], ["--output=yaml"], 4],
    [["create", "--bound-object-kind", ""], ["Pod", "Secret", "Node"], 4],
    [["decode", "--jwks", ""], [], 0],
    [["--kubeconfig", "x", "create", "--dur"], ["--duration"], 4],
  ];
  for (const [words, expected, directive] of cases) {
    await t.step(JSON.stringify(words), async () => {
      const r = await runCli(["__complete", ...words]);
      assert.equal(r.code, 0, r.stderr);
      const got = parse(r.stdout);
      assert.deepEqual(got.values.filter((v) => expected.includes(v)), expected);
      if (expected.length === 1 || expected.length === 0) assert.deepEqual(got.values, expected);
      assert.equal(got.directive, directive);
    });
  }
  await t.step("global flags are offered inside commands, with descriptions", async () => {
    const r = await runCli(["__complete", "create", "--"]);
    assert.match(r.stdout, /^--namespace\tThe namespace scope for this request$/m);
    assert.match(r.stdout, /^--audience\t/m);
  });
});

Deno.test("__complete finds names in the cluster and the kubeconfig", async (t) => {
  const target = await startTarget();
  try {
    const env = { KUBECONFIG: target.kubeconfig };
    const ns = await freshNamespace(target, "compl");
    await create(target, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "anchor", namespace: ns },
      type: "Opaque",
    });

    await t.step("namespaces for -n", async () => {
      const { values } = parse((await runCli(["__complete", "create", "-n", ""], { env })).stdout);
      assert.ok(values.includes(ns) && values.includes("default"), values.join(" "));
    });
    await t.step("service accounts of the namespace for create's SA", async () => {
      const r = await runCli(["__complete", "create", "-n", ns, ""], { env });
      assert.ok(parse(r.stdout).values.includes("robot"), r.stdout);
      const prefixed = await runCli(["__complete", "create", `--namespace=${ns}`, "ro"], { env });
      assert.deepEqual(parse(prefixed.stdout).values, ["robot"]);
    });
    await t.step("Secrets for --bound-object-name with --bound-object-kind Secret", async () => {
      const r = await runCli([
        "__complete",
        "create",
        "-n",
        ns,
        "--bound-object-kind",
        "Secret",
        "--bound-object-name",
        "",
      ], { env });
      assert.ok(parse(r.stdout).values.includes("anchor"), r.stdout);
    });
    await t.step("contexts from the kubeconfig alone, without the cluster", async () => {
      const kubeconfig = await Deno.makeTempFile({ prefix: "kubeconfig-" });
      await Deno.writeTextFile(
        kubeconfig,
        JSON.stringify({
          apiVersion: "v1",
          kind: "Config",
          clusters: [{ name: "far", cluster: { server: "https://192.0.2.1:6443" } }],
          users: [{ name: "u", user: { token: "x" } }],
          contexts: [
            { name: "prod", context: { cluster: "far", user: "u" } },
            { name: "staging", context: { cluster: "far", user: "u" } },
          ],
          "current-context": "prod",
        }),
      );
      const r = await runCli(["__complete", "--kubeconfig", kubeconfig, "--context", ""]);
      await Deno.remove(kubeconfig);
      assert.deepEqual(parse(r.stdout).values, ["prod", "staging"]);
    });
    await t.step("bootstrap token IDs and Secrets for arguments named so", async () => {
      // A command another engineer might add: its argument names pick the completion.
      const id = crypto.randomUUID().replaceAll("-", "").slice(0, 6);
      await create(target, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: `bootstrap-token-${id}`, namespace: "kube-system" },
        type: "bootstrap.kubernetes.io/token",
        stringData: { "token-id": id, "token-secret": "0123456789abcdef" },
      });
      const program = new Command().name("kubectl token")
        .option("--kubeconfig <path>").option("-n, --namespace <ns>");
      program.command("revoke").argument("[TOKEN_ID]");
      program.command("inspect").argument("[SECRET]");
      const source = clusterSource(denoRuntime());
      const ids = await complete(
        program,
        ["revoke", "--kubeconfig", target.kubeconfig, ""],
        source,
      );
      const values = ids.candidates.map((c) => c.value);
      if (target.local) assert.deepEqual(values, [id]);
      else {
        // Other tests on the same real cluster leave their bootstrap tokens in kube-system too.
        target.note("shared kube-system on a real cluster: checking the token is among the IDs");
        assert.ok(values.includes(id), values.join(","));
      }
      const secrets = await complete(
        program,
        ["--kubeconfig", target.kubeconfig, "inspect", "-n", ns, "an"],
        source,
      );
      assert.deepEqual(secrets.candidates.map((c) => c.value), ["anchor"]);
    });
    await t.step("a cluster that does not answer gives nothing, quickly", async () => {
      if (!target.local) {
        target.note("needs the local server's fault injection: step skipped");
        return;
      }
      target.local.injectFault({ kind: "delay", ms: 20_000, times: 5 });
      const started = performance.now();
      const r = await runCli(["__complete", "create", "-n", ""], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parse(r.stdout), { values: [], directive: 4 });
      assert.ok(performance.now() - started < 15_000, "completion waited for the cluster");
    });
  } finally {
    await target.close();
  }
});

Deno.test("completion without a known shell is a usage error naming the shells", async (t) => {
  for (const args of [["completion"], ["completion", "tcsh"]]) {
    await t.step(args.join(" "), async () => {
      const r = await runCli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^error: .*expected bash, zsh, fish, powershell or install\n$/);
    });
  }
});

Deno.test("completion install writes kubectl_complete-token that kubectl uses", async () => {
  const target = await startTarget();
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-helper-" });
  try {
    const env = { KUBECONFIG: target.kubeconfig };
    const bin = join(dir, "bin");
    await Deno.mkdir(bin);
    // A kubectl-token on PATH ahead of the test launcher: install writes the helper beside it.
    await Deno.copyFile(join(await pluginBinDir(), "kubectl-token"), join(bin, "kubectl-token"));
    const path = `${bin}:${Deno.env.get("PATH")}`;
    const r = await runKubectl(["token", "completion", "install"], { env: { ...env, PATH: path } });
    assert.equal(r.code, 0, r.stderr);
    const helper = join(bin, "kubectl_complete-token");
    assert.match(r.stdout, new RegExp(`^Wrote ${helper}: `));
    assert.equal((await Deno.stat(helper)).mode! & 0o777, 0o755);
    // kubectl's own __complete runs the helper for plugin arguments (kubectl 1.26+).
    const k = await runKubectl(["__complete", "token", "cr"], { env: { ...env, PATH: path } });
    assert.equal(k.code, 0, k.stderr);
    assert.match(k.stdout, /^create\t/m);

    const other = join(dir, "other");
    const d = await runCli(["completion", "install", "--dir", other]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stderr, /is not on PATH/);
    assert.ok((await Deno.stat(join(other, "kubectl_complete-token"))).isFile);

    // With a kubectl-token in --dir (deno task install does this), the helper runs that one.
    const beside = join(dir, "beside");
    await Deno.mkdir(beside);
    await Deno.copyFile(join(bin, "kubectl-token"), join(beside, "kubectl-token"));
    assert.equal((await runCli(["completion", "install", "--dir", beside])).code, 0);
    const text = await Deno.readTextFile(join(beside, "kubectl_complete-token"));
    assert.match(
      text,
      new RegExp(`^exec ${join(beside, "kubectl-token")} __complete "\\$@"$`, "m"),
    );
  } finally {
    await target.close();
    await Deno.remove(dir, { recursive: true });
  }
});
