import assert from "node:assert/strict";
import { staticGraph as graphOf } from "../_graph.ts";

const staticGraph = async (entry: string) => [
  ...await graphOf(import.meta.url, [`../../${entry}`]),
];

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
