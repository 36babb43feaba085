/**
 * What krew checks before it installs a plugin manifest (krew's pkg/index/validation and the
 * krew-index CI's validate-krew-manifest), and a local install laid out the way krew does it.
 */
import { basename, join } from "node:path";
import { parse } from "yaml";
import { sha256Hex } from "../../scripts/release.ts";
import { sh } from "./_stand_in.ts";

/** A krew platform entry. */
export interface KrewPlatform {
  selector?: { matchLabels?: Record<string, string> };
  uri?: string;
  sha256?: string;
  bin?: string;
  files?: { from?: string; to?: string }[];
}

/** A krew plugin manifest. */
export interface KrewManifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  spec?: {
    version?: string;
    homepage?: string;
    shortDescription?: string;
    description?: string;
    caveats?: string;
    platforms?: KrewPlatform[];
  };
}

// krew's semver check (Masterminds/semver with krew's "must start with v" rule).
const SEMVER =
  /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/** The os/arch pairs krew knows; each must be matched by at most one platform. */
export const KREW_PLATFORMS = [
  "darwin/amd64",
  "darwin/arm64",
  "linux/amd64",
  "linux/arm64",
  "linux/arm",
  "linux/386",
  "linux/ppc64le",
  "linux/s390x",
  "windows/amd64",
  "windows/386",
  "windows/arm64",
];

/** Parse and validate a manifest file; returns it, or throws listing every problem. */
export function validateManifest(path: string, text: string): KrewManifest {
  const m = parse(text) as KrewManifest;
  const problems: string[] = [];
  const fail = (p: string) => problems.push(p);
  if (m.apiVersion !== "krew.googlecontainertools.github.com/v1alpha2") {
    fail(`apiVersion is "${m.apiVersion}"`);
  }
  if (m.kind !== "Plugin") fail(`kind is "${m.kind}"`);
  const name = m.metadata?.name ?? "";
  if (!/^[\w-]+$/.test(name)) fail(`metadata.name "${name}" is not ^[\\w-]+$`);
  if (basename(path) !== `${name}.yaml`) fail(`file name is not "${name}.yaml"`);
  const spec = m.spec ?? {};
  if (!SEMVER.test(spec.version ?? "")) fail(`spec.version "${spec.version}" is not semver with v`);
  if (!spec.homepage?.startsWith("https://")) fail("spec.homepage is missing");
  const short = spec.shortDescription ?? "";
  if (short === "" || short.includes("\n")) fail("spec.shortDescription must be one line");
  if (short.length > 50) fail(`spec.shortDescription has ${short.length} > 50 characters`);
  if (!spec.description?.trim()) fail("spec.description is missing");
  for (const line of (spec.description ?? "").split("\n")) {
    if (line.length > 80) fail(`spec.description line longer than 80: "${line}"`);
  }
  if (text.includes("{{")) fail("template placeholders left");
  const platforms = spec.platforms ?? [];
  if (platforms.length === 0) fail("spec.platforms is empty");
  platforms.forEach((p, i) => {
    const labels = p.selector?.matchLabels ?? {};
    if (!labels.os || !labels.arch) fail(`platform ${i}: selector needs os and arch`);
    if (!p.uri || !/^https:\/\/.+\.(tar\.gz|zip)$/.test(p.uri)) {
      fail(`platform ${i}: uri "${p.uri}"`);
    }
    if (!/^[a-f0-9]{64}$/.test(p.sha256 ?? "")) fail(`platform ${i}: sha256 "${p.sha256}"`);
    if (!p.bin) fail(`platform ${i}: bin is missing`);
    if (!p.files?.length) fail(`platform ${i}: files is empty`);
    for (const f of p.files ?? []) {
      if (!f.from || !f.to) fail(`platform ${i}: file without from/to`);
    }
    if (!p.files?.some((f) => f.from === "LICENSE")) fail(`platform ${i}: no LICENSE`);
  });
  for (const pair of KREW_PLATFORMS) {
    const matching = platforms.filter((p) => matches(p, pair));
    if (matching.length > 1) fail(`selectors overlap on ${pair}`);
  }
  if (problems.length) throw new Error(`Invalid krew manifest ${path}: ${problems.join("; ")}`);
  return m;
}

/** Whether a platform's selector matches "os/arch". */
export function matches(p: KrewPlatform, pair: string): boolean {
  const [os, arch] = pair.split("/");
  const labels = p.selector?.matchLabels ?? {};
  return Object.entries(labels).every(([k, v]) =>
    (k === "os" ? os : k === "arch" ? arch : "") === v
  );
}

/**
 * Install one platform the way krew does: check the archive's checksum, unpack it, apply
 * `files` into `<root>/store/<name>/<version>`, and link `bin` as `<root>/bin/kubectl-<name>`.
 * `fetch` maps the URI to the local archive (no download here). Returns the bin folder.
 */
export async function krewInstall(
  krewRoot: string,
  manifest: KrewManifest,
  platform: KrewPlatform,
  archiveOf: (uri: string) => string,
): Promise<string> {
  const archive = archiveOf(platform.uri!);
  const bytes = await Deno.readFile(archive);
  const actual = await sha256Hex(bytes);
  if (actual !== platform.sha256) {
    throw new Error(`checksum of ${archive} is ${actual}, the manifest says ${platform.sha256}`);
  }
  const name = manifest.metadata!.name!;
  await Deno.mkdir(krewRoot, { recursive: true });
  const work = await Deno.makeTempDir({ dir: krewRoot, prefix: "download-" });
  const unpack = archive.endsWith(".zip")
    ? await sh("unzip", ["-q", archive, "-d", work])
    : await sh("tar", ["-xzf", archive, "-C", work]);
  if (unpack.code !== 0) throw new Error(`cannot unpack ${archive}: ${unpack.stderr}`);
  const store = join(krewRoot, "store", name, manifest.spec!.version!);
  await Deno.mkdir(store, { recursive: true });
  for (const f of platform.files!) {
    const to = join(store, f.to!, f.to === "." ? f.from! : "");
    await Deno.rename(join(work, f.from!), to);
  }
  await Deno.remove(work, { recursive: true });
  const bin = join(store, platform.bin!);
  const info = await Deno.stat(bin).catch(() => undefined);
  if (!info?.isFile) throw new Error(`bin "${platform.bin}" is not in the archive ${archive}`);
  const binDir = join(krewRoot, "bin");
  await Deno.mkdir(binDir, { recursive: true });
  const windows = platform.bin!.endsWith(".exe");
  await Deno.symlink(bin, join(binDir, `kubectl-${name}${windows ? ".exe" : ""}`));
  return binDir;
}
