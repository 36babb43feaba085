import assert from "node:assert/strict";
import { staticGraph } from "../_graph.ts";

// Loading any node:* module starts Deno's Node compatibility layer (node:path alone about
// 9 ms, issue #12): the kubeconfig code and the files it writes must not need one for paths.

Deno.test("src/kubeconfig and src/path load no node:* module", async () => {
  const loaded = await staticGraph(import.meta.url, [
    "../../src/kubeconfig/mod.ts",
    "../../src/path/platform.ts",
  ]);
  assert.deepEqual([...loaded].filter((s) => s.startsWith("node:")), []);
  assert.ok([...loaded].some((s) => s.endsWith("/src/kubeconfig/resolve.ts")));
});

Deno.test("create, whoami and exec-credential load no node:* module before they need one", async () => {
  // The modules these commands reach, with the dynamic imports each one always takes.
  const loaded = await staticGraph(import.meta.url, [
    "../../mod.ts",
    "../../src/cli/program.ts",
    "../../src/cli/parse.ts",
    "../../src/commands/create.ts",
    "../../src/commands/whoami.ts",
    "../../src/commands/exec_credential.ts",
    "../../src/context.ts",
    "../../src/kubeconfig/resolve.ts",
    "../../src/kubeconfig/credentials.ts",
    "../../src/kubeconfig/write.ts",
    "../../src/tokencache/cache.ts",
    "../../src/api/client.ts",
  ]);
  // node:crypto (a client key kubectl's checks cannot prove without it), node:https (a proxy,
  // an SNI override) and the yaml package (a kubeconfig the fast reader declines) are loaded
  // lazily, where they are needed.
  assert.deepEqual([...loaded].filter((s) => s.startsWith("node:")), []);
  assert.ok([...loaded].some((s) => s.endsWith("/src/fs/atomic.ts")));
  assert.ok([...loaded].some((s) => s.endsWith("/src/fs/lock.ts")));
  assert.ok([...loaded].some((s) => s.endsWith("/src/tokencache/_store.ts")));
});
