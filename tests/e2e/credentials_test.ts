import assert from "node:assert/strict";
import net from "node:net";
import type { Buffer } from "node:buffer";
import { join } from "node:path";
import { pluginBinDir, runCli, runKubectl } from "./_cli.ts";
import { adminUser, clusterEntry, freshNamespace, writeKubeconfig } from "./_cluster.ts";
import { startTarget } from "./_target.ts";
import { startApiServer } from "../apiserver/mod.ts";

Deno.test("an exec credential plugin user works, as with kubectl", async (t) => {
  const target = await startTarget();
  try {
    const ns = await freshNamespace(target);
    const cluster = await clusterEntry(target);
    // The plugin is kubectl-token itself: `create -o exec-credential` prints an ExecCredential.
    const plugin = join(await pluginBinDir(), "kubectl-token");
    const kubeconfig = await writeKubeconfig(cluster, {
      exec: {
        apiVersion: "client.authentication.k8s.io/v1",
        command: plugin,
        args: [
          "create",
          "robot",
          "-n",
          ns,
          "-o",
          "exec-credential",
          "--kubeconfig",
          target.kubeconfig,
        ],
        interactiveMode: "Never",
        provideClusterInfo: true,
      },
    });
    await t.step("whoami through the plugin", async () => {
      const r = await runKubectl(["token", "whoami", "-o", "json"], {
        env: { KUBECONFIG: kubeconfig },
      });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.userInfo.username, `system:serviceaccount:${ns}:robot`);
      assert.match(doc.authentication.method, /exec credential plugin/);
      assert.match(doc.authentication.expiresAt, /Z$/);
    });
    await t.step("kubectl agrees", async () => {
      const r = await runKubectl(["auth", "whoami", "-o", "json"], {
        env: { KUBECONFIG: kubeconfig },
      });
      if (!target.capabilities.selfSubjectReview) {
        // kubectl has no fallback: where it gives up, kubectl token whoami still answers.
        target.note("no SelfSubjectReview: kubectl auth whoami fails, as expected");
        assert.equal(r.code, 1);
        assert.match(r.stderr, /selfsubjectreviews API is not enabled/);
        return;
      }
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        JSON.parse(r.stdout).status.userInfo.username,
        `system:serviceaccount:${ns}:robot`,
      );
    });
    await t.step("a missing plugin shows its install hint", async () => {
      const missing = await writeKubeconfig(cluster, {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: "kubectl-token-no-such-plugin",
          installHint: "Install it with: brew install no-such-plugin",
          interactiveMode: "Never",
        },
      });
      const r = await runCli(["whoami"], { env: { KUBECONFIG: missing } });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /kubectl-token-no-such-plugin/);
      assert.match(r.stderr, /brew install no-such-plugin/);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    });
  } finally {
    await target.close();
  }
});

/** A minimal HTTP CONNECT proxy on loopback that counts the tunnels it opened. */
function startProxy(): Promise<{ url: string; tunnels: () => number; close: () => Promise<void> }> {
  let tunnels = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.once("data", (head) => {
      const m = /^CONNECT ([^:\s]+):(\d+) HTTP\/1\.[01]\r\n/.exec(head.toString("latin1"));
      if (!m) {
        client.end("HTTP/1.1 405 Method Not Allowed\r\n\r\n");
        return;
      }
      tunnels++;
      const upstream = net.connect(Number(m[2]), m[1], () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        upstream.pipe(client);
        client.pipe(upstream);
      });
      sockets.add(upstream);
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
      client.on("close", () => upstream.destroy());
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        tunnels: () => tunnels,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** A minimal SOCKS5 proxy (no authentication, CONNECT only) that counts its tunnels. */
function startSocksProxy(): Promise<
  { url: string; tunnels: () => number; close: () => Promise<void> }
> {
  let tunnels = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("error", () => client.destroy());
    client.once("data", (greeting: Buffer) => {
      if (greeting[0] !== 5) return client.destroy();
      client.write(Uint8Array.of(5, 0)); // version 5, no authentication
      client.once("data", (req: Buffer) => {
        // VER CMD RSV ATYP ADDR PORT; CONNECT to an IPv4 address or a domain name.
        let host: string;
        let at: number;
        if (req[3] === 1) {
          host = `${req[4]}.${req[5]}.${req[6]}.${req[7]}`;
          at = 8;
        } else if (req[3] === 3) {
          host = req.subarray(5, 5 + req[4]).toString("latin1");
          at = 5 + req[4];
        } else return client.destroy();
        const port = req.readUInt16BE(at);
        tunnels++;
        const upstream = net.connect(port, host, () => {
          client.write(Uint8Array.of(5, 0, 0, 1, 0, 0, 0, 0, 0, 0));
          upstream.pipe(client);
          client.pipe(upstream);
        });
        sockets.add(upstream);
        upstream.on("error", () => client.destroy());
        upstream.on("close", () => client.destroy());
        client.on("close", () => upstream.destroy());
      });
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        url: `socks5://127.0.0.1:${port}`,
        tunnels: () => tunnels,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

Deno.test("a socks5 proxy-url sends requests through the SOCKS proxy", async () => {
  const target = await startTarget();
  const proxy = await startSocksProxy();
  try {
    const cluster = await clusterEntry(target);
    cluster.cluster["proxy-url"] = proxy.url;
    const kubeconfig = await writeKubeconfig(cluster, await adminUser(target));
    const r = await runCli(["whoami", "-o", "json"], { env: { KUBECONFIG: kubeconfig } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(proxy.tunnels() >= 1, "no tunnel through the proxy");
  } finally {
    await proxy.close();
    await target.close();
  }
});

Deno.test("proxy-url in the kubeconfig sends requests through the proxy", async () => {
  const target = await startTarget();
  const proxy = await startProxy();
  try {
    const cluster = await clusterEntry(target);
    cluster.cluster["proxy-url"] = proxy.url;
    const kubeconfig = await writeKubeconfig(cluster, await adminUser(target));
    const r = await runCli(["whoami", "-o", "json"], { env: { KUBECONFIG: kubeconfig } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(proxy.tunnels() >= 1, "no tunnel through the proxy");
    // The tunnel must not weaken TLS: a CA that did not sign the server (another local
    // server's) is still refused, whatever the target.
    const other = await startApiServer();
    try {
      const bad = await runCli(
        ["whoami", "--certificate-authority", join(other.dir, "ca.crt")],
        { env: { KUBECONFIG: kubeconfig } },
      );
      assert.equal(bad.code, 1, bad.stdout);
      assert.match(bad.stderr, /certificate/);
    } finally {
      await other.close();
    }
  } finally {
    await proxy.close();
    await target.close();
  }
});
