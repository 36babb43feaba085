import assert from "node:assert/strict";
import { parse } from "yaml";
import { runCli, runKubectl } from "./_cli.ts";
import { claims, freshNamespace, robotToken } from "./_cluster.ts";
import { startTarget } from "./_target.ts";
import { allowSelfRotation, clusterYaml, modeOf, writeFile } from "./_rotate.ts";

function kubeconfigText(cluster: string, ns: string, token: string): string {
  return `# Managed by hand: keep this comment
apiVersion: v1
kind: Config
clusters:
${cluster}contexts:
- context:
    cluster: main
    namespace: ${ns}
    user: robot
  name: robot
- context: {cluster: main, user: someone-else}   # flow style stays flow style
  name: other
current-context: robot
preferences: {}
users:
- name: someone-else
  user:
    token: not-a-real-token    # untouched
- name: robot
  user:
    token: ${token}   # rotated by kubectl token
`;
}

Deno.test("rotate replaces the token of a kubeconfig user, keeping the rest of the file", async (t) => {
  const target = await startTarget();
  const dir = await Deno.makeTempDir({ prefix: "rotate-" });
  try {
    const ns = await freshNamespace(target);
    await allowSelfRotation(target, ns);
    const cluster = await clusterYaml(target);

    await t.step("a token user, through kubectl token rotate --backup", async () => {
      const old = await robotToken(target, ns, "2h");
      const before = kubeconfigText(cluster, ns, old);
      const file = await writeFile(dir, "config", before, 0o640);
      const r = await runKubectl(["token", "rotate", "--backup"], { env: { KUBECONFIG: file } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Rotated the token of user "robot" in ".*config": service account/);
      const after = await Deno.readTextFile(file);
      const token = parse(after).users[1].user.token as string;
      assert.notEqual(token, old);
      // Every byte but the token's is the same.
      assert.equal(after, before.replace(old, token));
      assert.equal(await modeOf(file), 0o640);
      const c = claims(token);
      const o = claims(old);
      assert.equal(c.sub, `system:serviceaccount:${ns}:robot`);
      assert.deepEqual(c.aud, o.aud);
      assert.equal((c.exp as number) - (c.iat as number), (o.exp as number) - (o.iat as number));
      assert.equal(await Deno.readTextFile(`${file}.bak`), before);
      assert.equal(await modeOf(`${file}.bak`), 0o600);
      assert.ok(!r.stdout.includes(token) && !r.stderr.includes(token));
      assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), [
        "config",
        "config.bak",
      ]);
    });

    await t.step("--duration sets the new lifetime", async () => {
      const file = await writeFile(
        dir,
        "duration",
        kubeconfigText(cluster, ns, await robotToken(target, ns)),
      );
      const r = await runCli(["rotate", "--duration", "3h", "--kubeconfig", file]);
      assert.equal(r.code, 0, r.stderr);
      const c = claims(parse(await Deno.readTextFile(file)).users[1].user.token);
      assert.equal((c.exp as number) - (c.iat as number), 3 * 3600);
    });

    await t.step("--dry-run changes nothing and prints no token", async () => {
      const old = await robotToken(target, ns);
      const before = kubeconfigText(cluster, ns, old);
      const file = await writeFile(dir, "dry", before);
      const tokenPath = `/api/v1/namespaces/${ns}/serviceaccounts/robot/token`;
      const tokenRequests = async () =>
        (await target.requests()).filter((q) => q.method === "POST" && q.path === tokenPath)
          .length;
      const requests = await tokenRequests();
      const r = await runCli(["rotate", "--dry-run"], { env: { KUBECONFIG: file } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Would rotate the token of user "robot"/);
      assert.match(r.stdout, /\(dry run\)\n$/);
      assert.ok(!r.stdout.includes(old.split(".")[2]));
      assert.equal(await Deno.readTextFile(file), before);
      assert.equal(await tokenRequests(), requests, "a dry run requests no token");
    });

    await t.step("a tokenFile user gets its token file rewritten", async () => {
      const old = await robotToken(target, ns);
      const tokenFile = await writeFile(dir, "robot.token", `${old}\n`, 0o600);
      const text = `apiVersion: v1
kind: Config
clusters:
${cluster}contexts:
- context: {cluster: main, namespace: ${ns}, user: robot}
  name: robot
current-context: robot
users:
- name: robot
  user:
    tokenFile: ${tokenFile}
`;
      const file = await writeFile(dir, "tokenfile-config", text);
      const r = await runCli(["rotate"], { env: { KUBECONFIG: file } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /token file ".*robot.token" of user "robot"/);
      assert.equal(await Deno.readTextFile(file), text);
      const now = await Deno.readTextFile(tokenFile);
      assert.match(now, /^ey[^\n]+\n$/);
      assert.notEqual(now, `${old}\n`);
      assert.equal(claims(now.trim()).sub, `system:serviceaccount:${ns}:robot`);
      assert.equal(await modeOf(tokenFile), 0o600);
    });

    await t.step(
      "with KUBECONFIG holding two files, only the one defining the user changes",
      async () => {
        const old = await robotToken(target, ns);
        const first = `# first file: cluster and context
apiVersion: v1
kind: Config
clusters:
${cluster}contexts:
- context:
    cluster: main
    namespace: ${ns}
    user: robot
  name: robot
current-context: robot
`;
        const second = `# second file: the user
apiVersion: v1
kind: Config
users:
- name: robot
  user:
    token: ${old}
`;
        const a = await writeFile(dir, "first", first);
        const b = await writeFile(dir, "second", second, 0o644);
        const r = await runCli(["rotate"], { env: { KUBECONFIG: `${a}:${b}` } });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await Deno.readTextFile(a), first);
        const after = await Deno.readTextFile(b);
        const token = parse(after).users[0].user.token;
        assert.notEqual(token, old);
        assert.equal(after, second.replace(old, token));
        assert.equal(await modeOf(b), 0o644);
        // And the new token works.
        const who = await runCli(["whoami", "-o", "json"], { env: { KUBECONFIG: `${a}:${b}` } });
        assert.equal(JSON.parse(who.stdout).userInfo.username, `system:serviceaccount:${ns}:robot`);
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await target.close();
  }
});

Deno.test("rotate writes what kubectl reads: in place, or refused with the reason", async (t) => {
  const target = await startTarget();
  const dir = await Deno.makeTempDir({ prefix: "rotate-" });
  try {
    const ns = await freshNamespace(target);
    await allowSelfRotation(target, ns);
    const cluster = await clusterYaml(target);
    const head = (user: string) =>
      `apiVersion: v1\nkind: Config\nclusters:\n${cluster}contexts:\n` +
      `- context: {cluster: main, namespace: ${ns}, user: robot}\n  name: robot\n` +
      `current-context: robot\nusers:\n- name: robot\n  user:\n${user}`;

    await t.step("two token keys: refused with the line, nothing written", async () => {
      const old = await robotToken(target, ns);
      // kubectl reads the last of two keys; an edit of the first would change nothing it uses.
      const text = head(`    token: stale-first\n    token: ${old}\n`);
      const file = await writeFile(dir, "duplicate", text);
      const r = await runCli(["rotate"], { env: { KUBECONFIG: file } });
      assert.equal(r.code, 1, r.stderr);
      const line = text.split("\n").findIndex((l) => l.includes(old)) + 1;
      assert.equal(
        r.stderr,
        `error: Cannot edit kubeconfig "${file}": duplicate key "token" in users[0].user at ` +
          `line ${line}\n`,
      );
      assert.equal(r.stdout, "");
      assert.equal(await Deno.readTextFile(file), text);
      const view = await runKubectl([
        "config",
        "view",
        "--raw",
        "-o",
        "jsonpath={.users[0].user.token}",
      ], {
        env: { KUBECONFIG: file },
      });
      assert.equal(view.stdout, old, "kubectl reads the last key");
    });

    await t.step("a token that is an alias: refused", async () => {
      const old = await robotToken(target, ns);
      const text = `shared: &tok ${old}\n` + head("    token: *tok\n");
      const file = await writeFile(dir, "alias", text);
      const r = await runCli(["rotate"], { env: { KUBECONFIG: file } });
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /^error: Cannot edit kubeconfig ".*": "users\[0\]\.user\.token" is a YAML alias \("\*tok"\)\n$/,
      );
      assert.equal(await Deno.readTextFile(file), text);
    });

    await t.step("a |- block-scalar token: only its content line changes", async () => {
      const old = await robotToken(target, ns);
      const text = head(`    token: |-\n      ${old}\n    # the next comment stays here\n`);
      const file = await writeFile(dir, "block", text);
      const r = await runCli(["rotate"], { env: { KUBECONFIG: file } });
      assert.equal(r.code, 0, r.stderr);
      const after = await Deno.readTextFile(file);
      const token = parse(after).users[0].user.token as string;
      assert.notEqual(token, old);
      assert.equal(after, text.replace(old, token));
    });

    await t.step("a CRLF kubeconfig stays CRLF", async () => {
      const old = await robotToken(target, ns);
      const text = head(`    token: ${old}  # rotated\n`).replaceAll("\n", "\r\n");
      const file = await writeFile(dir, "crlf", text);
      const r = await runCli(["rotate"], { env: { KUBECONFIG: file } });
      assert.equal(r.code, 0, r.stderr);
      const after = await Deno.readTextFile(file);
      const token = parse(after).users[0].user.token as string;
      assert.notEqual(token, old);
      assert.equal(after, text.replace(old, token));
    });

    await t.step("a CRLF tokenFile keeps its CRLF", async () => {
      const old = await robotToken(target, ns);
      const tokenFile = await writeFile(dir, "crlf.token", `${old}\r\n`, 0o640);
      const file = await writeFile(dir, "crlf-tokenfile", head(`    tokenFile: ${tokenFile}\n`));
      const r = await runCli(["rotate"], { env: { KUBECONFIG: file } });
      assert.equal(r.code, 0, r.stderr);
      const now = await Deno.readTextFile(tokenFile);
      assert.match(now, /^ey[^\r\n]+\r\n$/);
      assert.notEqual(now, `${old}\r\n`);
      assert.equal(await modeOf(tokenFile), 0o640);
      // kubectl reads the file too (an invalid bearer token gets 401, not anonymous access).
      const api = await runKubectl(["get", "--raw", "/api"], { env: { KUBECONFIG: file } });
      assert.equal(api.code, 0, api.stderr);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await target.close();
  }
});

Deno.test("rotate explains what to do for users it cannot rotate", async (t) => {
  const target = await startTarget();
  const dir = await Deno.makeTempDir({ prefix: "rotate-" });
  try {
    const cluster = await clusterYaml(target);
    const cases = [
      {
        name: "exec plugin",
        user: "exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: " +
          "get-token\n      interactiveMode: Never",
        error: /exec plugin "get-token", which renews it/,
      },
      {
        name: "no credential",
        user: "{}",
        error: /has no token/,
      },
    ];
    for (const c of cases) {
      await t.step(c.name, async () => {
        const text = `apiVersion: v1\nkind: Config\nclusters:\n${cluster}contexts:\n` +
          `- context: {cluster: main, user: u}\n  name: c\ncurrent-context: c\nusers:\n` +
          `- name: u\n  user:\n    ${c.user}\n`;
        const file = await writeFile(dir, "config", text);
        const r = await runCli(["rotate"], { env: { KUBECONFIG: file } });
        assert.equal(r.code, 1);
        assert.match(r.stderr, c.error);
        assert.equal(await Deno.readTextFile(file), text);
      });
    }
    await t.step("client certificate", async () => {
      const r = await runCli(["rotate", "--kubeconfig", target.kubeconfig]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /client certificate; renew the certificate instead/);
    });
    await t.step("--grace with --all waits only when a revocable token was rotated", async () => {
      const r = await runCli([
        "rotate",
        "--all",
        "--grace",
        "1m",
        "--kubeconfig",
        target.kubeconfig,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /\sskipped\s+client certificate\n$/);
      assert.doesNotMatch(r.stderr, /Revoking|--grace/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await target.close();
  }
});

Deno.test("20 parallel rotations on one kubeconfig lose nothing", async () => {
  const target = await startTarget();
  const dir = await Deno.makeTempDir({ prefix: "rotate-" });
  try {
    const ns = await freshNamespace(target);
    await allowSelfRotation(target, ns);
    const cluster = await clusterYaml(target);
    const old = await robotToken(target, ns);
    const n = 20;
    const names = Array.from({ length: n }, (_, i) => `u${i}`);
    const text = `# twenty users\napiVersion: v1\nkind: Config\nclusters:\n${cluster}contexts:\n` +
      names.map((u) => `- context: {cluster: main, namespace: ${ns}, user: ${u}}\n  name: ${u}\n`)
        .join("") +
      `current-context: u0\nusers:\n` +
      names.map((u) => `- name: ${u}\n  user:\n    token: ${old}\n`).join("");
    const file = await writeFile(dir, "config", text);
    const results = await Promise.all(
      names.map((u) => runCli(["rotate", "--context", u], { env: { KUBECONFIG: file } })),
    );
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const after = await Deno.readTextFile(file);
    const doc = parse(after);
    assert.equal(doc.users.length, n);
    const tokens = new Set<string>();
    for (const [i, u] of names.entries()) {
      assert.equal(doc.users[i].name, u);
      const token = doc.users[i].user.token as string;
      assert.notEqual(token, old, `user ${u} kept its old token`);
      assert.equal(claims(token).sub, `system:serviceaccount:${ns}:robot`);
      tokens.add(token);
    }
    if (target.capabilities.credentialId) assert.equal(tokens.size, n);
    else target.note("no jti: tokens issued in the same second are identical, not all distinct");
    // Nothing but the tokens changed.
    assert.equal(after.replace(/token: \S+/g, "token: T"), text.replace(/token: \S+/g, "token: T"));
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["config"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await target.close();
  }
});

Deno.test("20 parallel rotations of one user leave the last token written", async () => {
  const target = await startTarget();
  const dir = await Deno.makeTempDir({ prefix: "rotate-" });
  try {
    const ns = await freshNamespace(target);
    await allowSelfRotation(target, ns);
    const cluster = await clusterYaml(target);
    const old = await robotToken(target, ns);
    const text = kubeconfigText(cluster, ns, old);
    const file = await writeFile(dir, "config", text);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => runCli(["rotate"], { env: { KUBECONFIG: file } })),
    );
    // Each run rotates the token it read; a run that read a token another run already replaced
    // still succeeds, because the replaced token stays valid until it expires.
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const after = await Deno.readTextFile(file);
    const token = parse(after).users[1].user.token as string;
    assert.notEqual(token, old);
    assert.equal(after, text.replace(old, token));
    const who = await runCli(["whoami", "-o", "json"], { env: { KUBECONFIG: file } });
    assert.equal(JSON.parse(who.stdout).userInfo.username, `system:serviceaccount:${ns}:robot`);
    // The file holds the newest token issued (the last write wins, under the lock).
    const iat = claims(token).iat as number;
    assert.ok(iat >= (claims(old).iat as number));
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["config"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await target.close();
  }
});
