/**
 * `deno task bundle`: the minified program used by the local install, by the tests and by
 * `deno compile`, split so that `--help` and `decode` never load the code of commands that talk
 * to a cluster. The build's git commit is stamped into it (see src/version.ts).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The placeholder in src/version.ts that the bundle's commit replaces. */
export const COMMIT_STAMP = "@@KUBECTL_TOKEN_BUILD_COMMIT@@";

/** Options of {@link bundle}. */
export interface BundleOptions {
  /** The commit to stamp in; default: KUBECTL_TOKEN_BUILD_COMMIT, else `git rev-parse HEAD`. */
  commit?: string;
  /**
   * For a bundle that `deno run` starts (the launcher of `deno task install`, the benchmarks),
   * not one that `deno compile` embeds: see {@link deferChunks}.
   */
  deferChunks?: boolean;
}

/** The commit this checkout is at ("-dirty" when it has changes), or "unknown" outside git. */
export async function gitCommit(): Promise<string> {
  const fromEnv = Deno.env.get("KUBECTL_TOKEN_BUILD_COMMIT");
  if (fromEnv) return fromEnv;
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", { args, cwd: root, stdout: "piped", stderr: "null" })
      .output().catch(() => undefined);
    return out?.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  };
  const head = await git("rev-parse", "HEAD");
  if (!head) return "unknown";
  const status = await git("status", "--porcelain", "--untracked-files=no");
  return status ? `${head}-dirty` : head;
}

/** Bundle mod.ts into `outDir` (default dist/); returns the entry file's path. */
export async function bundle(
  outDir = join(root, "dist"),
  options: BundleOptions = {},
): Promise<string> {
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
  await stampCommit(outDir, options.commit ?? await gitCommit());
  await lazyRequire(outDir);
  if (options.deferChunks) await deferChunks(outDir);
  return join(outDir, "mod.js");
}

/**
 * `deno run` reads every module that a literal `import("./chunk.js")` can reach before the
 * program starts, so each run opens and analyses all ~100 chunks, the code of every command
 * (about 12 ms on `version` and `--help` here). A specifier that is an expression is resolved
 * only when the import runs: `import("./chunk.js"+"")`. `deno compile` embeds only the modules
 * its graph reaches, so a bundle for it keeps the literals (tests/release/bundle_test.ts checks
 * that every chunk is in that graph). Only imports of files of this bundle are rewritten.
 */
async function deferChunks(outDir: string): Promise<void> {
  const chunks = new Set<string>();
  for await (const entry of Deno.readDir(outDir)) {
    if (entry.isFile && entry.name.endsWith(".js")) chunks.add(entry.name);
  }
  for (const name of chunks) {
    const file = join(outDir, name);
    const text = await Deno.readTextFile(file);
    const deferred = text.replace(
      /\bimport\("\.\/([\w.-]+\.js)"\)/g,
      (all, chunk: string) => chunks.has(chunk) ? `import("./${chunk}"+"")` : all,
    );
    if (deferred !== text) await Deno.writeTextFile(file, deferred);
  }
}

/**
 * `deno bundle` gives CommonJS code (commander, yaml) a `require` made by a static
 * `import { createRequire } from "node:module"` in a helper chunk that every entry loads.
 * Importing `node:module` starts Deno's Node compatibility layer: about 15 ms on every run, also
 * on paths with no CommonJS code at all (`decode`, `exec-credential`). Make that `require`
 * create itself on its first call instead. If a Deno version emits another shape, the bundle
 * is left as it is: slower, still correct.
 */
async function lazyRequire(outDir: string): Promise<void> {
  const banner =
    /import\{createRequire as __deno_internal_createRequire\} from "node:module";var ([\w$]+)=__deno_internal_createRequire\(import\.meta\.url\);/;
  for await (const entry of Deno.readDir(outDir)) {
    if (!entry.isFile || !entry.name.endsWith(".js")) continue;
    const file = join(outDir, entry.name);
    const text = await Deno.readTextFile(file);
    const m = banner.exec(text);
    if (!m) continue;
    const v = m[1];
    const lazy = `var ${v}=(s)=>(${v}.r??=globalThis.process.getBuiltinModule("node:module")` +
      `.createRequire(import.meta.url))(s);`;
    await Deno.writeTextFile(file, text.replace(banner, () => lazy));
  }
}

/** Write `commit` over the placeholder; it must occur exactly once in the bundle. */
async function stampCommit(outDir: string, commit: string): Promise<void> {
  if (!/^[\w.-]+$/.test(commit)) throw new Error(`Invalid build commit "${commit}"`);
  let found = 0;
  for await (const entry of Deno.readDir(outDir)) {
    if (!entry.isFile || !entry.name.endsWith(".js")) continue;
    const file = join(outDir, entry.name);
    const text = await Deno.readTextFile(file);
    const parts = text.split(COMMIT_STAMP);
    if (parts.length === 1) continue;
    found += parts.length - 1;
    await Deno.writeTextFile(file, parts.join(commit));
  }
  if (found !== 1) {
    throw new Error(`Cannot stamp the build commit: found the placeholder ${found} times`);
  }
}

if (import.meta.main) {
  const entry = await bundle(Deno.args[0]);
  console.log(entry);
}
