import assert from "node:assert/strict";
import { startApiServer } from "./mod.ts";
import { eventually } from "../e2e/_cluster.ts";

Deno.test("the garbage collector deletes what only a deleted owner held, and unhooks the rest", async () => {
  const server = await startApiServer();
  try {
    const { store } = server;
    const sa = store.create({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "robot", namespace: "default" },
    });
    const keeper = store.create({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "keeper", namespace: "default" },
    });
    const ref = (o: typeof sa) => ({
      apiVersion: "v1",
      kind: "ServiceAccount",
      name: o.metadata.name!,
      uid: o.metadata.uid!,
    });
    const secret = (name: string, owners: ReturnType<typeof ref>[]) =>
      store.create({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace: "default", ownerReferences: owners },
        type: "kubectl-token.io/issued-token",
      });
    secret("owned", [ref(sa)]);
    secret("shared", [ref(sa), ref(keeper)]);
    // Same name, another UID: an owner that was already replaced does not hold it.
    secret("stale", [{ ...ref(sa), uid: "00000000-0000-0000-0000-000000000000" }]);
    secret("other", [ref(keeper)]);
    const poll = (check: () => void) =>
      eventually(() => Promise.resolve().then(check), { timeoutMs: 2000, intervalMs: 20 });
    const get = (name: string) => store.get("v1", "Secret", "default", name);

    assert.ok(store.delete("v1", "ServiceAccount", "default", "robot"));
    await poll(() => {
      assert.equal(get("owned"), undefined);
      assert.deepEqual(get("shared")?.metadata.ownerReferences, [ref(keeper)]);
    });
    // Only the deleted owner's dependents are looked at: "stale" names another UID.
    assert.ok(get("stale"));
    assert.ok(get("other"));

    // Once its last owner goes, so does what it shared.
    assert.ok(store.delete("v1", "ServiceAccount", "default", "keeper"));
    await poll(() => {
      assert.equal(get("shared"), undefined);
      assert.equal(get("other"), undefined);
    });
  } finally {
    await server.close();
  }
});
