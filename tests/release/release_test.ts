import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import denoJson from "../../deno.json" with { type: "json" };
import { archiveName, release, TARGETS } from "../../scripts/release.ts";
import { sh, standInCompiler } from "./_stand_in.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const VERSION = `v${denoJson.version}`;

Deno.test("release packs each target with LICENSE and README, and writes matching checksums", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-release-" });
  try {
    const released = await release({
      outDir: join(dir, "out"),
      manifest: join(dir, "token.yaml"),
      compile: standInCompiler,
      baseUrl: "https://example.invalid/download/",
    });
    assert.deepEqual(released.map((p) => p.target), TARGETS);
    const license = await Deno.readTextFile(join(ROOT, "LICENSE"));
    for (const p of released) {
      await t.step(`${p.target.os}/${p.target.arch}`, async () => {
        const name = archiveName(VERSION, p.target);
        assert.equal(p.archive, join(dir, "out", name));
        assert.equal(p.uri, `https://example.invalid/download/${VERSION}/${name}`);
        // The checksum file is in sha256sum's format and agrees with the archive.
        const check = await sh("sha256sum", ["-c", `${name}.sha256`], { cwd: join(dir, "out") });
        assert.equal(check.code, 0, check.stdout + check.stderr);
        assert.equal(
          (await Deno.readTextFile(`${p.archive}.sha256`)).split(/\s+/)[0],
          p.sha256,
        );
        // Unpacked by the system's own tools, not by our writer's counterpart.
        const into = join(dir, "unpacked", `${p.target.os}_${p.target.arch}`);
        await Deno.mkdir(into, { recursive: true });
        const windows = p.target.os === "windows";
        const unpack = windows
          ? await sh("unzip", ["-q", p.archive, "-d", into])
          : await sh("tar", ["-xzf", p.archive, "-C", into]);
        assert.equal(unpack.code, 0, unpack.stderr);
        const bin = windows ? "kubectl-token.exe" : "kubectl-token";
        const names = [...Deno.readDirSync(into)].map((e) => e.name).sort();
        assert.deepEqual(names, ["LICENSE", "README.md", bin].sort());
        assert.equal(await Deno.readTextFile(join(into, "LICENSE")), license);
        assert.equal((await Deno.stat(join(into, bin))).mode! & 0o777, 0o755);
        const version = await sh(join(into, bin), ["version"]);
        assert.equal(version.stdout, `kubectl-token ${VERSION}\n`, version.stderr);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task compile stops with one line naming DENORT_BIN when denort cannot be downloaded", async () => {
  const info = JSON.parse((await sh(Deno.execPath(), ["info", "--json"])).stdout);
  const triple = "x86_64-unknown-linux-gnu";
  const cached = join(info.denoDir, "dl", "release", `v${Deno.version.deno}`);
  if (Deno.build.target !== triple) {
    console.log(`skipped: checks the ${triple} host only`);
    return;
  }
  try {
    await Deno.stat(join(cached, `denort-${triple}.zip`));
    console.log(`skipped: denort is cached in ${cached}, so deno compile would work`);
    return;
  } catch { /* not cached: the case under test */ }
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-compile-" });
  try {
    const env = Deno.env.toObject();
    delete env.DENORT_BIN;
    // A closed port as proxy: the download fails at once, also on machines with internet.
    env.HTTPS_PROXY = "http://127.0.0.1:1";
    const r = await sh(
      Deno.execPath(),
      ["run", "--allow-all", join(ROOT, "scripts", "release.ts"), "--host", "--out-dir", dir],
      { env, clearEnv: true, cwd: ROOT },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^error: Cannot compile for "x86_64-unknown-linux-gnu": .*DENORT_BIN/);
    assert.ok(r.stderr.includes(`denort-${triple}.zip`), r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
