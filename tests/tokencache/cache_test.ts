import assert from "node:assert/strict";
import { join } from "node:path";
import { denoRuntime, type Runtime } from "../../src/runtime.ts";
import {
  checkCacheDir,
  clearCache,
  ensureCacheDir,
  jwtTimes,
  lockEntry,
  readCachedToken,
  refreshTime,
  writeCachedToken,
} from "../../src/tokencache/cache.ts";
import { readEntry, writeEntry } from "../../src/tokencache/_store.ts";
import { EDGE_INSTANTS } from "../e2e/_audit_seed.ts";

const KEY = "ab".repeat(32);
const ENTRY = `${KEY}.json`;
const asRoot = Deno.uid() === 0;

/** An unsigned JWT with these times (the cache decodes, never verifies). */
function jwt(times: { iat?: number; exp: number; warnafter?: number }): string {
  const b64 = (v: unknown) =>
    btoa(JSON.stringify(v)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  const { warnafter, ...rest } = times;
  const payload = { ...rest, ...(warnafter ? { "kubernetes.io": { warnafter } } : {}) };
  return `${b64({ alg: "RS256" })}.${b64(payload)}.c2ln`;
}

const seconds = (iso: string) => Date.parse(iso) / 1000;
const iso = (ms: number) => new Date(ms).toISOString();

async function withCache(fn: (dir: string, runtime: Runtime) => Promise<void>) {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "kubectl-token-cache-" }));
  try {
    const dir = join(base, "kubectl-token");
    const runtime = denoRuntime();
    await ensureCacheDir(runtime, dir);
    await fn(dir, runtime);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

/** Collects the reasons the cache gives for skipping entries. */
function reasons() {
  const heard: string[] = [];
  return { heard, hear: (why: string) => void heard.push(why) };
}

const modeOf = async (path: string) => (await Deno.lstat(path)).mode! & 0o7777;

Deno.test("refreshTime() renews at 80% of the lifetime or at warnafter, at edge instants", async (t) => {
  for (const at of EDGE_INSTANTS) {
    await t.step(at, () => {
      const iat = seconds(at);
      const cases = [
        { name: "1h token", claims: { iat, exp: iat + 3600 }, want: iat + 2880 },
        { name: "10m token", claims: { iat, exp: iat + 600 }, want: iat + 480 },
        { name: "48h token", claims: { iat, exp: iat + 172_800 }, want: iat + 138_240 },
        {
          name: "warnafter before 80%",
          claims: { iat, exp: iat + 3600, warnafter: iat + 1800 },
          want: iat + 1800,
        },
        {
          name: "warnafter after 80%",
          claims: { iat, exp: iat + 3600, warnafter: iat + 3500 },
          want: iat + 2880,
        },
        { name: "no iat: a minute before expiry", claims: { exp: iat + 3600 }, want: iat + 3540 },
        { name: "iat after exp", claims: { iat: iat + 7200, exp: iat + 3600 }, want: iat + 3540 },
      ];
      for (const c of cases) {
        const got = refreshTime(c.claims, new Date(c.claims.exp * 1000));
        assert.equal(got.toISOString(), iso(c.want * 1000), c.name);
      }
      // The claims the cache reads back from a token are the ones it was issued with.
      assert.deepEqual(jwtTimes(jwt({ iat, exp: iat + 3600, warnafter: iat + 60 })), {
        iat,
        exp: iat + 3600,
        warnafter: iat + 60,
      });
    });
  }
});

Deno.test("a cached token is fresh until 80% of its lifetime, at edge instants", async (t) => {
  await withCache(async (dir, runtime) => {
    for (const at of EDGE_INSTANTS) {
      await t.step(at, async () => {
        const iat = seconds(at);
        const expiresAt = new Date((iat + 3600) * 1000);
        await writeCachedToken(runtime, dir, KEY, jwt({ iat, exp: iat + 3600 }), expiresAt);
        const entry = JSON.parse(await Deno.readTextFile(join(dir, ENTRY)));
        // RFC 3339 in whole seconds, across midnight, month and year ends and a leap day.
        assert.equal(entry.expirationTimestamp, iso(expiresAt.getTime()).replace(".000Z", "Z"));
        const refreshAt = (iat + 2880) * 1000;
        const readings = [
          { now: iat * 1000, fresh: true },
          { now: refreshAt - 1, fresh: true },
          { now: refreshAt, fresh: false },
          { now: refreshAt + 1, fresh: false },
          { now: (iat + 3601) * 1000, fresh: false },
        ];
        for (const { now, fresh } of readings) {
          const r = reasons();
          const got = await readCachedToken(runtime, dir, KEY, new Date(now), r.hear);
          const label = iso(now);
          if (fresh) {
            assert.ok(got, label);
            assert.equal(got.expiresAt.toISOString(), expiresAt.toISOString(), label);
            assert.equal(got.refreshAt.toISOString(), iso(refreshAt), label);
            assert.deepEqual(r.heard, [], label);
          } else {
            assert.equal(got, undefined, label);
            assert.deepEqual(r.heard, ["the cached token is due for renewal"], label);
          }
        }
      });
    }
  });
});

Deno.test("checkCacheDir() refuses a folder that is not the user's own, with what to fix", async (t) => {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "kubectl-token-cache-" }));
  const runtime = denoRuntime();
  try {
    await t.step("a missing folder is created 0700", async () => {
      const dir = join(base, "new", "kubectl-token");
      assert.equal(await checkCacheDir(runtime, dir), false);
      await ensureCacheDir(runtime, dir);
      assert.equal(await modeOf(dir), 0o700);
      assert.equal(await checkCacheDir(runtime, dir), true);
    });
    await t.step("an existing 0755 folder of the user's is used as it is", async () => {
      const dir = join(base, "old");
      await Deno.mkdir(dir);
      await Deno.chmod(dir, 0o755);
      assert.equal(await checkCacheDir(runtime, dir), true);
      assert.equal(await modeOf(dir), 0o755);
    });
    const refused = [
      {
        name: "a group-writable",
        mode: 0o770,
        message:
          /writable by its group \(mode 0770\); run "chmod 700 .*" or choose another KUBECACHEDIR$/,
      },
      {
        name: "a world-writable",
        mode: 0o777,
        message: /writable by others \(mode 0777\); run "chmod 700 .*"/,
      },
      {
        name: "a world-writable and sticky",
        mode: 0o1777,
        message: /writable by others \(mode 0777\)/,
      },
      {
        name: "an other-writable (0702)",
        mode: 0o702,
        message: /writable by others \(mode 0702\)/,
      },
    ];
    for (const c of refused) {
      await t.step(`${c.name} folder`, async () => {
        const dir = join(base, c.name);
        await Deno.mkdir(dir);
        await Deno.chmod(dir, c.mode);
        await assert.rejects(() => ensureCacheDir(runtime, dir), c.message);
        await assert.rejects(
          () => checkCacheDir(runtime, dir),
          /^CliError: Cannot use the token cache "/,
        );
        // Never repaired behind the user's back.
        assert.equal(await modeOf(dir), c.mode);
      });
    }
    await t.step("a symlink to a folder, even a good one", async () => {
      const real = join(base, "real");
      await Deno.mkdir(real, { mode: 0o700 });
      await Deno.chmod(real, 0o755);
      const link = join(base, "link");
      await Deno.symlink(real, link);
      await assert.rejects(
        () => ensureCacheDir(runtime, link),
        /"[^"]*link": it is a symbolic link; remove it or choose another KUBECACHEDIR$/,
      );
      assert.equal(await modeOf(real), 0o755);
    });
    await t.step("a file where the folder should be", async () => {
      const file = join(base, "file");
      await Deno.writeTextFile(file, "");
      await assert.rejects(() => ensureCacheDir(runtime, file), /it is not a folder/);
    });
    await t.step({
      name: "a folder owned by another user (uid 65534)",
      ignore: !asRoot,
      fn: async () => {
        const dir = join(base, "nobody");
        await Deno.mkdir(dir, { mode: 0o700 });
        await Deno.chown(dir, 65534, 65534);
        await assert.rejects(
          () => ensureCacheDir(runtime, dir),
          /it belongs to user 65534, not to you \(0\); choose another KUBECACHEDIR$/,
        );
      },
    });
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("readEntry() trusts only regular 0600 files of the user's, and follows no symlink", async (t) => {
  await withCache(async (dir, runtime) => {
    const outside = join(dir, "..", "outside.json");
    await Deno.writeTextFile(outside, "planted", { mode: 0o600 });
    await Deno.chmod(outside, 0o600);
    const path = join(dir, ENTRY);
    const cases: { name: string; plant: () => Promise<void>; why: RegExp; ignore?: boolean }[] = [
      {
        name: "a symlink to a 0600 file of the user's",
        plant: () => Deno.symlink(outside, path),
        why: /it is a symbolic link$/,
      },
      {
        name: "a dangling symlink",
        plant: () => Deno.symlink(join(dir, "nowhere"), path),
        why: /it is a symbolic link$/,
      },
      { name: "a folder", plant: () => Deno.mkdir(path), why: /it is not a regular file$/ },
      {
        name: "a fifo (reading it would block)",
        plant: async () => {
          const r = await new Deno.Command("mkfifo", { args: ["-m", "600", path] }).output();
          assert.equal(r.code, 0);
        },
        why: /it is not a regular file$/,
      },
      {
        name: "a 0644 file",
        plant: () => Deno.writeTextFile(path, "x").then(() => Deno.chmod(path, 0o644)),
        why: /its mode is 0644, not 0600$/,
      },
      {
        name: "a 0400 file",
        plant: () => Deno.writeTextFile(path, "x").then(() => Deno.chmod(path, 0o400)),
        why: /its mode is 0400, not 0600$/,
      },
      {
        name: "a 0600 file of another user (uid 65534)",
        plant: async () => {
          await Deno.writeTextFile(path, "x");
          await Deno.chmod(path, 0o600);
          await Deno.chown(path, 65534, 65534);
        },
        why: /it belongs to user 65534, not to you \(0\)$/,
        ignore: !asRoot,
      },
    ];
    for (const c of cases) {
      await t.step({
        name: c.name,
        ignore: c.ignore,
        fn: async () => {
          await c.plant();
          try {
            const r = reasons();
            assert.equal(await readEntry(runtime, dir, ENTRY, r.hear), undefined);
            assert.equal(r.heard.length, 1, r.heard.join("; "));
            assert.match(r.heard[0], new RegExp(`^ignoring "${ENTRY}": `));
            assert.match(r.heard[0], c.why);
            // The token cache treats it as a miss and says why.
            const heard: string[] = [];
            const got = await readCachedToken(runtime, dir, KEY, new Date(0), (w) => heard.push(w));
            assert.equal(got, undefined);
            assert.match(heard[0], c.why);
          } finally {
            await Deno.remove(path);
          }
        },
      });
    }
    await t.step("a regular 0600 file of the user's is read", async () => {
      await writeEntry(runtime, dir, ENTRY, "ours");
      const r = reasons();
      assert.equal(await readEntry(runtime, dir, ENTRY, r.hear), "ours");
      assert.deepEqual(r.heard, []);
      assert.equal(await readEntry(runtime, dir, "missing.json", r.hear), undefined);
      assert.deepEqual(r.heard, [], "a missing entry is a plain miss");
    });
    assert.equal(await Deno.readTextFile(outside), "planted");
  });
});

