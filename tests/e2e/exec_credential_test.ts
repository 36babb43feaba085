import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { runCli, runKubectl, type RunResult } from "./_cli.ts";
import { claims, freshNamespace, kubectlUser } from "./_cluster.ts";
import { startTarget, type Target } from "./_target.ts";
import { EDGE_INSTANTS, namespace, serviceAccount } from "./_audit_seed.ts";
import { startApiServer } from "../apiserver/mod.ts";
import { CLOCK_ENV, processClock } from "../../src/runtime.ts";
import { modeOf } from "./_rotate.ts";

Deno.test("a kubeconfig from kubeconfig --exec works with kubectl and reuses its cached token", async (t) => {
  const target = await startTarget();
  const dir = await Deno.makeTempDir({ prefix: "exec-" });
  const cache = join(dir, "cache");
  try {
    const ns = await freshNamespace(target);
    const file = join(dir, "robot.kubeconfig");
    const made = await runKubectl(
      ["token", "kubeconfig", `${ns}/robot`, "--exec", "--duration", "1h", "--output-file", file],
      { env: { KUBECONFIG: target.kubeconfig, KUBECACHEDIR: cache } },
    );
    assert.equal(made.code, 0, made.stderr);
    assert.equal(await modeOf(file), 0o600);
    const doc = parse(await Deno.readTextFile(file));
    assert.equal(doc.users[0].user.exec.command, "kubectl-token");
    assert.equal(doc.users[0].user.token, undefined);
    const env = { KUBECACHEDIR: cache };
    const tokenPath = `/api/v1/namespaces/${ns}/serviceaccounts/robot/token`;
    const tokenRequests = async () =>
      (await target.requests()).filter((q) => q.method === "POST" && q.path === tokenPath).length;

    await t.step("kubectl authenticates through exec-credential", async () => {
      assert.equal(
        await kubectlUser(target, ["--kubeconfig", file], env),
        `system:serviceaccount:${ns}:robot`,
      );
      assert.equal(await tokenRequests(), 1);
    });

    await t.step("a second kubectl call hits the cache: still one TokenRequest", async () => {
      await kubectlUser(target, ["--kubeconfig", file], env);
      assert.equal(await tokenRequests(), 1);
      const folder = join(cache, "kubectl-token");
      assert.equal(await modeOf(folder), 0o700);
      const names = (await Array.fromAsync(Deno.readDir(folder))).map((e) => e.name).sort();
      // One token entry, its lock file (an OS lock: the file stays), and the shortcut that finds
      // the entry without reading the kubeconfig.
      assert.equal(names.length, 3, names.join(" "));
      assert.match(names[0], /^[0-9a-f]{64}\.json$/);
      assert.equal(names[1], `${names[0]}.lock`);
      assert.match(names[2], /^shortcut-[0-9a-f]{64}\.json$/);
      for (const name of names) assert.equal(await modeOf(join(folder, name)), 0o600);
    });

    const args = [
      "exec-credential",
      "--service-account",
      `${ns}/robot`,
      "--kubeconfig",
      target.kubeconfig,
    ];
    await t.step("v1beta1 callers get a v1beta1 answer", async () => {
      const r = await runCli(args, {
        env: {
          KUBECACHEDIR: cache,
          KUBERNETES_EXEC_INFO: JSON.stringify({
            apiVersion: "client.authentication.k8s.io/v1beta1",
            kind: "ExecCredential",
            spec: { interactive: false },
          }),
        },
      });
      assert.equal(r.code, 0, r.stderr);
      const ec = JSON.parse(r.stdout);
      assert.equal(ec.apiVersion, "client.authentication.k8s.io/v1beta1");
      assert.equal(ec.kind, "ExecCredential");
      assert.equal(claims(ec.status.token).sub, `system:serviceaccount:${ns}:robot`);
      assert.match(ec.status.expirationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });

    await t.step("parallel calls share one TokenRequest", async () => {
      await runCli(["exec-credential", "--clear"], { env: { KUBECACHEDIR: cache } });
      const before = await tokenRequests();
      const results = await Promise.all(
        Array.from({ length: 6 }, () => runCli(args, { env: { KUBECACHEDIR: cache } })),
      );
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      const tokens = new Set(results.map((r) => JSON.parse(r.stdout).status.token));
      assert.equal(tokens.size, 1);
      assert.equal(await tokenRequests() - before, 1);
    });

    await t.step("a corrupt or foreign cache file is ignored and replaced", async () => {
      const folder = join(cache, "kubectl-token");
      const [name] = (await Array.fromAsync(Deno.readDir(folder))).map((e) => e.name)
        .filter((n) => /^[0-9a-f]{64}\.json$/.test(n));
      const entry = join(folder, name);
      const good = JSON.parse(await Deno.readTextFile(entry));
      const forged = { ...good, token: good.token.replace(/\.[^.]+$/, ".forged") };
      const cases = [
        { name: "not JSON", text: "{garbage", mode: 0o600 },
        { name: "readable by others", text: JSON.stringify(good), mode: 0o644 },
        {
          name: "another key",
          text: JSON.stringify({ ...good, key: "0".repeat(64) }),
          mode: 0o600,
        },
        {
          name: "a token from elsewhere",
          text: JSON.stringify({ ...good, token: "eyJhbGciOiJub25lIn0.e30.x" }),
          mode: 0o600,
        },
      ];
      for (const c of cases) {
        await Deno.writeTextFile(entry, c.text);
        await Deno.chmod(entry, c.mode);
        const before = await tokenRequests();
        const r = await runCli(args, { env: { KUBECACHEDIR: cache } });
        assert.equal(r.code, 0, `${c.name}: ${r.stderr}`);
        const token = JSON.parse(r.stdout).status.token;
        assert.notEqual(token, forged.token);
        assert.equal(claims(token).sub, `system:serviceaccount:${ns}:robot`, c.name);
        assert.equal(await tokenRequests() - before, 1, c.name);
        const rewritten = JSON.parse(await Deno.readTextFile(entry));
        assert.equal(rewritten.token, token, c.name);
        assert.equal(await modeOf(entry), 0o600, c.name);
      }
    });

    await t.step("the shortcut skips the kubeconfig until a kubeconfig file changes", async () => {
      const run = async () => {
        const r = await runCli([...args, "-v", "6"], { env: { KUBECACHEDIR: cache } });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(
          claims(JSON.parse(r.stdout).status.token).sub,
          `system:serviceaccount:${ns}:robot`,
        );
        return r.stderr;
      };
      const before = await tokenRequests();
      await run();
      assert.match(await run(), /token cache: hit \(shortcut\)/);
      // A changed kubeconfig may select another cluster or user: resolve it again.
      const later = new Date(Date.now() + 5000);
      await Deno.utime(target.kubeconfig, later, later);
      const changed = await run();
      assert.doesNotMatch(changed, /shortcut/);
      assert.match(changed, /token cache: hit/);
      assert.match(await run(), /token cache: hit \(shortcut\)/);
      // A shortcut naming another entry leads nowhere and is replaced.
      const folder = join(cache, "kubectl-token");
      for (const name of await Array.fromAsync(Deno.readDir(folder))) {
        if (!name.name.startsWith("shortcut-")) continue;
        const file = join(folder, name.name);
        const entry = JSON.parse(await Deno.readTextFile(file));
        await Deno.writeTextFile(file, JSON.stringify({ ...entry, key: "0".repeat(64) }));
      }
      assert.doesNotMatch(await run(), /shortcut/);
      assert.match(await run(), /token cache: hit \(shortcut\)/);
      assert.equal(await tokenRequests(), before);
    });

    await t.step("--clear removes the cached tokens", async () => {
      const r = await runCli(["exec-credential", "--clear"], { env: { KUBECACHEDIR: cache } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^Removed 1 cached token from/);
      assert.deepEqual(await Array.fromAsync(Deno.readDir(join(cache, "kubectl-token"))), []);
    });

    await t.step("without --service-account it is a usage error", async () => {
      const r = await runCli(["exec-credential"], { env: { KUBECACHEDIR: cache } });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--service-account is required/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await target.close();
  }
});

Deno.test("kubeconfig SA writes a token kubeconfig, or merges one keeping the rest", async (t) => {
  const target = await startTarget();
  const dir = await Deno.makeTempDir({ prefix: "kubeconfig-" });
  try {
    const ns = await freshNamespace(target);
    const env = { KUBECONFIG: target.kubeconfig };

    await t.step("to stdout, with a token that works", async () => {
      const r = await runCli(["kubeconfig", "robot", "-n", ns, "--duration", "30m"], { env });
      assert.equal(r.code, 0, r.stderr);
      const file = join(dir, "stdout.kubeconfig");
      await Deno.writeTextFile(file, r.stdout);
      const c = claims(parse(r.stdout).users[0].user.token);
      assert.equal((c.exp as number) - (c.iat as number), 1800);
      assert.equal(
        await kubectlUser(target, ["--kubeconfig", file]),
        `system:serviceaccount:${ns}:robot`,
      );
    });

    await t.step("--merge adds entries and leaves the others byte for byte", async () => {
      const file = join(dir, "merged");
      const original = await Deno.readTextFile(target.kubeconfig);
      const before = `# my own kubeconfig\n${original}`;
      await Deno.writeTextFile(file, before);
      await Deno.chmod(file, 0o640);
      const r = await runCli(
        ["kubeconfig", `${ns}/robot`, "--merge", file, "--kubeconfig", target.kubeconfig],
      );
      assert.equal(r.code, 0, r.stderr);
      const after = await Deno.readTextFile(file);
      assert.equal(await modeOf(file), 0o640);
      const doc = parse(after);
      assert.deepEqual(doc.contexts.map((c: { name: string }) => c.name), [
        parse(original).contexts[0].name,
        `${ns}-robot`,
      ]);
      // Remove the two added entries: what is left is the old file, byte for byte.
      const entry = (key: string) =>
        new RegExp(`^( *)- name: ${ns}-robot\\n\\1  ${key}:\\n(\\1    .*\\n)+`, "m");
      assert.match(after, entry("user"));
      assert.match(after, entry("context"));
      assert.equal(after.replace(entry("user"), "").replace(entry("context"), ""), before);
      assert.equal(doc["current-context"], parse(original)["current-context"]);
      assert.equal(
        await kubectlUser(target, ["--kubeconfig", file, "--context", `${ns}-robot`]),
        `system:serviceaccount:${ns}:robot`,
      );
    });

    await t.step(
      "--merge into a file kubectl wrote with users: null keeps its other bytes",
      async () => {
        const file = join(dir, "kubectl-written");
        const made = await runKubectl(
          ["config", "set-context", "other", "--cluster=elsewhere", "--kubeconfig", file],
        );
        assert.equal(made.code, 0, made.stderr);
        const before = await Deno.readTextFile(file);
        assert.match(before, /^clusters: null$/m);
        assert.match(before, /^users: null$/m);
        const r = await runCli(
          ["kubeconfig", `${ns}/robot`, "--merge", file, "--kubeconfig", target.kubeconfig],
        );
        assert.equal(r.code, 0, r.stderr);
        const after = await Deno.readTextFile(file);
        // Undo the merge by hand: the lists back to null, the added context and current-context
        // gone; what is left must be kubectl's file byte for byte.
        const undone = after
          .replace(/^clusters:\n(?:[- ] .*\n)+/m, "clusters: null\n")
          .replace(/^users:\n(?:[- ] .*\n)+/m, "users: null\n")
          .replace(new RegExp(`^- name: ${ns}-robot\\n  context:\\n(    .*\\n)+`, "m"), "")
          .replace(`current-context: "${ns}-robot"`, 'current-context: ""');
        assert.equal(undone, before);
        assert.equal(
          await kubectlUser(target, ["--kubeconfig", file, "--context", `${ns}-robot`]),
          `system:serviceaccount:${ns}:robot`,
        );
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await target.close();
  }
});

/** `exec-credential` for robot in `ns`, its cache under `base`, with `-v 1` diagnostics. */
function execCredential(target: Target, ns: string, base: string, extra: string[] = []) {
  return runCli(
    ["exec-credential", "--service-account", `${ns}/robot`, "--kubeconfig", target.kubeconfig]
      .concat(extra),
    { env: { KUBECACHEDIR: base } },
  );
}

const asRoot = Deno.uid() === 0;

Deno.test("exec-credential refuses a cache folder that is not the user's own and says what to fix", async (t) => {
  const target = await startTarget();
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "exec-folder-" }));
  try {
    const ns = await freshNamespace(target);
    let n = 0;
    /** A KUBECACHEDIR whose kubectl-token folder `plant` makes; returns both paths. */
    const planted = async (plant: (folder: string) => Promise<void>) => {
      const base = join(dir, `base-${n++}`);
      await Deno.mkdir(base);
      const folder = join(base, "kubectl-token");
      await plant(folder);
      return { base, folder };
    };
    const refusedOnce = (r: RunResult, detail: RegExp) => {
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, "");
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^error: Cannot use the token cache "[^"]+kubectl-token": /);
      assert.match(lines[0], detail);
    };
    const empty = async (folder: string) =>
      assert.deepEqual(await Array.fromAsync(Deno.readDir(folder)), []);

    for (
      const [name, mode, who] of [
        ["group-writable", 0o770, "its group"],
        ["world-writable", 0o777, "others"],
        ["world-writable with the sticky bit", 0o1777, "others"],
      ] as const
    ) {
      await t.step(`a ${name} folder is refused and left as it is`, async () => {
        const { base, folder } = await planted(async (f) => {
          await Deno.mkdir(f);
          await Deno.chmod(f, mode);
        });
        const r = await execCredential(target, ns, base);
        refusedOnce(
          r,
          new RegExp(
            `writable by ${who} \\(mode 0${(mode & 0o777).toString(8)}\\); run ` +
              `"chmod 700 ${folder}" or choose another KUBECACHEDIR$`,
          ),
        );
        assert.equal(await modeOf(folder), mode & 0o777);
        assert.equal((await Deno.lstat(folder)).mode! & 0o7777, mode);
        await empty(folder);
      });
    }

    await t.step(
      "a symlinked folder is refused: its target is neither chmod'ed nor filled",
      async () => {
        const elsewhere = join(dir, "elsewhere");
        await Deno.mkdir(elsewhere);
        await Deno.chmod(elsewhere, 0o755);
        const { base } = await planted((f) => Deno.symlink(elsewhere, f));
        refusedOnce(
          await execCredential(target, ns, base),
          /it is a symbolic link; remove it or choose another KUBECACHEDIR$/,
        );
        refusedOnce(
          await runCli(["exec-credential", "--clear"], { env: { KUBECACHEDIR: base } }),
          /it is a symbolic link/,
        );
        assert.equal(await modeOf(elsewhere), 0o755);
        await empty(elsewhere);
      },
    );

    await t.step("a file where the folder should be is refused", async () => {
      const { base } = await planted((f) => Deno.writeTextFile(f, "mine"));
      refusedOnce(await execCredential(target, ns, base), /it is not a folder/);
    });

    await t.step({
      name: "a folder owned by another user (uid 65534) is refused, even as root",
      ignore: !asRoot,
      fn: async () => {
        const { base, folder } = await planted(async (f) => {
          await Deno.mkdir(f, { mode: 0o700 });
          await Deno.chown(f, 65534, 65534);
        });
        refusedOnce(
          await execCredential(target, ns, base),
          /it belongs to user 65534, not to you \(0\); choose another KUBECACHEDIR$/,
        );
        await empty(folder);
      },
    });

    await t.step("a missing folder is created 0700, under missing parents", async () => {
      const base = join(dir, "new", "parent");
      const r = await execCredential(target, ns, base);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await modeOf(join(base, "kubectl-token")), 0o700);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await target.close();
  }
});

Deno.test("exec-credential ignores cache entries it did not write and replaces them without following links", async (t) => {
  const target = await startTarget();
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "exec-entries-" }));
  try {
    const ns = await freshNamespace(target);
    const base = join(dir, "cache");
    const folder = join(base, "kubectl-token");
    // With the -v the cases pass too: the shortcut's name depends on the flags.
    const first = await execCredential(target, ns, base, ["-v", "1"]);
    assert.equal(first.code, 0, first.stderr);
    const names = (await Array.fromAsync(Deno.readDir(folder))).map((e) => e.name);
    const entryName = names.find((n) => /^[0-9a-f]{64}\.json$/.test(n))!;
    const shortcutName = names.find((n) => n.startsWith("shortcut-"))!;
    assert.ok(entryName && shortcutName, names.join(" "));
    const entry = join(folder, entryName);
    const good = await Deno.readTextFile(entry);
    const tokenPath = `/api/v1/namespaces/${ns}/serviceaccounts/robot/token`;
    const tokenRequests = async () =>
      (await target.requests()).filter((q) => q.method === "POST" && q.path === tokenPath).length;

    // A fake home beside the cache: what a planted link points at must stay as it was.
    const home = join(dir, "home");
    await Deno.mkdir(home);
    const bashrc = join(home, ".bashrc");
    const outsideEntry = join(home, "copy.json");
    const cases: {
      name: string;
      file: string;
      plant: (path: string) => Promise<void>;
      why: RegExp;
      ignore?: boolean;
    }[] = [
      {
        name: "a symlink to ~/.bashrc",
        file: entryName,
        plant: (p) => Deno.symlink(bashrc, p),
        why: /it is a symbolic link/,
      },
      {
        name: "a symlink to a valid entry outside the folder",
        file: entryName,
        plant: async (p) => {
          await Deno.writeTextFile(outsideEntry, good, { mode: 0o600 });
          await Deno.symlink(outsideEntry, p);
        },
        why: /it is a symbolic link/,
      },
      {
        name: "a valid entry with mode 0644",
        file: entryName,
        plant: async (p) => {
          await Deno.writeTextFile(p, good);
          await Deno.chmod(p, 0o644);
        },
        why: /its mode is 0644, not 0600/,
      },
      {
        name: "a folder (a rename cannot replace it: it stays)",
        file: entryName,
        plant: (p) => Deno.mkdir(p),
        why: /it is not a regular file/,
      },
      {
        name: "a fifo",
        file: entryName,
        plant: async (p) => {
          const r = await new Deno.Command("mkfifo", { args: ["-m", "600", p] }).output();
          assert.equal(r.code, 0);
        },
        why: /it is not a regular file/,
      },
      {
        name: "a valid 0600 entry owned by another user (uid 65534)",
        file: entryName,
        plant: async (p) => {
          await Deno.writeTextFile(p, good, { mode: 0o600 });
          await Deno.chmod(p, 0o600);
          await Deno.chown(p, 65534, 65534);
        },
        why: /it belongs to user 65534, not to you \(0\)/,
        ignore: !asRoot,
      },
      {
        name: "a symlinked shortcut to ~/.bashrc",
        file: shortcutName,
        plant: (p) => Deno.symlink(bashrc, p),
        why: /it is a symbolic link/,
      },
    ];
    for (const c of cases) {
      await t.step({
        name: `${c.name} is ignored, reported at -v 1, and never followed`,
        ignore: c.ignore,
        fn: async () => {
          await Deno.writeTextFile(bashrc, "alias ll='ls -l'\n");
          await Deno.chmod(bashrc, 0o644);
          const before = await Deno.stat(bashrc);
          const path = join(folder, c.file);
          await Deno.remove(path, { recursive: true });
          await c.plant(path);
          const requests = await tokenRequests();
          const r = await execCredential(target, ns, base, ["-v", "1"]);
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stderr, new RegExp(`^I token cache: ignoring "${c.file}": `, "m"));
          assert.match(r.stderr, c.why);
          const token = JSON.parse(r.stdout).status.token;
          assert.equal(claims(token).sub, `system:serviceaccount:${ns}:robot`);
          assert.doesNotMatch(r.stderr, new RegExp(token.split(".")[2]));
          // An ignored token entry is a miss; an ignored shortcut is not.
          assert.equal(await tokenRequests() - requests, c.file === entryName ? 1 : 0, c.file);
          // The link (or fifo) itself was replaced by our own 0600 file; a folder cannot be
          // replaced by a rename and stays, costing a request per call.
          const info = await Deno.lstat(path);
          if (c.name.startsWith("a folder")) assert.ok(info.isDirectory);
          else {
            assert.ok(info.isFile && !info.isSymlink, c.name);
            assert.equal(info.mode! & 0o777, 0o600);
            assert.equal(info.uid, Deno.uid());
          }
          const after = await Deno.stat(bashrc);
          assert.equal(await Deno.readTextFile(bashrc), "alias ll='ls -l'\n");
          assert.equal(after.mtime?.getTime(), before.mtime?.getTime());
          assert.equal(after.mode! & 0o777, 0o644);
          if (c.name.includes("outside")) assert.equal(await Deno.readTextFile(outsideEntry), good);
        },
      });
    }

    await t.step("--clear removes a planted link, not its target", async () => {
      await Deno.remove(entry, { recursive: true });
      await Deno.symlink(bashrc, entry);
      const r = await runCli(["exec-credential", "--clear"], { env: { KUBECACHEDIR: base } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await Deno.readTextFile(bashrc), "alias ll='ls -l'\n");
      assert.deepEqual(await Array.fromAsync(Deno.readDir(folder)), []);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await target.close();
  }
});

Deno.test("exec-credential killed while holding the cache lock does not make the next call wait", async (t) => {
  const target = await startTarget();
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "exec-lock-" }));
  try {
    const ns = await freshNamespace(target);
    const base = join(dir, "cache");
    const folder = join(base, "kubectl-token");
    const first = await execCredential(target, ns, base);
    assert.equal(first.code, 0, first.stderr);
    const entryName = (await Array.fromAsync(Deno.readDir(folder))).map((e) => e.name)
      .find((n) => /^[0-9a-f]{64}\.json$/.test(n))!;

    await t.step("a waiting call goes on at once when the holder is SIGKILLed", async () => {
      const holder = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--quiet",
          fileURLToPath(new URL("./_hold_cache_lock.ts", import.meta.url)),
          folder,
          entryName,
        ],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      while (!out.includes("locked\n")) {
        const { value, done } = await reader.read();
        assert.ok(!done, `the holder ended before locking: ${out}`);
        out += value;
      }
      // A miss needs the lock: without the entry this call must queue behind the holder.
      await Deno.remove(join(folder, entryName));
      let finished = false;
      const waiting = execCredential(target, ns, base).then((r) => (finished = true, r));
      // Nothing to poll for: the point is that the call does not end while the lock is held.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      assert.equal(finished, false, "the call did not wait for the lock");
      const killedAt = performance.now();
      holder.kill("SIGKILL");
      assert.equal((await holder.status).signal, "SIGKILL");
      await reader.cancel();
      const r = await waiting;
      const waited = performance.now() - killedAt;
      assert.equal(r.code, 0, r.stderr);
      // The old lock file waited 60 s for a killed holder's lock to go stale.
      assert.ok(waited < 30_000, `the call waited ${Math.round(waited)} ms after the kill`);
      assert.equal(
        claims(JSON.parse(r.stdout).status.token).sub,
        `system:serviceaccount:${ns}:robot`,
      );
      // The lock file the killed process held is still there, and stops nobody.
      assert.ok((await Deno.lstat(join(folder, `${entryName}.lock`))).isFile);
      await Deno.remove(join(folder, entryName));
      const started = performance.now();
      const next = await execCredential(target, ns, base);
      assert.equal(next.code, 0, next.stderr);
      assert.ok(performance.now() - started < 30_000);
    });

    await t.step(
      "a lock file left by an older version (mode 0) does not make the call wait",
      async () => {
        const lock = join(folder, `${entryName}.lock`);
        await Deno.remove(lock);
        await Deno.writeFile(lock, new Uint8Array(), { mode: 0 });
        await Deno.remove(join(folder, entryName));
        const started = performance.now();
        const r = await execCredential(target, ns, base);
        assert.equal(r.code, 0, r.stderr);
        assert.ok(performance.now() - started < 30_000);
        assert.equal(await modeOf(lock), 0o600);
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await target.close();
  }
});

