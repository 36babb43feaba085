import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { runCli, runKubectl } from "./_cli.ts";
import { claims, freshNamespace, kubectlUser } from "./_cluster.ts";
import { startTarget } from "./_target.ts";
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
    const tokenRequests = () =>
      target.local?.requests.filter((q) => q.method === "POST" && q.path === tokenPath).length;

    await t.step("kubectl authenticates through exec-credential", async () => {
      assert.equal(
        await kubectlUser(target, ["--kubeconfig", file], env),
        `system:serviceaccount:${ns}:robot`,
      );
      if (target.local) assert.equal(tokenRequests(), 1);
    });

    await t.step("a second kubectl call hits the cache: still one TokenRequest", async () => {
      await kubectlUser(target, ["--kubeconfig", file], env);
      if (target.local) assert.equal(tokenRequests(), 1);
      const folder = join(cache, "kubectl-token");
      assert.equal(await modeOf(folder), 0o700);
      const names = (await Array.fromAsync(Deno.readDir(folder))).map((e) => e.name).sort();
      // One token entry, and the shortcut that finds it without reading the kubeconfig.
      assert.equal(names.length, 2, names.join(" "));
      assert.match(names[0], /^[0-9a-f]{64}\.json$/);
      assert.match(names[1], /^shortcut-[0-9a-f]{64}\.json$/);
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
      const before = tokenRequests();
      const results = await Promise.all(
        Array.from({ length: 6 }, () => runCli(args, { env: { KUBECACHEDIR: cache } })),
      );
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      const tokens = new Set(results.map((r) => JSON.parse(r.stdout).status.token));
      assert.equal(tokens.size, 1);
      if (target.local) assert.equal(tokenRequests()! - before!, 1);
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
        const before = tokenRequests();
        const r = await runCli(args, { env: { KUBECACHEDIR: cache } });
        assert.equal(r.code, 0, `${c.name}: ${r.stderr}`);
        const token = JSON.parse(r.stdout).status.token;
        assert.notEqual(token, forged.token);
        assert.equal(claims(token).sub, `system:serviceaccount:${ns}:robot`, c.name);
        if (target.local) assert.equal(tokenRequests()! - before!, 1, c.name);
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
      const before = tokenRequests();
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
      if (target.local) assert.equal(tokenRequests(), before);
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
