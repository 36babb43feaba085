/**
 * `deno task bundle`: the minified program used by the local install and by the tests, split so
 * that `--help` and `decode` never load the code of commands that talk to a cluster.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Bundle mod.ts into `outDir` (default dist/); returns the entry file's path. */
export async function bundle(outDir = join(root, "dist")): Promise<string> {
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--minify",
      "--code-splitting",
      "--platform",
      "deno",
      "--frozen",
      "--outdir",
      outDir,
      join(root, "mod.ts"),
    ],
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`deno bundle failed with exit code ${out.code}`);
  return join(outDir, "mod.js");
}

if (import.meta.main) {
  const entry = await bundle(Deno.args[0]);
  console.log(entry);
}
