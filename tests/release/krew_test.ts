import assert from "node:assert/strict";
import { basename, dirname, join } from "node:path";
import denoJson from "../../deno.json" with { type: "json" };
import { gitCommit } from "../../scripts/bundle.ts";
import { release, TARGETS } from "../../scripts/release.ts";
import { krewInstall, matches, validateManifest } from "./_krew.ts";
import { sh, standInCompiler } from "./_stand_in.ts";

Deno.test("the rendered krew manifest passes krew's checks and installs as kubectl token", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-krew-" });
  try {
    const outDir = join(dir, "release");
    const manifestPath = join(dir, "token.yaml");
    await release({ outDir, manifest: manifestPath, compile: standInCompiler });
    const text = await Deno.readTextFile(manifestPath);
    const manifest = validateManifest(manifestPath, text);
    const platforms = manifest.spec!.platforms!;
    const archiveOf = (uri: string) => join(outDir, basename(new URL(uri).pathname));

    await t.step("one platform per target, with its archive's checksum and bin", async () => {
      assert.equal(manifest.spec!.version, `v${denoJson.version}`);
      for (const target of TARGETS) {
        const pair = `${target.os}/${target.arch}`;
        const found = platforms.filter((p) => matches(p, pair));
        assert.equal(found.length, 1, `platforms matching ${pair}`);
        const [p] = found;
        const archive = archiveOf(p.uri!);
        const sum = (await Deno.readTextFile(`${archive}.sha256`)).split(" ")[0];
        assert.equal(p.sha256, sum);
        const list = archive.endsWith(".zip")
          ? await sh("unzip", ["-Z1", archive])
          : await sh("tar", ["-tzf", archive]);
        assert.ok(list.stdout.split("\n").includes(p.bin!), `${p.bin} in ${list.stdout}`);
        assert.ok(list.stdout.split("\n").includes("LICENSE"));
      }
    });

    await t.step("a wrong checksum is refused at install", async () => {
      const p = platforms.find((p) => matches(p, "linux/amd64"))!;
      await assert.rejects(
        krewInstall(join(dir, "krew-bad"), manifest, { ...p, sha256: "0".repeat(64) }, archiveOf),
        /checksum/,
      );
    });

    await t.step("installed like krew, kubectl token version runs the plugin", async () => {
      const arch = Deno.build.arch === "aarch64" ? "arm64" : "amd64";
      const p = platforms.find((p) => matches(p, `${Deno.build.os}/${arch}`))!;
      const binDir = await krewInstall(join(dir, "krew"), manifest, p, archiveOf);
      const link = join(binDir, "kubectl-token");
      assert.ok((await Deno.lstat(link)).isSymlink);
      const env = {
        PATH: `${binDir}:${dirname("/usr/bin/kubectl")}:/bin`,
        HOME: dir,
        KUBECONFIG: join(dir, "none"),
      };
      const r = await sh("kubectl", ["token", "version"], { env, clearEnv: true });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `kubectl-token v${denoJson.version}\n`);
      const j = await sh("kubectl", ["token", "version", "-o", "json"], { env, clearEnv: true });
      const doc = JSON.parse(j.stdout);
      assert.equal(doc.gitCommit, await gitCommit());
      assert.equal(
        doc.kubernetesClient,
        denoJson.imports["@kubernetes/client-node"].split("@").pop(),
      );
      const plugins = await sh("kubectl", ["plugin", "list"], { env, clearEnv: true });
      assert.match(plugins.stdout, new RegExp(`${link}\\n`));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
