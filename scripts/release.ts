/**
 * `deno task compile`: the single binary for this machine, `dist/kubectl-token`.
 * `deno task release`: binaries for every target, each packed with LICENSE and README into an
 * archive (tar.gz; zip for Windows) with a `.sha256` file, and `krew/token.yaml` rendered from
 * its template with each platform's URI and checksum.
 *
 * `deno compile` downloads its runtime (denort) from the internet. Where that is unreachable,
 * DENORT_BIN (a denort binary for this machine's target) or a zip already in
 * `$DENO_DIR/dl/release/v<deno>/` is used; otherwise the script stops with one line saying so.
 * The compile step is a parameter of {@link release}, so the rest is tested with a stand-in.
 *
 * Usage: deno run -A scripts/release.ts [--host] [--out-dir DIR] [--manifest FILE]
 *        [--base-url URL] [--version vX.Y.Z]
 */
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import denoJson from "../deno.json" with { type: "json" };
import { bundle } from "./bundle.ts";
import { V8_FLAGS } from "./v8_flags.ts";
import { type ArchiveEntry, tarGz, zip } from "./_archive.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

/** A build target: Deno's target triple and krew's os/arch labels. */
export interface Target {
  triple: string;
  os: "linux" | "darwin" | "windows";
  arch: "amd64" | "arm64";
}

/** The targets of a release, in the order of the manifest. */
export const TARGETS: readonly Target[] = [
  { triple: "x86_64-unknown-linux-gnu", os: "linux", arch: "amd64" },
  { triple: "aarch64-unknown-linux-gnu", os: "linux", arch: "arm64" },
  { triple: "x86_64-apple-darwin", os: "darwin", arch: "amd64" },
  { triple: "aarch64-apple-darwin", os: "darwin", arch: "arm64" },
  { triple: "x86_64-pc-windows-msvc", os: "windows", arch: "amd64" },
];

/** Where releases are downloaded from; the version folder and archive name follow. */
export const DEFAULT_BASE_URL = "https://github.com/kubectl-token/kubectl-token/releases/download";

/** Builds the binary for `target` from the bundle entry `entry` into the file `output`. */
export type Compiler = (target: Target, entry: string, output: string) => Promise<void>;

/** A failure to report as one line (no stack). */
export class ReleaseError extends Error {}

/** The target this machine runs. */
export function hostTarget(): Target {
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "amd64";
  const found = TARGETS.find((t) => t.os === Deno.build.os && t.arch === arch);
  if (!found) throw new ReleaseError(`Cannot compile for "${Deno.build.target}": not a target`);
  return found;
}

/** The name of the binary inside the archive. */
export function binName(target: Target): string {
  return target.os === "windows" ? "kubectl-token.exe" : "kubectl-token";
}

/** The archive's file name: `kubectl-token_v0.1.0_linux_amd64.tar.gz`. */
export function archiveName(version: string, target: Target): string {
  return `kubectl-token_${version}_${target.os}_${target.arch}.${
    target.os === "windows" ? "zip" : "tar.gz"
  }`;
}

/** `deno compile` of the bundle; translates a failed runtime download into one line. */
export const denoCompile: Compiler = async (target, entry, output) => {
  const denort = Deno.env.get("DENORT_BIN");
  // DENORT_BIN is one runtime binary: deno would put it into every target's executable.
  const useDenort = denort !== undefined && target.triple === hostTarget().triple;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      "--quiet",
      "--no-config",
      "--no-lock",
      "--allow-all",
      "--no-prompt",
      `--v8-flags=${V8_FLAGS}`,
      "--target",
      target.triple,
      "--output",
      output,
      entry,
    ],
    env: environment(useDenort ? denort : undefined),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) return;
  // deno-lint-ignore no-control-regex -- strip the colours of deno's message
  const text = new TextDecoder().decode(out.stderr).replace(/\x1b\[[0-9;]*m/g, "");
  // deno's own message: the line after "Caused by:" says what went wrong.
  const cause = /Caused by:\s*\n\s*(?:0: )?(.+)/.exec(text)?.[1] ?? text.trim().split("\n")[0];
  if (useDenort) {
    throw new ReleaseError(
      `Cannot compile for "${target.triple}" with DENORT_BIN "${denort}": ${cause.trim()}`,
    );
  }
  if (/dl\.deno\.land|denort/i.test(text)) {
    const dir = join(await denoDir(), "dl", "release", `v${Deno.version.deno}`);
    const hint = denort !== undefined && !useDenort
      ? ` (DENORT_BIN is used for this machine's target "${hostTarget().triple}" only)`
      : "";
    throw new ReleaseError(
      `Cannot compile for "${target.triple}": deno compile could not get its runtime (denort) ` +
        `from the internet; set DENORT_BIN to a denort binary${hint} or put ` +
        `"denort-${target.triple}.zip" into "${dir}"`,
    );
  }
  throw new ReleaseError(`Cannot compile for "${target.triple}": ${cause.trim()}`);
};

