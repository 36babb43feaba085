import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

interface Dependency {
  specifier: string;
  code?: { specifier: string };
  isDynamic?: boolean;
}

/**
 * The modules that `paths` (relative to `base`, an `import.meta.url`) load statically and
 * through each other, as `deno info` resolves them: dynamic imports are not followed.
 */
export async function staticGraph(base: string, paths: string[]): Promise<Set<string>> {
  const loaded = new Set<string>();
  for (const path of paths) {
    const info = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", fileURLToPath(new URL(path, base))],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(info.code, 0, new TextDecoder().decode(info.stderr));
    const graph = JSON.parse(new TextDecoder().decode(info.stdout));
    const modules = new Map<string, { dependencies?: Dependency[] }>(
      graph.modules.map((m: { specifier: string }) => [m.specifier, m]),
    );
    const queue: string[] = [graph.roots[0]];
    while (queue.length) {
      const s = queue.pop()!;
      if (loaded.has(s)) continue;
      loaded.add(s);
      for (const d of modules.get(s)?.dependencies ?? []) {
        if (d.code && !d.isDynamic) queue.push(d.code.specifier);
      }
    }
  }
  return loaded;
}
