import assert from "node:assert/strict";
import { runCli, runKubectl } from "./_cli.ts";
import { admin, create, eventually, freshNamespace, tokenKubeconfig } from "./_cluster.ts";
import { startTarget } from "./_target.ts";

Deno.test("kubectl token revoke ends a bound token by its Pod or by its service account", async (t) => {
  const target = await startTarget();
  try {
    const env = { KUBECONFIG: target.kubeconfig };
    const ns = await freshNamespace(target, "revoke");
    await create(target, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: {
        name: "builder",
        namespace: ns,
        labels: { team: "ci" },
        annotations: { "example.com/owner": "alice" },
      },
      imagePullSecrets: [{ name: "registry" }],
      automountServiceAccountToken: false,
    });
    await create(target, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "worker", namespace: ns },
      spec: { serviceAccountName: "builder", containers: [{ name: "c", image: "busybox" }] },
    });
    const token = async (...extra: string[]) => {
      const r = await runCli(["create", "builder", "-n", ns, ...extra], { env });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const works = async (jwt: string) =>
      (await runCli(["whoami"], { env: { KUBECONFIG: await tokenKubeconfig(target, jwt) } }))
        .code === 0;
    // A real API server caches successful token logins for a few seconds.
    const { authCacheSeconds } = target.capabilities;
    const stopsWorking = (jwt: string) =>
      eventually(async () => assert.equal(await works(jwt), false), {
        timeoutMs: (authCacheSeconds + 20) * 1000,
        intervalMs: 1000,
      });

    const podToken = await token("--bound-object-kind", "Pod", "--bound-object-name", "worker");
    await t.step("explains how a bound token ends", async () => {
      const r = await runKubectl(["token", "revoke", "token", "-"], { env, stdin: podToken });
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(`service account "${ns}/builder" cannot be revoked by itself`),
      );
      assert.match(
        r.stdout,
        new RegExp(`  - Pod "${ns}/worker" \\(UID [-0-9a-f]+\\) is deleted:\\n`),
      );
      assert.match(r.stdout, /--delete-bound-object\n/);
      assert.match(
        r.stdout,
        /which invalidates every token of that account:\n.*--recreate-service-account\n$/,
      );
      assert.ok(!r.stdout.includes(podToken) && !r.stderr.includes(podToken));
    });

    await t.step("--delete-bound-object deletes the Pod, and the token stops working", async () => {
      assert.ok(await works(podToken));
      const dry = await runCli(["revoke", "-", "--delete-bound-object", "--dry-run"], {
        env,
        stdin: podToken,
      });
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, new RegExp(`${ns}\\s+Pod\\s+worker\\s+the token is bound to it\\n`));
      assert.ok(await works(podToken));
      const r = await runCli(["revoke", "token", "-", "--delete-bound-object", "--yes"], {
        env,
        stdin: podToken,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`pod "${ns}/worker" deleted\\n`));
      await stopsWorking(podToken);
    });

    await t.step("--recreate-service-account keeps its settings and ends every token", async () => {
      const a = await token();
      const b = await token("--audience", "vault");
      assert.ok(await works(a));
      const beforeUid = await admin(target, [
        "get",
        "serviceaccount",
        "builder",
        "-n",
        ns,
        "-o",
        "jsonpath={.metadata.uid}",
      ]);
      assert.ok(beforeUid);
      const refused = await runCli(["revoke", "token", "-", "--recreate-service-account"], {
        env,
        stdin: a,
      });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /Refusing to delete without confirmation/);
      const r = await runCli(["revoke", "token", "-", "--recreate-service-account", "--yes"], {
        env,
        stdin: a,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`serviceaccount "${ns}/builder" recreated \\(UID `));
      await stopsWorking(a);
      const sa = JSON.parse(
        (await runKubectl([
          "--kubeconfig",
          target.kubeconfig,
          "get",
          "sa",
          "builder",
          "-n",
          ns,
          "-o",
          "json",
        ]))
          .stdout,
      );
      assert.equal(sa.metadata.labels.team, "ci");
      assert.equal(sa.metadata.annotations["example.com/owner"], "alice");
      assert.deepEqual(sa.imagePullSecrets, [{ name: "registry" }]);
      assert.equal(sa.automountServiceAccountToken, false);
      assert.notEqual(sa.metadata.uid, beforeUid);
      // The other token (another audience) is also dead: every token of the old account is.
      const again = await runCli(["revoke", "token", "-", "--recreate-service-account", "--yes"], {
        env,
        stdin: b,
      });
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /was already recreated .*: the token no longer works\.\n$/);
      await stopsWorking(b);
    });
  } finally {
    await target.close();
  }
});