function environment(denort: string | undefined): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.DENORT_BIN;
  if (denort !== undefined) env.DENORT_BIN = denort;
  return env;
}

async function denoDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  try {
    return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
  } catch {
    return Deno.env.get("DENO_DIR") ?? "$DENO_DIR";
  }
}

/** Options of {@link release}. */
export interface ReleaseOptions {
  /** Where the archives and checksums go (default dist/release). */
  outDir?: string;
  /** The manifest to write (default krew/token.yaml). */
  manifest?: string;
  /** Default: deno.json's version with a leading "v". */
  version?: string;
  /** Default {@link DEFAULT_BASE_URL}. */
  baseUrl?: string;
  /** Default {@link TARGETS}. */
  targets?: readonly Target[];
  /** Default {@link denoCompile}; tests pass a stand-in. */
  compile?: Compiler;
  /** Seconds since 1970 to date the archived files with (default SOURCE_DATE_EPOCH or 0). */
  mtime?: number;
}

/** One released platform. */
export interface ReleasedPlatform {
  target: Target;
  archive: string;
  sha256: string;
  uri: string;
}

/** Build, pack and checksum every target, then render the krew manifest. */
export async function release(options: ReleaseOptions = {}): Promise<ReleasedPlatform[]> {
  const version = options.version ?? `v${denoJson.version}`;
  const outDir = options.outDir ?? join(root, "dist", "release");
  const baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
  const compile = options.compile ?? denoCompile;
  const mtime = options.mtime ?? Number(Deno.env.get("SOURCE_DATE_EPOCH") ?? 0);
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  const entry = await bundle(join(outDir, "bundle"));
  const license = await Deno.readFile(join(root, "LICENSE"));
  const readme = await Deno.readFile(join(root, "README.md"));

  const released: ReleasedPlatform[] = [];
  for (const target of options.targets ?? TARGETS) {
    const buildDir = join(outDir, "build", `${target.os}_${target.arch}`);
    await Deno.mkdir(buildDir, { recursive: true });
    const binary = join(buildDir, binName(target));
    await compile(target, entry, binary);
    const entries: ArchiveEntry[] = [
      { name: binName(target), data: await Deno.readFile(binary), mode: 0o755 },
      { name: "LICENSE", data: license, mode: 0o644 },
      { name: "README.md", data: readme, mode: 0o644 },
    ];
    const archive = join(outDir, archiveName(version, target));
    const bytes = target.os === "windows" ? zip(entries, mtime) : tarGz(entries, mtime);
    await Deno.writeFile(archive, bytes);
    const sha256 = await sha256Hex(bytes);
    await Deno.writeTextFile(`${archive}.sha256`, `${sha256}  ${basename(archive)}\n`);
    released.push({
      target,
      archive,
      sha256,
      uri: `${baseUrl}/${version}/${basename(archive)}`,
    });
  }
  const template = await Deno.readTextFile(join(root, "krew", "token.yaml.tmpl"));
  await Deno.writeTextFile(
    options.manifest ?? join(root, "krew", "token.yaml"),
    renderManifest(template, version, released),
  );
  return released;
}

/** Hex SHA-256 of `data`. */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The krew manifest: the template with the version and one platform entry per target. */
export function renderManifest(
  template: string,
  version: string,
  platforms: ReleasedPlatform[],
): string {
  const entries = platforms.map(({ target, uri, sha256 }) =>
    [
      `    - selector:`,
      `        matchLabels:`,
      `          os: ${target.os}`,
      `          arch: ${target.arch}`,
      `      uri: ${uri}`,
      `      sha256: ${sha256}`,
      `      bin: ${binName(target)}`,
      `      files:`,
      `        - from: ${binName(target)}`,
      `          to: .`,
      `        - from: LICENSE`,
      `          to: .`,
    ].join("\n")
  ).join("\n");
  return template
    .replace(/^# Template.*\n/, "# Rendered by scripts/release.ts from krew/token.yaml.tmpl.\n")
    .replaceAll("{{VERSION}}", version)
    .replace("{{PLATFORMS}}", entries);
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

if (import.meta.main) {
  const args = Deno.args;
  try {
    if (args.includes("--host")) {
      const target = hostTarget();
      const outDir = flag(args, "--out-dir") ?? join(root, "dist");
      const entry = await bundle(join(outDir, "bundle"));
      const output = join(outDir, binName(target));
      await denoCompile(target, entry, output);
      console.log(output);
    } else {
      const released = await release({
        outDir: flag(args, "--out-dir"),
        manifest: flag(args, "--manifest"),
        baseUrl: flag(args, "--base-url"),
        version: flag(args, "--version"),
      });
      for (const p of released) console.log(`${p.sha256}  ${p.archive}`);
    }
  } catch (e) {
    if (!(e instanceof ReleaseError)) throw e;
    console.error(`error: ${e.message}`);
    Deno.exit(1);
  }
}
