import assert from "node:assert/strict";
import { runCli, runKubectl } from "./_cli.ts";
import { eventually, tokenKubeconfig } from "./_cluster.ts";
import { startTarget } from "./_target.ts";

const TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

Deno.test("kubectl token bootstrap generate prints a random token without a cluster", async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const r = await runCli(["bootstrap", "generate"], { env: { KUBECONFIG: "/nonexistent" } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trimEnd(), TOKEN);
    seen.add(r.stdout);
  }
  assert.equal(seen.size, 3);
});

Deno.test("a created bootstrap token authenticates and a deleted one no longer does", async (t) => {
  const target = await startTarget();
  try {
    const env = { KUBECONFIG: target.kubeconfig };
    const created = await runKubectl(
      ["token", "bootstrap", "create", "--description", "join node-7", "--ttl", "2h"],
      { env },
    );
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    const [, id, secret] = TOKEN.exec(token) ?? [];
    assert.ok(id, `not a bootstrap token: ${created.stdout.length} characters`);
    const asToken = { KUBECONFIG: await tokenKubeconfig(target, token) };

    await t.step("whoami as the token", async () => {
      const r = await runCli(["whoami", "-o", "json"], { env: asToken });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.userInfo.username, `system:bootstrap:${id}`);
      assert.ok(doc.userInfo.groups.includes("system:bootstrappers"));
      if (target.capabilities.selfSubjectReview) {
        assert.ok(doc.userInfo.groups.includes("system:bootstrappers:kubeadm:default-node-token"));
      } else {
        // The token's extra groups live in its Secret, which the token may not read.
        target.note("no SelfSubjectReview: the bootstrap token's claimed identity, unverified");
        assert.equal(doc.verified, false);
        const api = await runKubectl(["get", "--raw", "/api"], { env: asToken });
        assert.equal(api.code, 0, api.stderr);
      }
    });

    await t.step("list shows the ID, never the secret", async () => {
      const r = await runCli(["bootstrap", "list"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^TOKEN ID\s+TTL\s+EXPIRES\s+USAGES\s+DESCRIPTION\s+EXTRA GROUPS\n/);
      assert.match(
        r.stdout,
        new RegExp(`\\n${id}\\s+(119m|120m)\\s+\\S+Z\\s+signing,authentication\\s+join node-7\\s+`),
      );
      assert.ok(!r.stdout.includes(secret));
      const audit = await runCli(["audit", "-A", "-o", "wide"], { env });
      assert.ok(!audit.stdout.includes(secret));
      assert.match(audit.stdout, new RegExp(`BootstrapToken\\s+${id}\\s`));
    });

    await t.step("delete, then it no longer authenticates", async () => {
      const r = await runCli(["bootstrap", "delete", id], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `bootstrap token "${id}" deleted\n`);
      // A real server caches successful logins for a few seconds.
      const { authCacheSeconds } = target.capabilities;
      await eventually(async () => {
        const who = await runCli(["whoami"], { env: asToken });
        assert.equal(who.code, 1);
        assert.match(who.stderr, /Unauthorized/);
        assert.ok(!who.stderr.includes(secret));
      }, { timeoutMs: (authCacheSeconds + 20) * 1000, intervalMs: 1000 });
    });

    await t.step("--ttl 0 warns; bad flags are usage errors", async () => {
      const forever = await runCli(["bootstrap", "create", "--ttl", "0", "-o", "json"], { env });
      assert.equal(forever.code, 0, forever.stderr);
      assert.match(forever.stderr, /^Warning: the token never expires \(--ttl 0\)/);
      const doc = JSON.parse(forever.stdout);
      assert.equal(doc.expires, undefined);
      const listed = await runCli(["bootstrap", "list", "-o", "json"], { env });
      const item = JSON.parse(listed.stdout).items.find((i: { tokenID: string }) =>
        i.tokenID === doc.tokenID
      );
      assert.equal(item.expires, undefined);
      for (
        const [argv, message] of [
          [["--groups", "system:nodes"], /Invalid value "system:nodes" for flag --groups/],
          [["--usages", "signing,root"], /Invalid value "root" for flag --usages/],
          [["--ttl", "soon"], /Invalid value "soon" for flag --ttl/],
          [["abc.def"], /Invalid token argument/],
        ] as [string[], RegExp][]
      ) {
        const r = await runCli(["bootstrap", "create", ...argv], { env });
        assert.equal(r.code, 2, argv.join(" "));
        assert.match(r.stderr, message);
      }
    });
  } finally {
    await target.close();
  }
});
