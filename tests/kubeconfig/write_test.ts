import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { updateKubeconfigFile, updateTokenFile } from "../../src/kubeconfig/write.ts";
import { STALE_TEMP_MS, writeFileAtomic } from "../../src/fs/atomic.ts";
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

Deno.test("updateKubeconfigFile() killed before the rename leaves the old file and a 0600 temp the next run removes", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "config");
    await Deno.writeTextFile(file, CONFIG);
    await Deno.chmod(file, 0o640);
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
    // The new content is on disk, in the temp file, and synced; only its owner can read it.
    const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
    const temp = names.find((n) => n.startsWith(".config.tmp-"));
    assert.ok(temp, `no temp file in ${names}`);
    assert.match(temp, new RegExp(`^\\.config\\.tmp-${child.pid}-[0-9a-f]{12}$`));
    assert.match(await Deno.readTextFile(join(dir, temp)), /token: new-token/);
    assert.equal((await Deno.stat(join(dir, temp))).mode! & 0o777, 0o600);
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
    // Once the user removes the lock (as that message says), the next write cleans up.
    await Deno.remove(join(dir, "config.lock"));
    await updateKubeconfigFile(testRuntime(), file, SET);
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["config"]);
    assert.equal(await Deno.readTextFile(file), CONFIG.replace("old-token", "new-token"));
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o640);
  });
});

Deno.test({
  name: "writeFileAtomic() removes only stale temp files of its target that this user owns",
  ignore: Deno.build.os !== "linux", // process liveness comes from /proc
  fn: async (t) => {
    await withTempDir(async (dir) => {
      const at = Date.parse("2026-12-31T23:59:59Z");
      const runtime = { ...testRuntime(), now: () => new Date(at) };
      const file = join(dir, "config");
      await Deno.writeTextFile(file, CONFIG);
      const done = new Deno.Command("true").spawn();
      await done.status;
      const dead = done.pid;
      const live = Deno.pid;
      const min = 60_000;
      const cases = [
        { name: `.config.tmp-${dead}-0123456789ab`, age: 1 * min, removed: true },
        { name: `.config.tmp-${live}-0123456789ab`, age: 1 * min, removed: false },
        { name: `.config.tmp-${live}-abcdef012345`, age: STALE_TEMP_MS + min, removed: true },
        { name: ".config.tmp-0123456789ab", age: STALE_TEMP_MS + min, removed: true },
        { name: ".config.tmp-abcdef012345", age: 1 * min, removed: false },
        { name: `.other.tmp-${dead}-0123456789ab`, age: STALE_TEMP_MS + min, removed: false },
        { name: `.config.tmp-${dead}-not-hex`, age: STALE_TEMP_MS + min, removed: false },
      ];
      for (const c of cases) {
        const path = join(dir, c.name);
        await Deno.writeTextFile(path, "left behind");
        await Deno.utime(path, new Date(at - c.age), new Date(at - c.age));
      }
      const foreign = join(dir, `.config.tmp-${dead}-fedcba987654`);
      if (Deno.uid() === 0) {
        await Deno.writeTextFile(foreign, "another user's");
        await Deno.chown(foreign, 65534, 65534);
      }
      await writeFileAtomic(runtime, file, CONFIG);
      const left = new Set(await Array.fromAsync(Deno.readDir(dir), (e) => e.name));
      for (const c of cases) assert.equal(!left.has(c.name), c.removed, c.name);
      await t.step({
        name: "another user's temp file is left alone (needs root to make one)",
        ignore: Deno.uid() !== 0,
        fn: () => assert.ok(left.has(basename(foreign)), "removed another user's file"),
      });
      assert.equal(
        left.size,
        cases.filter((c) => !c.removed).length + 1 + (Deno.uid() === 0 ? 1 : 0),
      );
    });
  },
});

