import assert from "node:assert/strict";
import { join } from "node:path";
import { pluginBinDir, runInProcess, runKubectl } from "./_cli.ts";
import {
  adminUser,
  clusterEntry,
  create,
  freshNamespace,
  legacyToken,
  writeKubeconfig,
} from "./_cluster.ts";
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
      const r = await runInProcess(["__complete", ...words]);
      assert.equal(r.code, 0, r.stderr);
      const got = parse(r.stdout);
      assert.deepEqual(got.values.filter((v) => expected.includes(v)), expected);
      if (expected.length === 1 || expected.length === 0) assert.deepEqual(got.values, expected);
      assert.equal(got.directive, directive);
    });
  }
  await t.step("global flags are offered inside commands, with descriptions", async () => {
    const r = await runInProcess(["__complete", "create", "--"]);
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
      const { values } = parse(
        (await runInProcess(["__complete", "create", "-n", ""], { env })).stdout,
      );
      assert.ok(values.includes(ns) && values.includes("default"), values.join(" "));
    });
    await t.step("service accounts of the namespace for create's SA", async () => {
      const r = await runInProcess(["__complete", "create", "-n", ns, ""], { env });
      assert.ok(parse(r.stdout).values.includes("robot"), r.stdout);
      const prefixed = await runInProcess(["__complete", "create", `--namespace=${ns}`, "ro"], {
        env,
      });
      assert.deepEqual(parse(prefixed.stdout).values, ["robot"]);
    });
    await t.step("Secrets for --bound-object-name with --bound-object-kind Secret", async () => {
      const r = await runInProcess([
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
      const r = await runInProcess(["__complete", "--kubeconfig", kubeconfig, "--context", ""]);
      await Deno.remove(kubeconfig);
      assert.deepEqual(parse(r.stdout).values, ["prod", "staging"]);
    });
    await t.step({
      name: "a cluster that does not answer gives nothing, quickly",
      ignore: !target.local,
      fn: async () => {
        target.local!.injectFault({ kind: "delay", ms: 20_000, times: 5 });
        const started = performance.now();
        const r = await runInProcess(["__complete", "create", "-n", ""], { env });
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(parse(r.stdout), { values: [], directive: 4 });
        assert.ok(performance.now() - started < 15_000, "completion waited for the cluster");
      },
    });
  } finally {
    await target.close();
  }
});

