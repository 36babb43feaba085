import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

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

interface Dependency {
  specifier: string;
  code?: { specifier: string };
  isDynamic?: boolean;
}

/** The modules that `roots` load statically (and through each other), not their dynamic imports. */
async function staticGraph(paths: string[]): Promise<Set<string>> {
  const roots = paths.map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const loaded = new Set<string>();
  for (const root of roots) {
    const info = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", root],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(info.code, 0, new TextDecoder().decode(info.stderr));
    const graph = JSON.parse(new TextDecoder().decode(info.stdout));
    const modules = new Map<string, { dependencies?: Dependency[] }>(
      graph.modules.map((m: { specifier: string }) => [m.specifier, m]),
    );
    const rootSpecifier = graph.roots[0];
    const queue = [rootSpecifier];
    const seen = new Set<string>();
    while (queue.length) {
      const s = queue.pop()!;
      if (seen.has(s)) continue;
      seen.add(s);
      loaded.add(s);
      for (const d of modules.get(s)?.dependencies ?? []) {
        if (d.code && !d.isDynamic) queue.push(d.code.specifier);
      }
    }
  }
  return loaded;
}

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