Deno.test("updateKubeconfigFile() puts the previous content back when the file does not read back as written", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "config");
    await Deno.writeTextFile(file, CONFIG);
    await Deno.chmod(file, 0o640);
    const cases = [
      {
        name: "a writer that ignores the lock put the old token back",
        change: (text: string) => text.replace("new-token", "old-token"),
        error:
          /: read back, users\["u"\]\.user\.token does not hold the new value; the previous content was restored$/,
      },
      {
        name: "the file no longer loads",
        change: () => "users: [\n",
        error:
          /: read back, it does not load: invalid YAML at line 2, column 1: .*; the previous content was restored$/,
      },
      {
        name: "the file is gone",
        change: () => "",
        remove: true,
        error:
          /: read back, it cannot be read back: no such file or directory; the previous content was restored$/,
      },
    ];
    for (const c of cases) {
      const message = await rejectsWith(
        () =>
          updateKubeconfigFile(testRuntime(), file, SET, {
            afterRename: async (path) => {
              const text = await Deno.readTextFile(path);
              if (c.remove) await Deno.remove(path);
              else await Deno.writeTextFile(path, c.change(text));
            },
          }),
        c.error,
      );
      assert.match(message, /^Cannot write kubeconfig ".*config": /, c.name);
      assert.ok(!message.includes("new-token") && !message.includes("\n"), c.name);
      assert.equal(await Deno.readTextFile(file), CONFIG, c.name);
    }
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["config"]);
  });
});

Deno.test("updateTokenFile() keeps the line end, and restores the file when it does not read back", async (t) => {
  await withTempDir(async (dir) => {
    for (const eol of ["", "\n", "\r\n"]) {
      await t.step(`line end ${JSON.stringify(eol)}`, async () => {
        const path = join(dir, "token");
        await Deno.writeTextFile(path, `old-token${eol}`);
        await Deno.chmod(path, 0o640);
        const r = await updateTokenFile(testRuntime(), path, "new.token", { backup: true });
        assert.equal(await Deno.readTextFile(path), `new.token${eol}`);
        assert.equal((await Deno.stat(path)).mode! & 0o777, 0o640);
        assert.equal(r.backupPath, `${path}.bak`);
        assert.equal(await Deno.readTextFile(`${path}.bak`), `old-token${eol}`);
      });
    }
    await t.step("read back", async () => {
      const path = join(dir, "token");
      await Deno.writeTextFile(path, "old-token\n");
      await rejectsWith(
        () =>
          updateTokenFile(testRuntime(), path, "new.token", {
            afterRename: (p) => Deno.writeTextFile(p, "someone else's\n"),
          }),
        /^Cannot write token file ".*token": read back, it does not hold the new token; the previous content was restored$/,
      );
      assert.equal(await Deno.readTextFile(path), "old-token\n");
    });
  });
});

Deno.test("updateKubeconfigFile() refuses duplicate keys before writing anything", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "config");
    const text = CONFIG + "    token: second-token\n";
    await Deno.writeTextFile(file, text);
    await rejectsWith(
      () => updateKubeconfigFile(testRuntime(), file, SET),
      /^Cannot edit kubeconfig ".*config": duplicate key "token" in users\[0\]\.user at line 8$/,
    );
    assert.equal(await Deno.readTextFile(file), text);
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["config"]);
  });
});

Deno.test({
  name: "updateKubeconfigFile() and updateTokenFile() as root keep another user's file theirs",
  ignore: Deno.build.os === "windows" || Deno.uid() !== 0,
  fn: async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, "config");
      const token = join(dir, "token");
      await Deno.writeTextFile(file, CONFIG);
      await Deno.writeTextFile(token, "old-token\n");
      for (const p of [file, token]) {
        await Deno.chmod(p, 0o644);
        await Deno.chown(p, 65534, 65534);
      }
      await updateKubeconfigFile(testRuntime(), file, SET, { backup: true });
      await updateTokenFile(testRuntime(), token, "new-token", { backup: true });
      for (const p of [file, token, `${file}.bak`, `${token}.bak`]) {
        const info = await Deno.stat(p);
        assert.deepEqual([info.uid, info.gid], [65534, 65534], p);
      }
      assert.equal((await Deno.stat(file)).mode! & 0o777, 0o644);
      assert.equal((await Deno.stat(`${file}.bak`)).mode! & 0o777, 0o600);
      assert.match(await Deno.readTextFile(file), /token: new-token/);
    });
  },
});