Deno.test("writeEntry() replaces a planted symlink and never writes through it", async (t) => {
  await withCache(async (dir, runtime) => {
    const home = join(dir, "..", "home");
    await Deno.mkdir(home);
    const bashrc = join(home, ".bashrc");
    await Deno.writeTextFile(bashrc, "alias ll='ls -l'\n");
    await Deno.chmod(bashrc, 0o644);
    const before = await Deno.stat(bashrc);
    for (const name of [ENTRY, `shortcut-${KEY}.json`]) {
      await t.step(name, async () => {
        const path = join(dir, name);
        await Deno.symlink(bashrc, path);
        const iat = seconds(EDGE_INSTANTS[0]);
        if (name === ENTRY) {
          await writeCachedToken(
            runtime,
            dir,
            KEY,
            jwt({ iat, exp: iat + 3600 }),
            new Date((iat + 3600) * 1000),
          );
        } else await writeEntry(runtime, dir, name, "{}\n");
        const info = await Deno.lstat(path);
        assert.ok(info.isFile && !info.isSymlink, "the link itself is replaced");
        assert.equal(info.mode! & 0o777, 0o600);
        assert.equal(await Deno.readTextFile(bashrc), "alias ll='ls -l'\n");
        const after = await Deno.stat(bashrc);
        assert.equal(after.mode! & 0o777, 0o644);
        assert.equal(after.mtime?.getTime(), before.mtime?.getTime());
        assert.equal(after.ino, before.ino);
      });
    }
    await t.step("no temp file is left behind", async () => {
      const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
      assert.deepEqual(names.filter((n) => n.includes(".tmp-")), []);
    });
  });
});

