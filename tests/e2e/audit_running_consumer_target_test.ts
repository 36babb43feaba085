/**
 * Issue 13's "done when", on both targets: a legacy token Secret mounted by a running Pod is
 * reported with that Pod, and no selector of revoke (--orphaned, --unused-for) deletes it.
 * Neither target runs a kubelet, so the Pod is made Running the way a kubelet reports it: its
 * status (the real server's pods/status subresource; the local server's store). An orphaned
 * Secret does not last on the real server (its token controller deletes it at once): that case
 * is the local-only test in audit_consumers_target_test.ts.
 */
import assert from "node:assert/strict";
import { runCli, runKubectl } from "./_cli.ts";
import { admin, create, freshNamespace, legacyToken } from "./_cluster.ts";
import { DAY_MS } from "./_audit_seed.ts";
import { startTarget } from "./_target.ts";
import { CLOCK_ENV } from "../../src/runtime.ts";

interface Item {
  kind: string;
  name: string;
  consumers?: { kind: string; name: string; phase?: string; references: unknown[] }[] | null;
  findings: { type: string }[];
}

Deno.test("a legacy token mounted by a running Pod is reported with it and kept by revoke's selectors", async (t) => {
  const target = await startTarget();
  try {
    const env = { KUBECONFIG: target.kubeconfig };
    const ns = await freshNamespace(target, "running-consumer");
    const { name: secret } = await legacyToken(target, ns, "robot", "robot-token-mounted");
    await create(target, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "runner", namespace: ns },
      spec: {
        serviceAccountName: "robot",
        automountServiceAccountToken: false,
        volumes: [{ name: "creds", secret: { secretName: secret } }],
        containers: [{ name: "app", image: "busybox" }],
      },
    });
    if (target.local) {
      const pod = target.local.store.get("v1", "Pod", ns, "runner")!;
      target.local.store.update({ ...pod, status: { ...pod.status as object, phase: "Running" } });
    } else {
      await admin(target, [
        "patch",
        "pod",
        "runner",
        "-n",
        ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({ status: { phase: "Running" } }),
      ]);
    }
    const phase = await admin(target, [
      "get",
      "pod",
      "runner",
      "-n",
      ns,
      "-o",
      "jsonpath={.status.phase}",
    ]);
    assert.equal(phase, "Running");

    await t.step("audit names the running Pod as the Secret's consumer", async () => {
      const r = await runCli(["audit", "-n", ns, "--kind", "secret", "-o", "json"], { env });
      assert.equal(r.code, 0, r.stderr);
      const item = (JSON.parse(r.stdout).items as Item[]).find((i) => i.name === secret);
      assert.ok(item, r.stdout);
      assert.deepEqual(
        item.consumers?.map((c) => `${c.kind}/${c.name}:${c.phase}`),
        ["Pod/runner:Running"],
      );
      assert.ok(item.findings.some((f) => f.type === "in-use"));
    });

    const exists = async () =>
      (await runKubectl(["--kubeconfig", target.kubeconfig, "get", "secret", secret, "-n", ns]))
        .code === 0;
    await t.step("revoke --orphaned and --unused-for never delete it", async () => {
      const orphaned = await runCli(["revoke", "-n", ns, "--orphaned", "--yes"], { env });
      assert.equal(orphaned.code, 0, orphaned.stderr);
      assert.doesNotMatch(orphaned.stdout, /deleted/);
      // Old enough to be unused by this clock: selected, and kept for its Pod.
      const later = { ...env, [CLOCK_ENV]: new Date(Date.now() + 200 * DAY_MS).toISOString() };
      const unused = await runCli(["revoke", "-n", ns, "--unused-for", "90d", "--yes"], {
        env: later,
      });
      assert.equal(unused.code, 0, unused.stderr);
      assert.match(
        unused.stderr,
        new RegExp(
          `^Skipping Secret "${ns}/${secret}": used by pod/runner.* \\(--force deletes it anyway\\)$`,
          "m",
        ),
      );
      assert.ok(await exists(), "the Secret the running Pod mounts is kept");
    });
  } finally {
    await target.close();
  }
});
