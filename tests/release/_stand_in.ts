/** A stand-in for `deno compile`, so that everything after the compile step is tested here. */
import type { Compiler } from "../../scripts/release.ts";
import { V8_FLAGS } from "../../scripts/v8_flags.ts";

/**
 * Writes, in place of each target's binary, a launcher that runs the real bundle with the
 * project's Deno: the archives, checksums and manifest are then built from it exactly as from a
 * compiled binary, and the installed plugin really runs.
 */
export const standInCompiler: Compiler = async (_target, entry, output) => {
  const script =
    `#!/bin/sh\n# stand-in for a compiled kubectl-token\nexec '${Deno.execPath()}' run ` +
    `--allow-all --no-prompt --quiet --no-config --no-lock --v8-flags=${V8_FLAGS} '${entry}' "$@"\n`;
  await Deno.writeTextFile(output, script, { mode: 0o755 });
};

/** Run a command; returns its exit code and output as text. */
export async function sh(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; clearEnv?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(command, {
    args,
    stdout: "piped",
    stderr: "piped",
    ...options,
  })
    .output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}
