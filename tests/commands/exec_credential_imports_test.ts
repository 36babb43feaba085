import assert from "node:assert/strict";
import { staticGraph as graphOf } from "../_graph.ts";

const staticGraph = (paths: string[]) => graphOf(import.meta.url, paths);

/**
 * The modules a cache hit of `exec-credential` loads: the entry, the command tree, the command,
 * the cache and the kubeconfig resolver (dynamic imports of those are followed; dynamic imports
 * that only a cache miss takes are not).
 */
const HIT_PATH = [
  "../../mod.ts",
  "../../src/commands/exec_credential.ts",
  "../../src/kubeconfig/resolve.ts",
];

Deno.test("the exec-credential cache hit path loads no Kubernetes client, HTTP or JWT library", async () => {
  const loaded = await staticGraph(HIT_PATH);
  const heavy = [...loaded].filter((s) =>
    /@kubernetes\/client-node|node:https|node:http\b|\/jose\/|\/src\/api\//.test(s)
  );
  assert.deepEqual(heavy, []);
  assert.ok([...loaded].some((s) => s.endsWith("/src/tokencache/cache.ts")));
});

Deno.test("a command line that runs loads no commander: only help, usage errors and completion do", async () => {
  // main() imports these two to parse and run every line (src/cli/parse.ts).
  const loaded = await staticGraph(["../../src/cli/program.ts", "../../src/cli/parse.ts"]);
  assert.deepEqual([...loaded].filter((s) => /commander/.test(s)), []);
  assert.ok([...loaded].some((s) => s.endsWith("/src/cli/create_command.ts")));
  // And the view that replays the table onto commander does load it.
  const view = await staticGraph(["../../src/cli/commander_view.ts"]);
  assert.ok([...view].some((s) => /commander/.test(s)));
});
