/**
 * Plain http:// servers work as in kubectl: through `kubectl proxy` (a real peer that adds the
 * credential itself), and never with our credential in clear text (kubectl 1.32 sends none).
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { runCli, runKubectl } from "./_cli.ts";
import { startTarget } from "./_target.ts";
import { freshNamespace, tokenKubeconfig } from "./_cluster.ts";

/** `kubectl proxy --port=0` in front of `kubeconfig`; its URL and a stop function. */
async function kubectlProxy(kubeconfig: string) {
  const child = new Deno.Command("kubectl", {
    args: ["proxy", "--port=0", "--kubeconfig", kubeconfig],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let m: RegExpExecArray | null = null;
  while (!(m = /Starting to serve on (127\.0\.0\.1:\d+)/.exec(text))) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`kubectl proxy did not start: ${text}`);
    text += value;
  }
  return {
    url: `http://${m[1]}`,
    stop: async () => {
      child.kill("SIGTERM");
      await reader.cancel().catch(() => {});
      await child.status;
    },
  };
}

Deno.test("kubectl token works against kubectl proxy (http://)", async () => {
  const target = await startTarget();
  const proxy = await kubectlProxy(target.kubeconfig);
  const dir = await Deno.makeTempDir({ prefix: "plain-http-" });
  try {
    const ns = await freshNamespace(target);
    const empty = join(dir, "empty");
    await Deno.writeTextFile(empty, "");
    // The proxy authenticates as the admin of the target, which may create tokens.
    const created = await runCli(["create", "robot", "-n", ns, "--server", proxy.url], {
      env: { KUBECONFIG: empty },
    });
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stderr, "");
    const decoded = await runCli(["decode", "-o", "json", created.stdout.trim()]);
    assert.equal(decoded.code, 0, decoded.stderr);
    assert.equal(JSON.parse(decoded.stdout).subject, `system:serviceaccount:${ns}:robot`);
    // And the token works against the cluster itself.
    const direct = await runCli(["scope", "-n", ns, "-o", "json"], {
      env: { KUBECONFIG: await tokenKubeconfig(target, created.stdout.trim(), ns) },
    });
    assert.equal(direct.code, 0, direct.stderr);
  } finally {
    await proxy.stop();
    await target.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("no credential is sent to a plain HTTP server, as kubectl sends none", async (t) => {
  const seen: { path: string; authorization?: string }[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? "", authorization: req.headers.authorization });
    res.writeHead(201, { "Content-Type": "application/json" });
    res.end(JSON.stringify({
      kind: "SelfSubjectReview",
      apiVersion: "authentication.k8s.io/v1",
      status: { userInfo: { username: "system:anonymous", groups: ["system:unauthenticated"] } },
    }));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = await Deno.makeTempDir({ prefix: "plain-http-" });
  try {
    const users: Record<string, Record<string, string>> = {
      token: { token: "Plain-Http-Token-0123456789" },
      basic: { username: "bob", password: "Plain-Http-Password" },
    };
    for (const [name, user] of Object.entries(users)) {
      await t.step(name, async () => {
        const kubeconfig = join(dir, `${name}.json`);
        await Deno.writeTextFile(
          kubeconfig,
          JSON.stringify({
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: "plain", cluster: { server: url } }],
            users: [{ name: "u", user }],
            contexts: [{ name: "c", context: { cluster: "plain", user: "u" } }],
            "current-context": "c",
          }),
        );
        const env = { KUBECONFIG: kubeconfig };
        seen.length = 0;
        await runKubectl(["get", "--raw", "/version"], { env });
        assert.ok(seen.length >= 1, "kubectl reached the server");
        assert.deepEqual(seen.map((s) => s.authorization), seen.map(() => undefined));

        seen.length = 0;
        const r = await runCli(["whoami"], { env });
        assert.equal(r.code, 0, r.stderr);
        assert.ok(seen.length >= 1, "we reached the server");
        assert.deepEqual(seen.map((s) => s.authorization), seen.map(() => undefined));
        assert.equal(
          r.stderr,
          `Warning: the server "${url}" is plain HTTP: the credential of user "u" is not sent ` +
            `over it (as kubectl does not)\n`,
        );
      });
    }
    await t.step("through an http proxy, requests carry the absolute URL", async () => {
      const kubeconfig = join(dir, "proxied.json");
      await Deno.writeTextFile(
        kubeconfig,
        JSON.stringify({
          apiVersion: "v1",
          kind: "Config",
          clusters: [{
            name: "plain",
            cluster: { server: "http://cluster.invalid:8080", "proxy-url": url },
          }],
          users: [{ name: "u", user: { token: "Plain-Http-Token-0123456789" } }],
          contexts: [{ name: "c", context: { cluster: "plain", user: "u" } }],
          "current-context": "c",
        }),
      );
      const env = { KUBECONFIG: kubeconfig };
      seen.length = 0;
      await runKubectl(["get", "--raw", "/version"], { env });
      assert.ok(seen.length >= 1, "kubectl reached the proxy");
      for (const s of seen) assert.match(s.path, /^http:\/\/cluster\.invalid:8080\/version/);
      seen.length = 0;
      const r = await runCli(["whoami"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(seen, [{
        path: "http://cluster.invalid:8080/apis/authentication.k8s.io/v1/selfsubjectreviews",
        authorization: undefined,
      }]);
    });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
    await Deno.remove(dir, { recursive: true });
  }
});
