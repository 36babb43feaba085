/**
 * A registry entry belongs to its service account (ownerReference): deleting the account lets
 * the garbage collector delete the entry, which `issued` then no longer lists, and the token
 * stops authenticating. On the real server kube-controller-manager's collector does it; the
 * local server plays the same collector (tests/apiserver/_controllers.ts).
 */
import assert from "node:assert/strict";
import { runCli, runKubectl } from "./_cli.ts";
import { admin, create, eventually, freshNamespace, tokenKubeconfig } from "./_cluster.ts";
import { startTarget } from "./_target.ts";

Deno.test("deleting a service account removes its registry entries, and its revocable tokens end", async (t) => {
  const target = await startTarget();
  try {
    const env = { KUBECONFIG: target.kubeconfig };
    const ns = await freshNamespace(target, "issued-owner");
    await create(target, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "leaver", namespace: ns },
    });
    const issue = async (sa: string) => {
      const r = await runCli(["create", sa, "-n", ns, "--revocable", "--duration", "1h"], { env });
      assert.equal(r.code, 0, r.stderr);
      const m = /^issued token "([^"]+)" in namespace "/.exec(r.stderr);
      assert.ok(m, r.stderr);
      return { token: r.stdout, id: m[1] };
    };
    const leaver = await issue("leaver");
    const stayer = await issue("robot");
    const ids = async () => {
      const r = await runCli(["issued", "-n", ns, "-o", "json"], { env });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).items.map((i: { id: string }) => i.id).sort();
    };
    const secretExists = async (id: string) =>
      (await runKubectl(["--kubeconfig", target.kubeconfig, "get", "secret", id, "-n", ns]))
        .code === 0;
    /** TokenReview as the admin: whether the server accepts the token. */
    const reviewed = async (token: string) =>
      JSON.parse(
        await admin(
          target,
          ["create", "--validate=false", "-o", "json", "-f", "-"],
          JSON.stringify({
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenReview",
            spec: { token },
          }),
        ),
      ).status.authenticated === true;
    const works = async (token: string) =>
      (await runCli(["whoami"], { env: { KUBECONFIG: await tokenKubeconfig(target, token) } }))
        .code === 0;

    await t.step("before: both tokens authenticate and are listed", async () => {
      assert.deepEqual(await ids(), [leaver.id, stayer.id].sort());
      assert.ok(await reviewed(leaver.token));
      assert.ok(await works(leaver.token));
    });

    await t.step("the service account's deletion takes its registry entry along", async () => {
      await admin(target, ["delete", "serviceaccount", "leaver", "-n", ns]);
      // The collector acts within a second or two of the owner's deletion.
      await eventually(async () => {
        assert.equal(await secretExists(leaver.id), false, "the registry Secret is collected");
      }, { timeoutMs: 30_000, intervalMs: 500 });
      assert.deepEqual(await ids(), [stayer.id]);
      assert.ok(await secretExists(stayer.id), "another account's entry stays");
    });

    await t.step("its token fails TokenReview and a real request; the other works", async () => {
      const timeoutMs = (target.capabilities.authCacheSeconds + 20) * 1000;
      await eventually(async () => assert.equal(await reviewed(leaver.token), false), {
        timeoutMs,
        intervalMs: 1000,
      });
      await eventually(async () => assert.equal(await works(leaver.token), false), {
        timeoutMs,
        intervalMs: 1000,
      });
      assert.ok(await reviewed(stayer.token));
      assert.ok(await works(stayer.token));
    });
  } finally {
    await target.close();
  }
});
