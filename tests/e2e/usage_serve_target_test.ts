/**
 * `usage serve` receiving the target API server's own audit webhook batches (the local test
 * server, or the real kube-apiserver with --audit-webhook-config-file), on both targets.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runKubectl } from "./_cli.ts";
import { eventually } from "./_cluster.ts";
import { startTarget } from "./_target.ts";
import { startUsageServe } from "./_usage_serve.ts";
import { denoRuntime } from "../../src/runtime.ts";
import { readUsageDb } from "../../src/usage/store.ts";

Deno.test("usage serve stores the target API server's audit batches", async () => {
  const target = await startTarget();
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-usage-serve-" });
  const db = join(dir, "usage.db");
  const hook = target.auditWebhook;
  const served = await startUsageServe([
    "--listen",
    hook.listen,
    "--tls-cert-file",
    hook.certFile,
    "--tls-private-key-file",
    hook.keyFile,
    "--db",
    db,
  ], { HOME: dir });
  try {
    const r = await runKubectl(["--kubeconfig", target.kubeconfig, "get", "namespaces"]);
    assert.equal(r.code, 0, r.stderr);
    const made = "kubectl/";
    const snapshot = await eventually(async () => {
      const s = await readUsageDb(denoRuntime(), db);
      const seen = s.credentials.find((c) =>
        Object.keys(c.userAgents).some((ua) => ua.includes(made))
      );
      if (!seen) throw new Error(`no request of "${made}" in the usage database yet`);
      return { s, seen };
    }, { timeoutMs: 30_000, intervalMs: 200 });
    assert.ok(snapshot.s.events > 0);
    assert.ok(snapshot.seen.requests >= 1);
    assert.ok(Object.keys(snapshot.seen.sourceIPs).length >= 1);
  } finally {
    const { code, stderr } = await served.stop();
    await target.close();
    assert.equal(code, 0, stderr);
  }
});
