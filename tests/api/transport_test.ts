/**
 * The API client's two transports (src/api/client.ts): Deno's fetch in the common case,
 * node:https where fetch cannot send the same request. Which one a configuration gets, and that
 * both give the same answers and the same one-line errors against the local API server.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fetchUsable } from "../../src/api/client.ts";
import type { RestConfig } from "../../src/kubeconfig/types.ts";
import { runInProcess } from "../e2e/_cli.ts";
import { startApiServer } from "../apiserver/mod.ts";

function config(overrides: Partial<RestConfig> = {}): RestConfig {
  return {
    server: "https://10.0.0.1:6443",
    namespace: "default",
    namespaceFromFlag: false,
    insecureSkipTlsVerify: false,
    auth: { kind: "none" },
    cluster: { server: "https://10.0.0.1:6443" },
    ...overrides,
  } as RestConfig;
}

const noEnv = { env: (_: string) => undefined };

Deno.test("fetchUsable() takes fetch only where it sends what node:https would", async (t) => {
  await t.step("the common case", () => {
    assert.equal(fetchUsable(config(), {}, noEnv), true);
    assert.equal(fetchUsable(config({ caPem: "-----BEGIN CERTIFICATE-----" }), {}, noEnv), true);
    assert.equal(fetchUsable(config({ server: "http://127.0.0.1:8001" }), {}, noEnv), true);
    assert.equal(fetchUsable(config(), { "Impersonate-Group": ["a"] }, noEnv), true);
  });
  await t.step("a kubeconfig proxy-url", () => {
    assert.equal(fetchUsable(config({ proxyUrl: "http://proxy:3128" }), {}, noEnv), false);
  });
  for (const name of ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"]) {
    await t.step(`${name} set, even where NO_PROXY spares the server`, () => {
      const env = (n: string) =>
        n === name ? "http://proxy:3128" : n === "NO_PROXY" ? "*" : undefined;
      assert.equal(fetchUsable(config(), {}, { env }), false);
    });
  }
  await t.step("an empty proxy variable is no proxy", () => {
    assert.equal(
      fetchUsable(config(), {}, { env: (n) => n === "HTTPS_PROXY" ? "" : undefined }),
      true,
    );
  });
  await t.step("insecure-skip-tls-verify and tls-server-name", () => {
    assert.equal(fetchUsable(config({ insecureSkipTlsVerify: true }), {}, noEnv), false);
    assert.equal(fetchUsable(config({ tlsServerName: "kubernetes" }), {}, noEnv), false);
  });
  await t.step("a header sent twice (two impersonated groups)", () => {
    assert.equal(fetchUsable(config(), { "Impersonate-Group": ["a", "b"] }, noEnv), false);
  });
  await t.step("a port the Fetch standard blocks, and an unusable server", () => {
    assert.equal(fetchUsable(config({ server: "https://127.0.0.1:1" }), {}, noEnv), false);
    assert.equal(fetchUsable(config({ server: "https://127.0.0.1:6000" }), {}, noEnv), false);
    assert.equal(fetchUsable(config({ server: "https://127.0.0.1:6001" }), {}, noEnv), true);
    assert.equal(fetchUsable(config({ server: "not a url" }), {}, noEnv), false);
  });
});

/** Forces node:https: a proxy variable that NO_PROXY keeps away from the local server. */
const VIA_NODE = { HTTPS_PROXY: "http://127.0.0.1:9", NO_PROXY: "127.0.0.1" };

Deno.test("both transports give the same answers and errors", async (t) => {
  const server = await startApiServer();
  const other = await startApiServer();
  try {
    const base = { KUBECONFIG: server.kubeconfigPath };
    const both = async (args: string[], env: Record<string, string> = {}) => {
      const viaFetch = await runInProcess([...args, "-v", "7"], { env: { ...base, ...env } });
      const viaNode = await runInProcess([...args, "-v", "7"], {
        env: { ...base, ...env, ...VIA_NODE },
      });
      assert.match(viaFetch.stderr, /^I transport: fetch$/m);
      assert.match(viaNode.stderr, /^I transport: node:https$/m);
      return { viaFetch, viaNode };
    };
    const quiet = (text: string) =>
      text.split("\n").filter((l) => !l.startsWith("I ")).join("\n").replace(
        /\d+ milliseconds/g,
        "",
      );

    await t.step("whoami with the admin's client certificate", async () => {
      const { viaFetch, viaNode } = await both(["whoami", "-o", "json"]);
      assert.equal(viaFetch.code, 0, viaFetch.stderr);
      assert.equal(viaNode.code, 0, viaNode.stderr);
      assert.deepEqual(JSON.parse(viaFetch.stdout), JSON.parse(viaNode.stdout));
    });
    await t.step("a 404 answer", async () => {
      const { viaFetch, viaNode } = await both(["create", "no-such-account"]);
      assert.equal(viaFetch.code, 1);
      assert.match(viaFetch.stderr, /not found/);
      assert.equal(quiet(viaFetch.stderr), quiet(viaNode.stderr));
    });
    await t.step("an untrusted server certificate", async () => {
      const ca = join(other.dir, "ca.crt");
      const { viaFetch, viaNode } = await both(["whoami", "--certificate-authority", ca]);
      assert.equal(viaFetch.code, 1);
      assert.match(viaFetch.stderr, /^error: .*certificate is not trusted/m);
      assert.equal(quiet(viaFetch.stderr), quiet(viaNode.stderr));
    });
    await t.step("a reset connection", async () => {
      const run = async (env: Record<string, string>) => {
        server.injectFault({ kind: "reset", path: /selfsubjectreviews/, times: 1 });
        return await runInProcess(["whoami"], { env: { ...base, ...env } });
      };
      const viaFetch = await run({});
      const viaNode = await run(VIA_NODE);
      assert.equal(viaFetch.code, 1);
      assert.match(viaFetch.stderr, /connection was closed before the answer was complete/);
      assert.equal(viaFetch.stderr, viaNode.stderr);
    });
    await t.step("a refused connection", async () => {
      // A port that was just free: nothing listens on it.
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      listener.close();
      const { viaFetch, viaNode } = await both(["whoami", "--server", `https://127.0.0.1:${port}`]);
      assert.equal(viaFetch.code, 1);
      assert.match(
        viaFetch.stderr,
        /^error: The connection to the server 127\.0\.0\.1:\d+ was refused/m,
      );
      assert.equal(quiet(viaFetch.stderr), quiet(viaNode.stderr));
    });
    await t.step("a request timeout", async () => {
      const run = async (env: Record<string, string>) => {
        server.injectFault({ kind: "delay", ms: 3000, path: /selfsubjectreviews/, times: 1 });
        return await runInProcess(["whoami", "--request-timeout", "1s"], {
          env: { ...base, ...env },
        });
      };
      const viaFetch = await run({});
      const viaNode = await run(VIA_NODE);
      assert.equal(viaFetch.code, 1);
      assert.match(viaFetch.stderr, /no answer within 1s/);
      assert.equal(viaFetch.stderr, viaNode.stderr);
    });
  } finally {
    await other.close();
    await server.close();
  }
});
