/**
 * `rotate` of a least-privilege service account: the new token is requested by another identity
 * (--requester-context, --requester-kubeconfig), and `rotate --all` over files and folders.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { CLOCK_ENV } from "../../src/runtime.ts";
import { runCli, runKubectl } from "./_cli.ts";
import {
  admin,
  adminUser,
  claims,
  create,
  freshNamespace,
  kubectlUser,
  robotToken,
} from "./_cluster.ts";
import { startTarget } from "./_target.ts";
import { clusterYaml, writeFile } from "./_rotate.ts";

/** A kubeconfig on cluster "main" with one context per user (named like it); the first is current. */
function usersKubeconfig(
  cluster: string,
  ns: string,
  users: { name: string; user: string; context?: boolean }[],
): string {
  return `# CI credentials: keep this comment
apiVersion: v1
kind: Config
clusters:
${cluster}contexts:
` +
    users.filter((u) => u.context !== false).map((u) =>
      `- context:\n    cluster: main\n    namespace: ${ns}\n    user: ${u.name}\n  name: ${u.name}\n`
    ).join("") +
    `current-context: ${users[0].name}\nusers:\n` +
    users.map((u) => `- name: ${u.name}\n  user:\n    ${u.user}\n`).join("");
}

/** The token of `user` in a kubeconfig's text. */
function tokenOf(text: string, user: string): string {
  return parse(text).users.find((u: { name: string }) => u.name === user).user.token;
}

/** The instant `seconds` before the token's `exp`, as KUBECTL_TOKEN_NOW takes it. */
function beforeExpiry(token: string, seconds: number): string {
  return new Date(((claims(token).exp as number) - seconds) * 1000).toISOString();
}

/** Rows of a kubectl-style table, split on runs of 3+ spaces (cells hold single spaces). */
function tableRows(stdout: string): string[][] {
  return stdout.trimEnd().split("\n").map((line) => line.split(/ {3,}/));
}