/** A PATH whose kubectl-token has kubectl's completion helper beside it, and a cleanup. */
async function helperPath(): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-helper-" });
  await Deno.copyFile(join(await pluginBinDir(), "kubectl-token"), join(dir, "kubectl-token"));
  const r = await runInProcess(["completion", "install", "--dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  return {
    path: `${dir}:${Deno.env.get("PATH")}`,
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test("kubectl token <TAB> completes every argument that names a cluster object", async (t) => {
  const target = await startTarget();
  const helper = await helperPath();
  try {
    const ns = await freshNamespace(target, "compl");
    const legacy = await legacyToken(target, ns, "robot");
    const anchor = await create(target, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "anchor", namespace: ns },
      type: "Opaque",
    });
    const id = crypto.randomUUID().replaceAll("-", "").slice(0, 6);
    const secretPart = "0123456789abcdef";
    await create(target, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: `bootstrap-token-${id}`, namespace: "kube-system" },
      type: "bootstrap.kubernetes.io/token",
      stringData: { "token-id": id, "token-secret": secretPart },
    });
    const inNamespace = await writeKubeconfig(
      await clusterEntry(target),
      await adminUser(target),
      ns,
    );
    const env = { KUBECONFIG: target.kubeconfig, PATH: helper.path };

    /** kubectl's own `__complete` for `kubectl token WORDS...`. */
    const tab = async (words: string[], extra: Record<string, string> = {}) => {
      const r = await runKubectl(["__complete", "token", ...words], { env: { ...env, ...extra } });
      assert.equal(r.code, 0, r.stderr);
      // Only the protocol: never a token, not even the bootstrap token's secret part.
      assert.ok(!r.stdout.includes(legacy.token) && !r.stdout.includes(secretPart), r.stdout);
      return parse(r.stdout);
    };

    // [words, values that must be offered, values that must not, directive]
    const cases: [string[], string[], string[], number][] = [
      [["revoke", "bootstrap", ""], [id], [], 4],
      [["bootstrap", "delete", ""], [id], [], 4],
      [["bootstrap", "delete", id, ""], [], [id], 4],
      [["rotate", "bootstrap", id.slice(0, 3)], [id], [], 4],
      [["revoke", "secret", "-n", ns, ""], [legacy.name], ["anchor"], 4],
      [["rotate", "secret", `--namespace=${ns}`, ""], [legacy.name], ["anchor"], 4],
      [["kubeconfig", `${ns}/`], [`${ns}/robot`], [], 4],
      [["kubeconfig", ns.slice(0, 8)], [`${ns}/`], [], 6],
      [["exec-credential", "--service-account", ""], [`${ns}/`, "default/"], [], 6],
      [["exec-credential", "--service-account", `${ns}/r`], [`${ns}/robot`], [], 4],
      [["rotate", "--service-account", `${ns}/`], [`${ns}/robot`], [], 4],
      [
        ["create", "-n", ns, "--bound-object-kind", "Secret", "--bound-object-name", ""],
        [
          "anchor",
          legacy.name,
        ],
        [],
        4,
      ],
      [
        [
          "create",
          "-n",
          ns,
          "--bound-object-kind",
          "Secret",
          "--bound-object-name",
          "anchor",
          "--bound-object-uid",
          "",
        ],
        [anchor.metadata.uid],
        [],
        4,
      ],
      [["audit", "--fail-on", ""], ["info", "low", "medium", "high", "critical"], [], 4],
      [["-n", ""], [ns, "kube-system"], [], 4],
    ];
    for (const [words, offered, absent, directive] of cases) {
      await t.step(words.join(" "), async () => {
        const got = await tab(words);
        for (const v of offered) assert.ok(got.values.includes(v), `${v} in ${got.values}`);
        for (const v of absent) assert.ok(!got.values.includes(v), `${v} not in ${got.values}`);
        assert.equal(got.directive, directive);
      });
    }
    await t.step("revoke and rotate offer what they act on", async () => {
      assert.deepEqual(await tab(["revoke", ""]), {
        values: ["secret", "bootstrap", "token", "issued"],
        directive: 4,
      });
      assert.deepEqual(await tab(["rotate", ""]), {
        values: ["secret", "bootstrap"],
        directive: 4,
      });
      assert.deepEqual(await tab(["revoke", "token", ""]), { values: [], directive: 4 });
    });
    await t.step("the namespace of the kubeconfig's context", async () => {
      const got = await tab(["revoke", "secret", ""], { KUBECONFIG: inNamespace });
      assert.ok(got.values.includes(legacy.name), got.values.join(" "));
      assert.ok(!got.values.includes("anchor"), got.values.join(" "));
      const own = await tab(["kubeconfig", "rob"], { KUBECONFIG: inNamespace });
      assert.deepEqual(own, { values: ["robot"], directive: 4 });
    });
    await t.step("an unreachable cluster: nothing, and no file completion", async () => {
      const down = await writeKubeconfig(
        { name: "down", cluster: { server: "https://127.0.0.1:1" } },
        { token: "x" },
      );
      try {
        for (
          const words of [["revoke", "secret", ""], ["bootstrap", "delete", ""], [
            "kubeconfig",
            "ci/",
          ]]
        ) {
          const r = await runKubectl(["__complete", "token", ...words], {
            env: { ...env, KUBECONFIG: down },
          });
          assert.equal(r.stdout, ":4\n", words.join(" "));
        }
      } finally {
        await Deno.remove(down);
      }
    });
    await Deno.remove(inNamespace);
  } finally {
    await helper.remove();
    await target.close();
  }
});

Deno.test("completion without a known shell is a usage error naming the shells", async (t) => {
  for (const args of [["completion"], ["completion", "tcsh"]]) {
    await t.step(args.join(" "), async () => {
      const r = await runInProcess(args);
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
    const d = await runInProcess(["completion", "install", "--dir", other]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stderr, /is not on PATH/);
    assert.ok((await Deno.stat(join(other, "kubectl_complete-token"))).isFile);

    // With a kubectl-token in --dir (deno task install does this), the helper runs that one.
    const beside = join(dir, "beside");
    await Deno.mkdir(beside);
    await Deno.copyFile(join(bin, "kubectl-token"), join(beside, "kubectl-token"));
    assert.equal((await runInProcess(["completion", "install", "--dir", beside])).code, 0);
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
