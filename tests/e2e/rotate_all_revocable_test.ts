/**
 * `rotate --all` keeps revocable tokens revocable as plain `rotate` does: each successor gets its
 * own registry entry, and once every file is written the old entries are revoked after --grace.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, runKubectl } from "./_cli.ts";
import { create, eventually, freshNamespace, tokenKubeconfig } from "./_cluster.ts";
import { startTarget } from "./_target.ts";

Deno.test("rotate --all gives revocable tokens revocable successors and revokes the old ones after --grace", async () => {
  const target = await startTarget();
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-rotate-all-revocable-" });
  try {
    const env = { KUBECONFIG: target.kubeconfig };
    const ns = await freshNamespace(target, "rotate-all");
    await create(target, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "helper", namespace: ns },
    });
    const configs = join(dir, "configs");
    await Deno.mkdir(configs);
    const a = join(configs, "a.kubeconfig");
    const b = join(configs, "b.kubeconfig");
    const issue = async (sa: string, file: string, merge: boolean) => {
      const r = await runCli([
        "kubeconfig",
        `${ns}/${sa}`,
        "--duration",
        "1h",
        "--revocable",
        "--purpose",
        `${sa} in ${file.endsWith("a.kubeconfig") ? "a" : "b"}`,
        merge ? "--merge" : "--output-file",
        file,
      ], { env });
      assert.equal(r.code, 0, r.stderr);
      return /^issued token "([^"]+)"/m.exec(r.stderr)![1];
    };
    // Two users in one file, one in another: the folder is rotated file by file.
    const oldIds = [await issue("robot", a, false), await issue("helper", a, true)];
    oldIds.push(await issue("robot", b, false));
    const tokensOf = async (file: string) =>
      (JSON.parse(
        (await runKubectl(["--kubeconfig", file, "config", "view", "--raw", "-o", "json"])).stdout,
      ).users as { user: { token: string } }[]).map((u) => u.user.token);
    const oldTokens = [...await tokensOf(a), ...await tokensOf(b)];
    assert.equal(oldTokens.length, 3);
    const issued = async () => {
      const r = await runCli(["issued", "-n", ns, "-o", "json"], { env });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).items as { id: string; purpose?: string }[];
    };

    const r = await runCli([
      "rotate",
      "--all",
      "--kubeconfig",
      configs,
      "--requester-kubeconfig",
      target.kubeconfig,
      "--if-expires-within",
      "100%",
      "--grace",
      "2s",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trimEnd().split("\n").slice(1);
    assert.equal(rows.length, 3, r.stdout);
    const newIds = rows.map((row) => {
      const m = /\srotated\s.*; revocable: the new token is issued token "([^"]+)"$/.exec(row);
      assert.ok(m, row);
      return m[1];
    });
    // One wait for all, then each old entry revoked once.
    assert.match(r.stderr, /^Revoking 3 old issued tokens in 2s \(--grace\)\.\.\.\n/);
    for (const id of oldIds) {
      assert.match(
        r.stderr,
        new RegExp(`^issued token "${ns}/${id}" \\(the old token\\) revoked$`, "m"),
      );
    }
    const now = await issued();
    assert.deepEqual(now.map((i) => i.id).sort(), [...newIds].sort());
    assert.deepEqual(
      now.map((i) => i.purpose).sort(),
      ["helper in a", "robot in a", "robot in b"],
      "each successor keeps its purpose",
    );

    const newTokens = [...await tokensOf(a), ...await tokensOf(b)];
    for (const token of newTokens) {
      assert.ok(!oldTokens.includes(token));
      const works = await runCli(["whoami"], {
        env: { KUBECONFIG: await tokenKubeconfig(target, token) },
      });
      assert.equal(works.code, 0, works.stderr);
    }
    for (const token of oldTokens) {
      const file = await tokenKubeconfig(target, token);
      await eventually(
        async () =>
          assert.notEqual((await runCli(["whoami"], { env: { KUBECONFIG: file } })).code, 0),
        { timeoutMs: (target.capabilities.authCacheSeconds + 20) * 1000, intervalMs: 1000 },
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await target.close();
  }
});
