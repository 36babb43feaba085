import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { updateKubeconfigFile } from "../../src/kubeconfig/write.ts";
import { withLock } from "../../src/fs/lock.ts";
import { rejectsWith, testRuntime, withTempDir } from "./_helpers.ts";

const CONFIG = `# keep me
apiVersion: v1
kind: Config
users:
- name: u
  user:
    token: old-token   # inline comment
`;
const SET = [{ set: ["users", { name: "u" }, "user", "token"], value: "new-token" }];

Deno.test("updateKubeconfigFile() leaves the old file intact when killed before the rename", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "config");
    await Deno.writeTextFile(file, CONFIG, { mode: 0o600 });
    const script = fileURLToPath(new URL("./_crash_writer.ts", import.meta.url));
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", script, file, "u", "new-token"],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!seen.includes("paused")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    assert.match(seen, /paused/);
    // The new content is on disk, in the temp file, and synced.
    const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
    const temp = names.find((n) => n.startsWith(".config.tmp-"));
    assert.ok(temp, `no temp file in ${names}`);
    assert.match(await Deno.readTextFile(join(dir, temp)), /token: new-token/);
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel().catch(() => {});
    assert.equal(await Deno.readTextFile(file), CONFIG);
    // As with kubectl, a killed writer leaves its lock behind; the next writer says so.
    assert.ok(names.includes("config.lock"));
    await rejectsWith(
      () => updateKubeconfigFile(testRuntime(), file, SET, { lockTimeoutMs: 300 }),
      /Cannot lock kubeconfig ".*config": ".*config.lock" has existed for over/,
    );
  });
});

Deno.test("updateKubeconfigFile() keeps the mode and writes new files with 0600", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "config");
    await Deno.writeTextFile(file, CONFIG);
    await Deno.chmod(file, 0o640);
    const r = await updateKubeconfigFile(testRuntime(), file, SET, { backup: true });
    assert.equal(r.changed, true);
    assert.equal(await Deno.readTextFile(file), CONFIG.replace("old-token", "new-token"));
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o640);
    assert.equal(await Deno.readTextFile(`${file}.bak`), CONFIG);
    assert.equal((await Deno.stat(`${file}.bak`)).mode! & 0o777, 0o600);

    const fresh = join(dir, "new");
    await updateKubeconfigFile(testRuntime(), fresh, [
      { upsert: "users", name: "u", value: { user: { token: "t" } } },
    ], { create: true });
    assert.equal((await Deno.stat(fresh)).mode! & 0o777, 0o600);
    assert.equal(
      await Deno.readTextFile(fresh),
      "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: t\n",
    );
  });
});

Deno.test("updateKubeconfigFile() follows a symlink and replaces its target", async () => {
  await withTempDir(async (dir) => {
    const real = join(dir, "real");
    const link = join(dir, "link");
    await Deno.writeTextFile(real, CONFIG);
    await Deno.symlink(real, link);
    await updateKubeconfigFile(testRuntime(), link, SET);
    assert.ok((await Deno.lstat(link)).isSymlink);
    assert.match(await Deno.readTextFile(real), /token: new-token/);
  });
});

Deno.test("updateKubeconfigFile() waits for kubectl's lock and re-reads the file under it", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "config");
    await Deno.writeTextFile(file, CONFIG);
    const runtime = testRuntime();
    let release!: () => void;
    const held = withLock(runtime, file, async () => {
      await new Promise<void>((r) => release = r);
      // Another writer changes the file while holding the lock.
      await Deno.writeTextFile(file, CONFIG.replace("# keep me", "# changed meanwhile"));
    });
    const pending = updateKubeconfigFile(runtime, file, SET);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await Deno.readTextFile(file), CONFIG);
    release();
    await held;
    await pending;
    const text = await Deno.readTextFile(file);
    assert.match(text, /^# changed meanwhile/);
    assert.match(text, /token: new-token/);
  });
});
