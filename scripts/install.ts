/**
 * `deno task install [--bin-dir DIR]`: bundle the program and put a `kubectl-token` launcher
 * on PATH, so that `kubectl token ...` finds it through kubectl's plugin discovery. Works offline.
 *
 * The launcher calls this Deno binary by absolute path, so it works where `deno` is not on
 * PATH (Deno comes from npm here, under node_modules).
 */
import { delimiter, join } from "node:path";
import { bundle } from "./bundle.ts";
import { V8_FLAGS } from "./v8_flags.ts";

/** Write the launcher for `entry` into `binDir`; returns its path. */
export async function writeLauncher(binDir: string, entry: string): Promise<string> {
  await Deno.mkdir(binDir, { recursive: true });
  const path = join(binDir, "kubectl-token");
  const script = `#!/bin/sh
# kubectl-token launcher written by 'deno task install'
exec '${Deno.execPath()}' run --allow-all --no-prompt --quiet --no-config --no-lock --v8-flags=${V8_FLAGS} '${entry}' "$@"
`;
  const tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(tmp, script, { mode: 0o755 });
  await Deno.rename(tmp, path);
  return path;
}

function defaultBinDir(): string {
  const home = Deno.env.get("HOME") ?? "/root";
  const path = (Deno.env.get("PATH") ?? "").split(delimiter);
  // Prefer a folder already on PATH that we may write to.
  for (const dir of [join(home, ".local", "bin"), "/usr/local/bin"]) {
    if (path.includes(dir)) {
      try {
        Deno.mkdirSync(dir, { recursive: true });
        const probe = join(dir, `.kubectl-token-probe-${Deno.pid}`);
        Deno.writeTextFileSync(probe, "");
        Deno.removeSync(probe);
        return dir;
      } catch {
        continue;
      }
    }
  }
  return join(home, ".local", "bin");
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--bin-dir");
  const binDir = i >= 0
    ? Deno.args[i + 1]
    : Deno.env.get("KUBECTL_TOKEN_BIN_DIR") ?? defaultBinDir();
  // The program lives outside the checkout, so the launcher keeps working if the checkout moves.
  const home = Deno.env.get("HOME") ?? "/root";
  const dataDir = join(
    Deno.env.get("XDG_DATA_HOME") ?? join(home, ".local", "share"),
    "kubectl-token",
  );
  const entry = await bundle(join(dataDir, "dist"), { deferChunks: true });
  const launcher = await writeLauncher(binDir, entry);
  console.log(`installed ${launcher}`);
  // kubectl's completion of "kubectl token <TAB>" asks kubectl_complete-token beside it.
  const helper = await new Deno.Command(launcher, {
    args: ["completion", "install", "--dir", binDir],
    stdout: "null",
    stderr: "null",
  }).output();
  if (helper.success) console.log(`installed ${join(binDir, "kubectl_complete-token")}`);
  const onPath = (Deno.env.get("PATH") ?? "").split(delimiter).includes(binDir);
  if (!onPath) console.log(`add ${binDir} to PATH to run "kubectl token ..."`);
}
