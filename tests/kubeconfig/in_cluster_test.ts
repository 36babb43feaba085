import assert from "node:assert/strict";
import { inClusterConfig } from "../../src/kubeconfig/in_cluster.ts";
import { fixture, testRuntime, withTempDir, writeFiles } from "./_helpers.ts";

const ENV = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };

Deno.test("inClusterConfig() reads the pod environment and the service account folder", async () => {
  await withTempDir(async (dir) => {
    await writeFiles(dir, { token: "tok\n", "ca.crt": fixture("ca.crt"), namespace: "team\n" });
    assert.deepEqual(await inClusterConfig(testRuntime({ env: ENV }), { dir }), {
      server: "https://10.96.0.1:443",
      tokenFile: `${dir}/token`,
      caPem: fixture("ca.crt"),
      namespace: "team",
    });
  });
});

Deno.test("inClusterConfig() cases", async (t) => {
  await withTempDir(async (dir) => {
    const sa = `${dir}/sa`;
    await writeFiles(dir, {
      "sa/token": "tok",
      "sa/ca.crt": "not a certificate",
      "bare/token": "t",
    });
    await t.step("IPv6 hosts are bracketed", async () => {
      const runtime = testRuntime({ env: { ...ENV, KUBERNETES_SERVICE_HOST: "fd00::1" } });
      assert.equal((await inClusterConfig(runtime, { dir: sa }))?.server, "https://[fd00::1]:443");
    });
    await t.step("a CA file that is no certificate falls back to system roots", async () => {
      assert.equal(
        (await inClusterConfig(testRuntime({ env: ENV }), { dir: sa }))?.caPem,
        undefined,
      );
    });
    await t.step("POD_NAMESPACE comes before the namespace file", async () => {
      const runtime = testRuntime({ env: { ...ENV, POD_NAMESPACE: "from-env" } });
      assert.equal((await inClusterConfig(runtime, { dir: sa }))?.namespace, "from-env");
    });
    await t.step("no namespace file, no namespace", async () => {
      const config = await inClusterConfig(testRuntime({ env: ENV }), { dir: `${dir}/bare` });
      assert.deepEqual(config, { server: "https://10.96.0.1:443", tokenFile: `${dir}/bare/token` });
    });
    for (
      const [name, env, folder] of [
        ["no KUBERNETES_SERVICE_HOST", { KUBERNETES_SERVICE_PORT: "443" }, sa],
        ["no KUBERNETES_SERVICE_PORT", { KUBERNETES_SERVICE_HOST: "10.96.0.1" }, sa],
        ["no token file", ENV, `${dir}/missing`],
      ] as const
    ) {
      await t.step(`not a pod: ${name}`, async () => {
        assert.equal(await inClusterConfig(testRuntime({ env }), { dir: folder }), undefined);
      });
    }
  });
});