Deno.test("rotate of a least-privilege service account requests the token as another identity", async (t) => {
  const target = await startTarget();
  const dir = await Deno.makeTempDir({ prefix: "rotate-requester-" });
  try {
    // No RBAC lets "robot" create its own token, as on a real cluster.
    const ns = await freshNamespace(target);
    await create(target, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "helper", namespace: ns },
    });
    const cluster = await clusterYaml(target);
    const a = await adminUser(target);
    const adminEntry = `client-certificate-data: ${a["client-certificate-data"]}\n` +
      `    client-key-data: ${a["client-key-data"]}`;
    const expected = `system:serviceaccount:${ns}:robot`;

    const check = async (file: string, before: string, old: string) => {
      const after = await Deno.readTextFile(file);
      const token = tokenOf(after, "robot");
      assert.notEqual(token, old);
      assert.equal(after, before.replace(old, token));
      const c = claims(token);
      const o = claims(old);
      assert.equal(c.sub, expected);
      assert.deepEqual(c.aud, o.aud);
      assert.equal((c.exp as number) - (c.iat as number), (o.exp as number) - (o.iat as number));
      assert.equal(
        await kubectlUser(target, ["--kubeconfig", file, "--context", "robot"]),
        expected,
      );
      return token;
    };

    await t.step("without a requester, the 403 names the flags to use", async () => {
      const old = await robotToken(target, ns, "2h");
      const before = usersKubeconfig(cluster, ns, [{ name: "robot", user: `token: ${old}` }]);
      const file = await writeFile(dir, "self", before);
      const r = await runCli(["rotate", "--kubeconfig", file]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, "");
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0],
        new RegExp(
          `^error: Cannot request token for service account "${ns}/robot": .*forbidden.*; ` +
            `the token of user "robot" may not create "serviceaccounts/token" for its own ` +
            `service account .*: request the new token as a more privileged identity with ` +
            `--requester-context NAME or --requester-kubeconfig FILE$`,
        ),
      );
      assert.ok(!r.stderr.includes(old.split(".")[2]));
      assert.equal(await Deno.readTextFile(file), before);
    });

    await t.step("--requester-context names a context of the same kubeconfig", async () => {
      const old = await robotToken(target, ns, "2h");
      const before = usersKubeconfig(cluster, ns, [
        { name: "robot", user: `token: ${old}   # the CI robot` },
        { name: "admin", user: adminEntry },
      ]);
      const file = await writeFile(dir, "same-file", before, 0o640);
      const r = await runKubectl(["token", "rotate", "--requester-context", "admin"], {
        env: { KUBECONFIG: file },
      });
      assert.equal(r.code, 0, r.stderr);
      const token = await check(file, before, old);
      assert.match(
        r.stdout,
        /^Rotated the token of user "robot" in ".*same-file": service account/,
      );
      assert.ok(!r.stdout.includes(token) && !r.stderr.includes(token));
      assert.equal((await Deno.stat(file)).mode! & 0o777, 0o640);
    });

    await t.step("--requester-kubeconfig uses that file's current context", async () => {
      const old = await robotToken(target, ns, "2h");
      const before = usersKubeconfig(cluster, ns, [{ name: "robot", user: `token: ${old}` }]);
      const file = await writeFile(dir, "ci.kubeconfig", before);
      const r = await runCli([
        "rotate",
        "--kubeconfig",
        file,
        "--requester-kubeconfig",
        target.kubeconfig,
      ]);
      assert.equal(r.code, 0, r.stderr);
      await check(file, before, old);
    });

    await t.step(
      "--requester-kubeconfig with --requester-context picks a context in it",
      async () => {
        const requester = await writeFile(
          dir,
          "requester",
          usersKubeconfig(cluster, ns, [
            { name: "someone", user: "token: not-a-token" },
            { name: "boss", user: adminEntry },
          ]),
        );
        const old = await robotToken(target, ns, "2h");
        const before = usersKubeconfig(cluster, ns, [{ name: "robot", user: `token: ${old}` }]);
        const file = await writeFile(dir, "ci2.kubeconfig", before);
        const args = ["rotate", "--kubeconfig", file, "--requester-kubeconfig", requester];
        const missing = await runCli([...args, "--requester-context", "nope"]);
        assert.equal(missing.code, 1);
        assert.equal(
          missing.stderr,
          `error: Context was not found for specified context: "nope"\n`,
        );
        assert.equal(await Deno.readTextFile(file), before);
        const r = await runCli([...args, "--requester-context", "boss"]);
        assert.equal(r.code, 0, r.stderr);
        await check(file, before, old);
      },
    );

    await t.step("an expired token is rotated by a requester, and only by one", async () => {
      const old = await robotToken(target, ns, "2h");
      const before = usersKubeconfig(cluster, ns, [
        { name: "robot", user: `token: ${old}` },
        { name: "admin", user: adminEntry },
      ]);
      const file = await writeFile(dir, "expired", before);
      // The CLI's clock is an hour past the token's expiry; the server still accepts it, but the
      // CLI must not ask the user itself.
      const env = { KUBECONFIG: file, [CLOCK_ENV]: beforeExpiry(old, -3600) };
      const alone = await runCli(["rotate"], { env });
      assert.equal(alone.code, 1);
      assert.match(
        alone.stderr,
        /^error: Cannot rotate user "robot": its token expired 60m ago; rotate it with another identity \(--requester-context NAME or --requester-kubeconfig FILE\)/,
      );
      assert.equal(await Deno.readTextFile(file), before);
      const r = await runCli(["rotate", "--requester-context", "admin"], { env });
      assert.equal(r.code, 0, r.stderr);
      await check(file, before, old);
    });

    await t.step("a requester without the right is told what it needs", async () => {
      const helper = (await runCli(["create", "helper", "-n", ns, "--duration", "1h"], {
        env: { KUBECONFIG: target.kubeconfig },
      })).stdout;
      const old = await robotToken(target, ns, "2h");
      const before = usersKubeconfig(cluster, ns, [
        { name: "robot", user: `token: ${old}` },
        { name: "helper", user: `token: ${helper}` },
      ]);
      const file = await writeFile(dir, "helper", before);
      const r = await runCli(["rotate", "--requester-context", "helper"], {
        env: { KUBECONFIG: file },
      });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(
          `^error: Cannot request token for service account "${ns}/robot": .*forbidden.*; ` +
            `context "helper" needs permission to create "serviceaccounts/token" for ` +
            `"${ns}/robot"\n$`,
        ),
      );
      assert.equal(await Deno.readTextFile(file), before);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await target.close();
  }
});