Deno.test("exec-credential renews a cached token at 80% of its lifetime, at edge instants (pinned clocks)", async (t) => {
  for (const at of EDGE_INSTANTS) {
    await t.step(at, async () => {
      const server = await startApiServer({ now: processClock(at) });
      const base = await Deno.makeTempDir({ prefix: "exec-edge-" });
      try {
        namespace(server, "edge");
        serviceAccount(server, "edge", "robot");
        const tokenRequests = () =>
          server.requests.filter((q) =>
            q.method === "POST" && q.path === "/api/v1/namespaces/edge/serviceaccounts/robot/token"
          ).length;
        const call = async (now: number) => {
          const r = await runCli(
            ["exec-credential", "--service-account", "edge/robot", "--duration", "1h", "-v", "6"],
            {
              env: {
                KUBECONFIG: server.kubeconfigPath,
                KUBECACHEDIR: base,
                [CLOCK_ENV]: new Date(now).toISOString(),
              },
            },
          );
          assert.equal(r.code, 0, r.stderr);
          return { ...JSON.parse(r.stdout).status, stderr: r.stderr };
        };
        const start = Date.parse(at);
        const first = await call(start);
        const iat = claims(first.token).iat as number;
        const exp = claims(first.token).exp as number;
        // The server's clock started at `at` too: the token is issued then, not at the wall time.
        assert.ok(iat * 1000 >= start - 1000 && iat * 1000 < start + 60_000, `iat ${iat}`);
        assert.equal(exp, iat + 3600);
        assert.equal(
          first.expirationTimestamp,
          new Date(exp * 1000).toISOString().replace(".000Z", "Z"),
        );
        assert.equal(tokenRequests(), 1);

        // Just before 80% of the lifetime: the cached token.
        const cached = await call((iat + 2880) * 1000 - 2000);
        assert.equal(cached.token, first.token);
        assert.equal(cached.expirationTimestamp, first.expirationTimestamp);
        assert.match(cached.stderr, /token cache: hit/);
        assert.equal(tokenRequests(), 1);

        // At 80%: a new one, and the old is never handed out again.
        const renewed = await call((iat + 2880) * 1000);
        assert.match(renewed.stderr, /token cache: the cached token is due for renewal/);
        assert.equal(tokenRequests(), 2);
        assert.notEqual(renewed.token, first.token);
      } finally {
        await Deno.remove(base, { recursive: true });
        await server.close();
      }
    });
  }
});
