/**
 * `usage serve` as a process over TLS: batches POSTed the way the API server's webhook backend
 * posts them, answered quickly, and found in the usage database (read while it serves).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Served, startUsageServe } from "../e2e/_usage_serve.ts";
import { CertificateAuthority, type KeyPairPem } from "../apiserver/_pki.ts";
import { denoRuntime, type Runtime } from "../../src/runtime.ts";
import { readUsageDb } from "../../src/usage/store.ts";
import type { AuditEvent } from "../../src/usage/event.ts";

const NOW = "2026-12-02T10:05:00Z";
const DAY = 86_400_000;

interface Pki {
  dir: string;
  ca: CertificateAuthority;
  caFile: string;
  certFile: string;
  keyFile: string;
  client: KeyPairPem;
}

async function pki(): Promise<Pki> {
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-serve-" });
  const now = new Date();
  const ca = new CertificateAuthority(now, now);
  const serving = ca.issueServing(new Date(now.getTime() - DAY), new Date(now.getTime() + DAY));
  const client = ca.issueClient(
    "kube-apiserver",
    [],
    new Date(now.getTime() - DAY),
    new Date(now.getTime() + DAY),
  );
  const caFile = join(dir, "ca.crt");
  await Deno.writeTextFile(caFile, ca.certPem);
  await Deno.writeTextFile(join(dir, "tls.crt"), serving.certPem);
  await Deno.writeTextFile(join(dir, "tls.key"), serving.keyPem);
  return {
    dir,
    ca,
    caFile,
    certFile: join(dir, "tls.crt"),
    keyFile: join(dir, "tls.key"),
    client,
  };
}

function runtimeAt(): Runtime {
  return { ...denoRuntime(), now: () => new Date(NOW) };
}

function serve(p: Pki, db: string, extra: string[] = []): Promise<Served> {
  return startUsageServe([
    "--listen",
    "127.0.0.1:0",
    "--tls-cert-file",
    p.certFile,
    "--tls-private-key-file",
    p.keyFile,
    "--db",
    db,
    ...extra,
  ], { KUBECTL_TOKEN_NOW: NOW, HOME: p.dir });
}

function event(user: string, i: number, extra: Partial<AuditEvent> = {}): AuditEvent {
  return {
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    level: "Metadata",
    auditID: `id-${user}-${i}`,
    stage: "ResponseComplete",
    requestURI: "/api/v1/namespaces/default/pods",
    verb: "list",
    user: { username: user, groups: ["system:authenticated"] },
    sourceIPs: ["10.0.0.7"],
    userAgent: "kubectl/v1.32.0",
    objectRef: { resource: "pods", namespace: "default", apiVersion: "v1" },
    responseStatus: { code: 200 },
    requestReceivedTimestamp: `2026-12-02T10:00:0${i % 10}.000000Z`,
    stageTimestamp: `2026-12-02T10:00:0${i % 10}.001000Z`,
    ...extra,
  };
}

function eventList(events: AuditEvent[], apiVersion = "audit.k8s.io/v1"): string {
  return JSON.stringify({ kind: "EventList", apiVersion, metadata: {}, items: events });
}

async function post(
  client: Deno.HttpClient,
  url: string,
  body: string,
  type = "application/json",
): Promise<number> {
  const res = await fetch(url, {
    method: "POST",
    body,
    headers: { "Content-Type": type },
    client,
  });
  await res.body?.cancel();
  return res.status;
}

async function poll<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const v = await get().catch(() => undefined as T);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("usage serve stores POSTed EventList batches, readable while it serves", async () => {
  const p = await pki();
  const db = join(p.dir, "usage.db");
  const served = await serve(p, db, ["-v", "1"]);
  const client = Deno.createHttpClient({ caCerts: [p.ca.certPem] });
  try {
    const health = await fetch(new URL("healthz", served.url), { client });
    assert.equal(health.status, 200);
    await health.body?.cancel();
    assert.equal(
      await post(client, served.url, eventList([event("alice", 1), event("bob", 2)])),
      200,
    );
    assert.equal(
      await post(client, served.url, eventList([event("alice", 3)], "audit.k8s.io/v1beta1")),
      200,
    );
    // Written within about a second, and readable while the server holds the database open.
    const s = await poll(
      "3 events in the database",
      () => readUsageDb(runtimeAt(), db),
      (s) => s.events === 3,
    );
    const byKey = Object.fromEntries(s.credentials.map((c) => [c.key, c]));
    assert.equal(byKey["user:alice"].requests, 2);
    assert.equal(byKey["user:bob"].requests, 1);
    assert.equal(byKey["user:alice"].sourceIPs["10.0.0.7"].count, 2);
    assert.equal(s.firstEvent, "2026-12-02T10:00:01.000000Z");
    assert.equal(s.lastEvent, "2026-12-02T10:00:03.000000Z");
  } finally {
    client.close();
    const { code, stderr } = await served.stop();
    assert.equal(code, 0, stderr);
    assert.match(
      stderr,
      /^Warning: no --client-ca-file: anyone who can reach 127\.0\.0\.1:\d+ can write usage data/m,
    );
    assert.match(stderr, /stopped after 3 events in 2 batches/);
    assert.doesNotMatch(stderr, /alice|bob|10\.0\.0\.7/, "an event's content was logged");
  }
  assert.equal((await Deno.stat(db)).mode! & 0o777, 0o600);
});

Deno.test("usage serve answers 400 to malformed bodies and 413 to large ones, and counts them", async (t) => {
  const p = await pki();
  const db = join(p.dir, "usage.db");
  const served = await serve(p, db, ["--max-body-size", "4Ki", "-v", "1"]);
  const client = Deno.createHttpClient({ caCerts: [p.ca.certPem] });
  try {
    const rows: [string, string, number][] = [
      ["garbage", "{not json", 400],
      ["not an object", "[1, 2]", 400],
      ["another kind", JSON.stringify({ kind: "PodList", apiVersion: "v1", items: [] }), 400],
      ["another version", eventList([], "audit.k8s.io/v2"), 400],
      [
        "items not a list",
        JSON.stringify({ kind: "EventList", apiVersion: "audit.k8s.io/v1", items: {} }),
        400,
      ],
      [
        "an item not an object",
        JSON.stringify({ kind: "EventList", apiVersion: "audit.k8s.io/v1", items: [1] }),
        400,
      ],
      ["too large", eventList(Array.from({ length: 20 }, (_, i) => event("carol", i))), 413],
      ["an empty list", eventList([]), 200],
    ];
    for (const [name, body, status] of rows) {
      await t.step(name, async () => {
        assert.equal(await post(client, served.url, body), status);
      });
    }
    await t.step("too large, sent in chunks without a Content-Length", async () => {
      const chunk = new TextEncoder().encode(" ".repeat(1024));
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 64) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const res = await fetch(served.url, {
        method: "POST",
        body,
        headers: { "Content-Type": "application/json" },
        client,
      }).catch((e) => e as Error);
      // The server answers 413 and closes the connection, perhaps before the client finished.
      const status = res instanceof Response ? res.status : "connection closed";
      assert.ok(status === 413 || status === "connection closed", `answered ${status}`);
      if (res instanceof Response) await res.body?.cancel();
    });
    await t.step("the server still serves after a 413", async () => {
      assert.equal(await post(client, served.url, eventList([event("dave", 1)])), 200);
    });
    await t.step("GET is not served", async () => {
      const res = await fetch(served.url, { client });
      assert.equal(res.status, 405);
      await res.body?.cancel();
    });
  } finally {
    client.close();
  }
  const { code, stderr } = await served.stop();
  assert.equal(code, 0, stderr);
  assert.match(
    stderr,
    /stopped after 1 events in 2 batches \(0 refused, 6 malformed, 2 too large\)/,
  );
  const s = await readUsageDb(runtimeAt(), db);
  assert.deepStrictEqual(s.credentials.map((c) => c.key), ["user:dave"]);
});

Deno.test("usage serve --client-ca-file refuses clients without a certificate of that CA", async () => {
  const p = await pki();
  const db = join(p.dir, "usage.db");
  const served = await serve(p, db, ["--client-ca-file", p.caFile]);
  const anonymous = Deno.createHttpClient({ caCerts: [p.ca.certPem] });
  const other = new CertificateAuthority(new Date(), new Date());
  const stranger = other.issueClient(
    "x",
    [],
    new Date(Date.now() - DAY),
    new Date(Date.now() + DAY),
  );
  const strangerClient = Deno.createHttpClient({
    caCerts: [p.ca.certPem],
    cert: stranger.certPem,
    key: stranger.keyPem,
  });
  const apiserver = Deno.createHttpClient({
    caCerts: [p.ca.certPem],
    cert: p.client.certPem,
    key: p.client.keyPem,
  });
  try {
    await assert.rejects(post(anonymous, served.url, eventList([event("eve", 1)])));
    await assert.rejects(post(strangerClient, served.url, eventList([event("eve", 2)])));
    assert.equal(await post(apiserver, served.url, eventList([event("frank", 1)])), 200);
  } finally {
    anonymous.close();
    strangerClient.close();
    apiserver.close();
  }
  const { code, stderr } = await served.stop();
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /Warning: no --client-ca-file/);
  const s = await readUsageDb(runtimeAt(), db);
  assert.deepStrictEqual(s.credentials.map((c) => c.key), ["user:frank"]);
});

Deno.test("usage serve writes what waits when stopped with SIGTERM, and exits 0", async () => {
  const p = await pki();
  const db = join(p.dir, "usage.db");
  const served = await serve(p, db);
  const client = Deno.createHttpClient({ caCerts: [p.ca.certPem] });
  const batch = eventList(Array.from({ length: 400 }, (_, i) => event(`user-${i % 40}`, i)));
  try {
    for (let i = 0; i < 5; i++) assert.equal(await post(client, served.url, batch), 200);
  } finally {
    client.close();
  }
  const { code, stderr } = await served.stop();
  assert.equal(code, 0, stderr);
  const s = await readUsageDb(runtimeAt(), db);
  assert.equal(s.events, 2000);
  assert.equal(s.credentials.length, 40);
  assert.equal(s.credentials.reduce((n, c) => n + c.requests, 0), 2000);
});
