import assert from "node:assert/strict";

const DENO = new URL("../../node_modules/.bin/deno", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url);

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/** The modules that loading `entry` loads before any of its dynamic imports run. */
async function staticGraph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(DENO, {
    args: ["info", "--json", new URL(entry, ROOT).pathname],
    cwd: ROOT.pathname,
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const visit = (specifier: string) => {
    if (seen.has(specifier)) return;
    seen.add(specifier);
    for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (dep.code && !dep.isDynamic) visit(dep.code.specifier);
    }
  };
  info.roots.forEach(visit);
  return [...seen];
}

Deno.test("the kubeconfig reading path does not load the yaml package before it needs it", async (t) => {
  const entries = [
    "src/kubeconfig/parse.ts",
    "src/kubeconfig/files.ts",
    "src/kubeconfig/resolve.ts",
    "src/kubeconfig/credentials.ts",
    "src/kubeconfig/mod.ts",
    "src/context.ts",
    "src/commands/create.ts",
    "src/commands/whoami.ts",
  ];
  for (const entry of entries) {
    await t.step(entry, async () => {
      const graph = await staticGraph(entry);
      assert.ok(graph.some((s) => s.endsWith(entry)), `the graph of ${entry} holds ${entry}`);
      assert.deepEqual(
        graph.filter((s) =>
          s.includes("/node_modules/yaml/") || s.endsWith("/kubeconfig/_yaml.ts")
        ),
        [],
      );
    });
  }
  await t.step("while the writers load it", async () => {
    const graph = await staticGraph("src/kubeconfig/write.ts");
    assert.ok(graph.some((s) => s.includes("/node_modules/yaml/")));
  });
});