Deno.test("rotate --all rotates the due token users and lists the rest", async (t) => {
  const target = await startTarget();
  const dir = await Deno.makeTempDir({ prefix: "rotate-all-" });
  try {
    const ns = await freshNamespace(target);
    const sa = (name: string) => ({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name, namespace: ns },
    });
    for (const name of ["later", "gone", "files"]) await create(target, sa(name));
    const cluster = await clusterYaml(target);
    const a = await adminUser(target);
    const adminEntry = `client-certificate-data: ${a["client-certificate-data"]}\n` +
      `    client-key-data: ${a["client-key-data"]}`;
    const token = async (name: string, duration: string) => {
      const r = await runCli(["create", name, "-n", ns, "--duration", duration], {
        env: { KUBECONFIG: target.kubeconfig },
      });
      if (r.code !== 0) throw new Error(r.stderr);
      if (!target.capabilities.credentialId) {
        // No jti before 1.29: a token rotated in the same second would be the same token.
        await new Promise((resolve) => setTimeout(resolve, 1050 - (Date.now() % 1000)));
      }
      return r.stdout;
    };

    await t.step("one file: due, not due, failing and non-token users", async () => {
      const robot = await robotToken(target, ns, "2h");
      const gone = await token("gone", "2h");
      const later = await token("later", "10h");
      const files = await token("files", "2h");
      const tokenFile = await writeFile(dir, "files.token", `${files}\n`);
      const before = usersKubeconfig(cluster, ns, [
        { name: "robot", user: `token: ${robot}   # rotated` },
        { name: "later", user: `token: ${later}` },
        { name: "gone", user: `token: ${gone}` },
        { name: "files", user: `tokenFile: ${tokenFile}` },
        {
          name: "plugin",
          user: "exec: {apiVersion: client.authentication.k8s.io/v1, command: get-token, " +
            "interactiveMode: Never}",
        },
        { name: "admin", user: adminEntry },
        { name: "orphan", user: "token: not-a-token", context: false },
      ]);
      const file = await writeFile(dir, "config", before);
      await admin(target, ["delete", "serviceaccount", "gone", "-n", ns]);
      // The CLI's clock where the latest of the 2h tokens has exactly 20% (24m) left.
      const latest = [robot, gone, files].reduce((x, y) =>
        (claims(x).exp as number) >= (claims(y).exp as number) ? x : y
      );
      const r = await runCli(
        ["rotate", "--all", "--kubeconfig", file, "--requester-context", "admin"],
        { env: { [CLOCK_ENV]: beforeExpiry(latest, 24 * 60) } },
      );
      assert.equal(r.code, 1, r.stderr);
      const rows = tableRows(r.stdout);
      assert.deepEqual(rows[0], ["FILE", "USER", "SERVICE-ACCOUNT", "RESULT", "DETAIL"]);
      const byUser = Object.fromEntries(rows.slice(1).map((row) => [row[1], row]));
      assert.deepEqual(rows.slice(1).map((row) => row[1]), [
        "robot",
        "later",
        "gone",
        "files",
        "plugin",
        "admin",
        "orphan",
      ]);
      for (const row of rows.slice(1)) assert.equal(row[0], file);
      assert.deepEqual(byUser.robot.slice(2, 4), [`${ns}/robot`, "rotated"]);
      assert.match(
        byUser.robot[4],
        /^new token expires in \S+; the old one expires in 2[34]m \(within 20%\)$/,
      );
      assert.deepEqual(byUser.later.slice(2), [
        `${ns}/later`,
        "skipped",
        byUser.later[4],
      ]);
      assert.match(byUser.later[4], /^expires in 8h\d*m? \(not within 20%\)$/);
      assert.deepEqual(byUser.gone.slice(2, 4), [`${ns}/gone`, "failed"]);
      assert.match(byUser.gone[4], /serviceaccounts "gone" not found/);
      assert.deepEqual(byUser.files.slice(2, 4), [`${ns}/files`, "rotated"]);
      assert.match(byUser.files[4], new RegExp(`\\(token file "${tokenFile}"\\)$`));
      assert.deepEqual(byUser.plugin.slice(2), [
        "<none>",
        "skipped",
        'exec plugin "get-token" renews its credential',
      ]);
      assert.deepEqual(byUser.admin.slice(2), ["<none>", "skipped", "client certificate"]);
      assert.deepEqual(byUser.orphan.slice(2), [
        "<none>",
        "skipped",
        "no context uses it, so its cluster is unknown",
      ]);
      // One error line, at the end, for the one failure.
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0],
        new RegExp(
          `^error: Cannot rotate 1 of 7 users: user "gone" in "${file}": Cannot request token ` +
            `for service account "${ns}/gone": .*not found`,
        ),
      );
      // Only robot's token changed in the file, and the token file holds a new token.
      const after = await Deno.readTextFile(file);
      const fresh = tokenOf(after, "robot");
      assert.notEqual(fresh, robot);
      assert.equal(after, before.replace(robot, fresh));
      assert.equal(claims(fresh).sub, `system:serviceaccount:${ns}:robot`);
      const newFiles = (await Deno.readTextFile(tokenFile)).trim();
      assert.notEqual(newFiles, files);
      assert.equal(claims(newFiles).sub, `system:serviceaccount:${ns}:files`);
      assert.equal(
        await kubectlUser(target, ["--kubeconfig", file, "--context", "robot"]),
        `system:serviceaccount:${ns}:robot`,
      );
      for (const t of [fresh, newFiles]) assert.ok(!r.stdout.includes(t) && !r.stderr.includes(t));
      assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), [
        "config",
        "files.token",
      ]);
    });

    await t.step("a folder: each file on its own, hidden and backup files left alone", async () => {
      const folder = join(dir, "kubeconfigs");
      await Deno.mkdir(folder);
      const one = await robotToken(target, ns, "2h");
      const two = await token("later", "2h");
      const first = usersKubeconfig(cluster, ns, [{ name: "robot", user: `token: ${one}` }]);
      const second = usersKubeconfig(cluster, ns, [{ name: "later", user: `token: ${two}` }]);
      const a = await writeFile(folder, "a.yaml", first);
      const b = await writeFile(folder, "b.yml", second, 0o640);
      await writeFile(folder, ".hidden", "not: [a kubeconfig");
      await writeFile(folder, "old.bak", "not: [a kubeconfig");
      await writeFile(folder, "stale.lock", "");
      await Deno.mkdir(join(folder, "sub"));
      const usage = await runCli([
        "rotate",
        "--all",
        "--kubeconfig",
        folder,
        "--requester-context",
        "x",
      ]);
      assert.equal(usage.code, 2);
      assert.match(
        usage.stderr,
        /^error: Flag --requester-context needs --requester-kubeconfig when --kubeconfig is a folder/,
      );
      // "100%": every token is due, whenever the test runs.
      const r = await runCli([
        "rotate",
        "--all",
        "--kubeconfig",
        folder,
        "--requester-kubeconfig",
        target.kubeconfig,
        "--if-expires-within",
        "100%",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      const rows = tableRows(r.stdout).slice(1);
      assert.deepEqual(rows.map((row) => row.slice(0, 4)), [
        [a, "robot", `${ns}/robot`, "rotated"],
        [b, "later", `${ns}/later`, "rotated"],
      ]);
      const newA = await Deno.readTextFile(a);
      const newB = await Deno.readTextFile(b);
      assert.equal(newA, first.replace(one, tokenOf(newA, "robot")));
      assert.equal(newB, second.replace(two, tokenOf(newB, "later")));
      assert.notEqual(tokenOf(newA, "robot"), one);
      assert.notEqual(tokenOf(newB, "later"), two);
      assert.equal((await Deno.stat(b)).mode! & 0o777, 0o640);
      assert.equal(await Deno.readTextFile(join(folder, "old.bak")), "not: [a kubeconfig");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await target.close();
  }
});