Deno.test("lockEntry() is an OS lock: it queues holders and replaces a planted lock file", async (t) => {
  await withCache(async (dir, runtime) => {
    await t.step("a second taker waits until the first releases", async () => {
      const release = await lockEntry(runtime, dir, ENTRY);
      let second = false;
      const pending = lockEntry(runtime, dir, ENTRY).then((r) => (second = true, r));
      // flock excludes two open files of one process too; give the waiter time to try.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(second, false);
      release();
      (await pending)();
      assert.equal(second, true);
      const lock = await Deno.lstat(join(dir, `${ENTRY}.lock`));
      assert.ok(lock.isFile);
      assert.equal(lock.mode! & 0o777, 0o600);
    });
    const target = join(dir, "..", "target");
    const planted = [
      { name: "a symlink", plant: (p: string) => Deno.symlink(target, p) },
      {
        name: "an older version's mode 0 file",
        plant: (p: string) => Deno.writeFile(p, new Uint8Array(), { mode: 0 }),
      },
    ];
    for (const c of planted) {
      await t.step(`${c.name} as the lock file`, async () => {
        await Deno.writeTextFile(target, "untouched");
        const lock = join(dir, `${ENTRY}.lock`);
        await Deno.remove(lock).catch(() => {});
        await c.plant(lock);
        const release = await lockEntry(runtime, dir, ENTRY);
        release();
        const info = await Deno.lstat(lock);
        assert.ok(info.isFile && !info.isSymlink);
        assert.equal(info.mode! & 0o777, 0o600);
        assert.equal(await Deno.readTextFile(target), "untouched");
      });
    }
  });
});

Deno.test("clearCache() removes the cache's own names only, and links not their targets", async () => {
  await withCache(async (dir, runtime) => {
    const outside = join(dir, "..", "precious");
    await Deno.writeTextFile(outside, "keep");
    await writeEntry(runtime, dir, ENTRY, "{}");
    await Deno.symlink(outside, join(dir, `${"cd".repeat(32)}.json`));
    await Deno.symlink(outside, join(dir, `shortcut-${KEY}.json`));
    await Deno.mkdir(join(dir, `${"ef".repeat(32)}.json`));
    await Deno.writeTextFile(join(dir, "notes.txt"), "mine");
    (await lockEntry(runtime, dir, ENTRY))();
    assert.equal(await clearCache(runtime, dir), 1);
    const left = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
    assert.deepEqual(left, [`${"ef".repeat(32)}.json`, "notes.txt"]);
    assert.equal(await Deno.readTextFile(outside), "keep");

    const link = join(dir, "..", "link");
    await Deno.symlink(dir, link);
    await writeEntry(runtime, dir, ENTRY, "{}");
    await assert.rejects(() => clearCache(runtime, link), /it is a symbolic link/);
    assert.ok((await Deno.lstat(join(dir, ENTRY))).isFile, "nothing removed through the link");
  });
});