/** Run the writer of _crash_writer.ts as uid/gid 65534 (setpriv); returns exit code and stderr. */
async function writeAsNobody(file: string): Promise<{ code: number; stderr: string }> {
  const denoDir = await Deno.makeTempDir({ prefix: "deno-dir-" });
  try {
    await Deno.chown(denoDir, 65534, 65534);
    const script = fileURLToPath(new URL("./_crash_writer.ts", import.meta.url));
    const out = await new Deno.Command("setpriv", {
      args: [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        script,
        file,
        "u",
        "new-token",
        "write",
      ],
      env: { DENO_DIR: denoDir, HOME: denoDir },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
}

const canSetpriv = Deno.build.os === "linux" && Deno.uid() === 0 &&
  (await new Deno.Command("setpriv", { args: ["--version"], stdout: "null", stderr: "null" })
    .output().then((o) => o.success, () => false));

Deno.test({
  name: "updateKubeconfigFile() as another user refuses to take over a file it does not own",
  ignore: !canSetpriv, // needs root to make the files and setpriv to drop to uid 65534
  fn: async () => {
    await withTempDir(async (dir) => {
      // The folder is the other user's (so a rename there would succeed); the file is root's.
      await Deno.chmod(dir, 0o755);
      await Deno.chown(dir, 65534, 65534);
      const file = join(dir, "config");
      await Deno.writeTextFile(file, CONFIG);
      await Deno.chmod(file, 0o644);
      const r = await writeAsNobody(file);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(
        r.stderr.trim(),
        `Cannot write kubeconfig "${file}": it belongs to uid 0 and a rewritten file would ` +
          `belong to uid 65534; run as its owner or as root`,
      );
      assert.equal(await Deno.readTextFile(file), CONFIG);
      const info = await Deno.stat(file);
      assert.deepEqual([info.uid, info.gid, info.mode! & 0o777], [0, 0, 0o644]);
      assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["config"]);

      // Its own file with a group it is not in: the group cannot be kept, so nothing changes.
      await Deno.chown(file, 65534, 0);
      const g = await writeAsNobody(file);
      assert.equal(g.code, 1, g.stderr);
      assert.match(
        g.stderr.trim(),
        /^Cannot write kubeconfig ".*config": it belongs to uid 65534 gid 0 and a rewritten file cannot keep that owner \(.*\); run as its owner or as root$/,
      );
      assert.equal(await Deno.readTextFile(file), CONFIG);
      assert.equal((await Deno.stat(file)).gid, 0);
      assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["config"]);

      // And its own file it rewrites as before.
      await Deno.chown(file, 65534, 65534);
      const ok = await writeAsNobody(file);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(await Deno.readTextFile(file), /token: new-token/);
    });
  },
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
    // The writer polls the lock through runtime.sleep(): its first sleep says it is waiting.
    let waiting!: () => void;
    const isWaiting = new Promise<void>((r) => waiting = r);
    const base = testRuntime();
    const runtime = {
      ...base,
      sleep: (ms: number) => {
        waiting();
        return base.sleep(ms);
      },
    };
    let release!: () => void;
    const released = new Promise<void>((r) => release = r);
    // The holder's body may start after the writer has seen the lock file: wait for both.
    let started!: () => void;
    const holding = new Promise<void>((r) => started = r);
    const held = withLock(base, file, async () => {
      started();
      await released;
      // Another writer changes the file while holding the lock.
      await Deno.writeTextFile(file, CONFIG.replace("# keep me", "# changed meanwhile"));
    });
    await holding;
    const pending = updateKubeconfigFile(runtime, file, SET);
    await isWaiting;
    assert.equal(await Deno.readTextFile(file), CONFIG);
    release();
    await held;
    await pending;
    const text = await Deno.readTextFile(file);
    assert.match(text, /^# changed meanwhile/);
    assert.match(text, /token: new-token/);
  });
});
