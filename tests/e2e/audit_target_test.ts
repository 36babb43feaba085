/**
 * `audit` against the target cluster itself (audit_test.ts seeds a local server with every kind
 * of finding): on servers before 1.27 no legacy token Secret is ever labelled with its last use,
 * and the audit must say that use is not recorded rather than call the token never used.
 */
import assert from "node:assert/strict";
import { runCli, runKubectl } from "./_cli.ts";
import { freshNamespace, legacyToken } from "./_cluster.ts";
import { startTarget } from "./_target.ts";

interface Item {
  kind: string;
  namespace: string;
  name: string;
  findings: { type: string; severity: string; reason: string }[];
}

Deno.test("audit finds the target's legacy token Secrets and says whether use is recorded", async () => {
  const target = await startTarget();
  try {
    const ns = await freshNamespace(target, "audit");
    const { name } = await legacyToken(target, ns, "robot");
    const r = await runKubectl(["token", "audit", "-n", ns, "-o", "json"], {
      env: { KUBECONFIG: target.kubeconfig },
    });
    assert.equal(r.code, 0, r.stderr);
    const items = (JSON.parse(r.stdout) as { items: Item[] }).items;
    const secret = items.find((i) => i.kind === "Secret" && i.name === name);
    assert.ok(secret, `no item for Secret "${name}"`);
    const types = secret.findings.map((f) => f.type).sort();
    assert.deepEqual(types, ["long-lived", "never-used"]);
    const neverUsed = secret.findings.find((f) => f.type === "never-used")!;
    const { minor } = target.capabilities.version;
    const tracked = minor >= 27;
    if (!tracked) {
      target.note("no legacy token tracking before 1.27: the audit says use is not recorded");
    }
    // Where the server cannot record use, "not recorded" is information, never a finding that
    // --fail-on counts.
    assert.equal(neverUsed.severity, tracked ? "low" : "info");
    assert.match(
      neverUsed.reason,
      tracked
        ? /^no use recorded \(no kubernetes.io\/legacy-token-last-used/
        : new RegExp(`^use not recorded: the API server \\(v1\\.${minor}\\.\\d+\\) predates`),
    );
    if (target.capabilities.legacyTokenAutoCreated) {
      // The token controller made one more for "robot" by itself.
      const auto = items.filter((i) => i.kind === "Secret" && i.name.startsWith("robot-token-"));
      assert.equal(auto.length, 1);
    }
    const text = await runCli(["audit", "-n", ns], { env: { KUBECONFIG: target.kubeconfig } });
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(`Secret\\s+${name}\\s+robot\\s+\\S+\\s+${tracked ? "<never>" : "<untracked>"}\\s`),
    );
  } finally {
    await target.close();
  }
});
