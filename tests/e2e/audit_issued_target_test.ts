/**
 * `audit` on both targets: an issued token's registry entry, a second after its token expired,
 * is an "unpruned" finding whose remedy (`issued --prune`) clears it; a second before, nothing.
 * The CLI's clock is pinned (KUBECTL_TOKEN_NOW) around the expiry the entry records.
 */
import assert from "node:assert/strict";
import { runCli } from "./_cli.ts";
import { admin, freshNamespace } from "./_cluster.ts";
import { startTarget } from "./_target.ts";
import { CLOCK_ENV } from "../../src/runtime.ts";

interface Doc {
  items: {
    kind: string;
    name: string;
    findings: { type: string; severity: string; reason: string }[];
  }[];
  summary: { issuedTokens: number; secrets: number; findings: Record<string, number> };
}

Deno.test("audit reports an expired issued token whose entry was never pruned, until it is", async (t) => {
  const target = await startTarget();
  try {
    const env = { KUBECONFIG: target.kubeconfig };
    const ns = await freshNamespace(target, "audit-issued");
    const r = await runCli(["create", "robot", "-n", ns, "--revocable", "--duration", "1h"], {
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    const id = /^issued token "([^"]+)"/.exec(r.stderr)![1];
    const secret = JSON.parse(await admin(target, ["get", "secret", id, "-n", ns, "-o", "json"]));
    const expires = Date.parse(secret.metadata.annotations["kubectl-token.io/expires-at"]);
    const at = (ms: number) => ({
      ...env,
      [CLOCK_ENV]: new Date(expires + ms).toISOString().replace(/\.\d+Z$/, "Z"),
    });
    const audit = async (clock: Record<string, string>, ...args: string[]) => {
      const r = await runCli(["audit", "-n", ns, "-o", "json", ...args], { env: clock });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as Doc;
    };

    await t.step("a second before its expiry: read, no finding", async () => {
      const doc = await audit(at(-1000));
      assert.equal(doc.summary.issuedTokens, 1);
      assert.deepEqual(doc.items.filter((i) => i.kind === "IssuedToken"), []);
      // The registry entry is no legacy token Secret either.
      assert.deepEqual(doc.items.filter((i) => i.name === id), []);
    });

    await t.step("a second after: unpruned (low), with the remedy", async () => {
      const doc = await audit(at(1000));
      assert.deepEqual(doc.items.filter((i) => i.name === id), [{
        kind: "IssuedToken",
        namespace: ns,
        name: id,
        uid: secret.metadata.uid,
        serviceAccount: "robot",
        requester: secret.metadata.annotations["kubectl-token.io/requester"],
        creationTimestamp: secret.metadata.creationTimestamp,
        expires: secret.metadata.annotations["kubectl-token.io/expires-at"],
        state: "expired",
        findings: [{
          type: "unpruned",
          severity: "low",
          reason: `issued token expired 1s ago; its registry entry was never pruned ` +
            `(kubectl token issued -n ${ns} --prune)`,
          replacement: `kubectl token issued -n ${ns} --prune`,
        }],
      }]);
      const table = await runCli(["audit", "-n", ns, "--kind", "issued"], { env: at(1000) });
      assert.equal(table.code, 0, table.stderr);
      assert.match(
        table.stdout,
        new RegExp(
          `\\n${ns}\\s+IssuedToken\\s+${id}\\s+robot\\s+\\S+\\s+<none>\\s+<expired>\\s+low\\s+unpruned\\n$`,
        ),
      );
      assert.equal(table.stderr, "1 issued tokens read; findings: 1 low\n");
      const gate = await runCli(["audit", "-n", ns, "--kind", "issued", "--fail-on", "low"], {
        env: at(1000),
      });
      assert.equal(gate.code, 1);
      assert.match(gate.stderr, /error: Found 1 finding of severity "low" or above/);
    });

    await t.step("the remedy clears the finding", async () => {
      const pruned = await runCli(["issued", "-n", ns, "--prune"], { env: at(1000) });
      assert.equal(pruned.code, 0, pruned.stderr);
      const doc = await audit(at(1000), "--kind", "issued");
      assert.equal(doc.summary.issuedTokens, 0);
      assert.deepEqual(doc.items, []);
    });
  } finally {
    await target.close();
  }
});
