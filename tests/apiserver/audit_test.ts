import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createTcpServer, type Socket } from "node:net";
import { join } from "node:path";
import { processClock } from "../../src/runtime.ts";
import { sourceIPs } from "./_audit.ts";
import { CertificateAuthority } from "./_pki.ts";
import { kubectl, kubectlOk } from "./_kubectl.ts";
import { type ApiServer, type ApiServerOptions, startApiServer } from "./mod.ts";

const AT = "2027-03-04T05:06:07.123Z";

type Event = Record<string, unknown> & {
  auditID: string;
  stage: string;
  requestURI: string;
  verb: string;
  user: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  impersonatedUser?: { username?: string; groups?: string[] };
  sourceIPs: string[];
  userAgent?: string;
  objectRef?: Record<string, string>;
  responseStatus: Record<string, unknown> & { code: number };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations?: Record<string, string>;
};

async function withServer(
  options: ApiServerOptions,
  fn: (server: ApiServer, log: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-audit-test-" });
  const log = join(dir, "audit.log");
  const server = await startApiServer({ auditLog: log, ...options });
  try {
    await fn(server, log);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function events(log: string): Promise<Event[]> {
  const text = await Deno.readTextFile(log);
  return text.split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

/** The events of requests whose URI starts with the path (and matches the verb, when given). */
function find(all: Event[], path: string, verb?: string): Event[] {
  return all.filter((e) =>
    (e.requestURI === path || e.requestURI.startsWith(`${path}?`)) && (!verb || e.verb === verb)
  );
}

/** One request with arbitrary headers, trusting the cluster CA. */
async function rawGet(
  server: ApiServer,
  path: string,
  headers: Record<string, string>,
): Promise<number> {
  return (await rawRequest(server, path, { headers })).status;
}

async function rawRequest(
  server: ApiServer,
  path: string,
  init: { headers: Record<string, string>; method?: string; body?: string },
): Promise<{ status: number; body: string }> {
  const client = Deno.createHttpClient({ caCerts: [server.caPem] });
  try {
    const res = await fetch(`${server.url}${path}`, { ...init, client });
    return { status: res.status, body: await res.text() };
  } finally {
    client.close();
  }
}

Deno.test("the audit log holds one Metadata event per kubectl request, as a 1.32 server writes it", async () => {
  await withServer({ now: processClock(AT) }, async (server, log) => {
    await kubectlOk(server, ["get", "--raw", "/version"]);
    await kubectlOk(server, ["get", "pods", "-n", "kube-system"]);
    await kubectlOk(server, ["create", "serviceaccount", "probe"]);
    const token = (await kubectlOk(server, ["create", "token", "probe"])).trim();
    const all = await events(log);

    for (const e of all) {
      assert.equal(e.kind, "Event");
      assert.equal(e.apiVersion, "audit.k8s.io/v1");
      assert.equal(e.level, "Metadata");
      assert.match(e.auditID, /^[0-9a-f-]{36}$/);
      // The server's clock, which starts at the pinned instant; microseconds as MicroTime.
      assert.match(e.requestReceivedTimestamp, /^2027-03-04T05:0\d:\d\d\.\d{6}Z$/);
      assert.match(e.stageTimestamp, /^2027-03-04T05:0\d:\d\d\.\d{6}Z$/);
      assert.ok(e.stageTimestamp >= e.requestReceivedTimestamp);
      assert.equal(e.stage, "ResponseComplete");
      assert.deepEqual(e.sourceIPs, ["127.0.0.1"]);
      assert.match(e.userAgent ?? "", /^kubectl(-dispatcher)?\/v1\.\d+/);
      assert.equal(e.user.username, "kubernetes-admin");
      assert.deepEqual(e.user.groups, ["system:masters", "system:authenticated"]);
      assert.match(
        e.user.extra?.["authentication.kubernetes.io/credential-id"]?.[0] ?? "",
        /^X509SHA256=[0-9a-f]{64}$/,
      );
      assert.equal(e.annotations?.["authorization.k8s.io/decision"], "allow");
      assert.equal(e.annotations?.["authorization.k8s.io/reason"], "");
      // Field order as Go marshals the Event struct.
      const keys = Object.keys(e);
      assert.deepEqual(keys.slice(0, 8), [
        "kind",
        "apiVersion",
        "level",
        "auditID",
        "stage",
        "requestURI",
        "verb",
        "user",
      ]);
    }

    const [version] = find(all, "/version", "get").filter((e) =>
      e.userAgent?.startsWith("kubectl/")
    );
    assert.ok(version, "an event for GET /version");
    assert.equal(version.objectRef, undefined);
    assert.deepEqual(version.responseStatus, { metadata: {}, code: 200 });

    const [list] = find(all, "/api/v1/namespaces/kube-system/pods", "list");
    assert.deepEqual(list.objectRef, {
      resource: "pods",
      namespace: "kube-system",
      apiVersion: "v1",
    });
    assert.equal(list.requestURI, "/api/v1/namespaces/kube-system/pods?limit=500");

    const [create] = find(all, "/api/v1/namespaces/default/serviceaccounts", "create");
    assert.deepEqual(create.objectRef, {
      resource: "serviceaccounts",
      namespace: "default",
      name: "probe",
      apiVersion: "v1",
    });
    assert.deepEqual(create.responseStatus, { metadata: {}, code: 201 });

    const [issue] = find(all, "/api/v1/namespaces/default/serviceaccounts/probe/token", "create");
    assert.deepEqual(issue.objectRef, {
      resource: "serviceaccounts",
      namespace: "default",
      name: "probe",
      apiVersion: "v1",
      subresource: "token",
    });
    const jti = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).jti;
    assert.deepEqual(issue.annotations, {
      "authentication.kubernetes.io/issued-credential-id": `JTI=${jti}`,
      "authorization.k8s.io/decision": "allow",
      "authorization.k8s.io/reason": "",
    });
    // Go's encoding/json escapes & in the log line.
    const text = await Deno.readTextFile(log);
    assert.match(
      text,
      /"requestURI":"\/api\/v1\/namespaces\/default\/serviceaccounts\?fieldManager=kubectl-create\\u0026fieldValidation=Strict"/,
    );
  });
});

Deno.test("audit events name service-account credentials: jti, Pod and Node extras, legacy Secret tokens", async () => {
  await withServer({}, async (server, log) => {
    await kubectlOk(server, ["create", "serviceaccount", "robot"]);
    await kubectlOk(server, [
      "create",
      "rolebinding",
      "robot-view",
      "--clusterrole",
      "view",
      "--serviceaccount",
      "default:robot",
    ]);
    server.store.create({ apiVersion: "v1", kind: "Node", metadata: { name: "node-1" } });
    const pod = server.store.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web", namespace: "default" },
      spec: {
        serviceAccountName: "robot",
        nodeName: "node-1",
        containers: [{ name: "c", image: "x" }],
      },
    });
    const node = server.store.get("v1", "Node", undefined, "node-1")!;
    const sa = server.store.get("v1", "ServiceAccount", "default", "robot")!;
    const bound = (await kubectlOk(server, [
      "create",
      "token",
      "robot",
      "--bound-object-kind",
      "Pod",
      "--bound-object-name",
      "web",
    ])).trim();
    const jti = JSON.parse(atob(bound.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).jti;
    const boundConfig = await server.writeKubeconfig("bound", { token: bound });
    await kubectlOk(server, ["get", "pods"], boundConfig);
    assert.equal((await kubectl(server, ["get", "secrets"], boundConfig)).code, 1);

    // A legacy token: a Secret the token controller fills, not listed in the ServiceAccount.
    server.store.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "robot-token",
        namespace: "default",
        annotations: { "kubernetes.io/service-account.name": "robot" },
      },
      type: "kubernetes.io/service-account-token",
    });
    let legacy = "";
    for (let i = 0; i < 100 && !legacy; i++) {
      const data = server.store.get("v1", "Secret", "default", "robot-token")?.data as
        | Record<string, string>
        | undefined;
      if (data?.token) legacy = atob(data.token);
      else await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(legacy, "the token controller filled the Secret");
    const legacyConfig = await server.writeKubeconfig("legacy", { token: legacy });
    await kubectlOk(server, ["get", "pods"], legacyConfig);

    const all = await events(log);
    const asRobot = all.filter((e) => e.user.username === "system:serviceaccount:default:robot");
    const boundEvents = asRobot.filter((e) =>
      e.user.extra?.["authentication.kubernetes.io/credential-id"]
    );
    assert.ok(boundEvents.length >= 2);
    for (const e of boundEvents) {
      assert.deepEqual(e.user, {
        username: "system:serviceaccount:default:robot",
        uid: sa.metadata.uid,
        groups: [
          "system:serviceaccounts",
          "system:serviceaccounts:default",
          "system:authenticated",
        ],
        extra: {
          "authentication.kubernetes.io/credential-id": [`JTI=${jti}`],
          "authentication.kubernetes.io/node-name": ["node-1"],
          "authentication.kubernetes.io/node-uid": [node.metadata.uid!],
          "authentication.kubernetes.io/pod-name": ["web"],
          "authentication.kubernetes.io/pod-uid": [pod.metadata.uid!],
        },
      });
    }
    const [allowed] = find(boundEvents, "/api/v1/namespaces/default/pods", "list");
    assert.match(
      allowed.annotations?.["authorization.k8s.io/reason"] ?? "",
      /^RBAC: allowed by RoleBinding "robot-view\/default" of ClusterRole "view" to ServiceAccount "robot\/default"$/,
    );
    const [denied] = find(boundEvents, "/api/v1/namespaces/default/secrets", "list");
    assert.deepEqual(denied.annotations, {
      "authorization.k8s.io/decision": "forbid",
      "authorization.k8s.io/reason": "",
    });
    assert.deepEqual(denied.responseStatus, {
      metadata: {},
      status: "Failure",
      message:
        'secrets is forbidden: User "system:serviceaccount:default:robot" cannot list resource "secrets" in API group "" in the namespace "default"',
      reason: "Forbidden",
      details: { kind: "secrets" },
      code: 403,
    });

    const legacyEvents = asRobot.filter((e) => !e.user.extra);
    assert.ok(legacyEvents.length >= 1);
    for (const e of legacyEvents) {
      assert.deepEqual(e.annotations, {
        // 1.20+: the subject of a token without audience; 1.28+: the Secret it came from.
        "authentication.k8s.io/legacy-token": "system:serviceaccount:default:robot",
        "authentication.k8s.io/legacy-token-manual-secret": "robot-token",
        "authorization.k8s.io/decision": "allow",
        "authorization.k8s.io/reason": e.annotations?.["authorization.k8s.io/reason"] ?? "",
      });
    }
  });
});

Deno.test("audit events of impersonation, failed authentication and watches have the upstream stages", async () => {
  await withServer({}, async (server, log) => {
    await kubectl(server, ["get", "pods", "--as", "jane", "--as-group", "devs"]);
    const badConfig = await server.writeKubeconfig("bad", { token: "not-a-valid-token" });
    assert.equal((await kubectl(server, ["get", "pods"], badConfig)).code, 1);
    await kubectlOk(server, ["get", "--raw", "/api/v1/namespaces?watch=true&timeoutSeconds=1"]);
    const all = await events(log);

    const [impersonated] = find(all, "/api/v1/namespaces/default/pods", "list");
    assert.equal(impersonated.user.username, "kubernetes-admin");
    assert.deepEqual(impersonated.impersonatedUser, {
      username: "jane",
      groups: ["devs", "system:authenticated"],
    });
    assert.equal(impersonated.annotations?.["authorization.k8s.io/decision"], "forbid");
    assert.deepEqual(Object.keys(impersonated).slice(7, 10), [
      "user",
      "impersonatedUser",
      "sourceIPs",
    ]);

    // WithFailedAuthenticationAudit: one ResponseStarted event, no user, no annotations.
    const [unauthorized] = find(all, "/api/v1/namespaces/default/pods", "list").filter((e) =>
      e.responseStatus.code === 401
    );
    assert.equal(unauthorized.stage, "ResponseStarted");
    assert.deepEqual(unauthorized.user, {});
    assert.equal(unauthorized.annotations, undefined);
    assert.deepEqual(unauthorized.objectRef, {
      resource: "pods",
      namespace: "default",
      apiVersion: "v1",
    });
    assert.deepEqual(unauthorized.responseStatus, {
      metadata: {},
      status: "Failure",
      message: "Unauthorized",
      reason: "Unauthorized",
      code: 401,
    });
    assert.equal(
      find(all, "/api/v1/namespaces/default/pods").filter((e) => e.auditID === unauthorized.auditID)
        .length,
      1,
    );

    const watch = find(all, "/api/v1/namespaces", "watch");
    assert.deepEqual(watch.map((e) => e.stage), ["ResponseStarted", "ResponseComplete"]);
    assert.equal(watch[0].auditID, watch[1].auditID);
    for (const e of watch) {
      assert.deepEqual(e.objectRef, { resource: "namespaces", apiVersion: "v1" });
      assert.deepEqual(e.responseStatus, { metadata: {}, code: 200 });
    }
  });
});

Deno.test("sourceIPs() lists X-Forwarded-For, then X-Real-Ip, then the remote address, as utilnet.SourceIPs", async (t) => {
  const cases: [string | undefined, string | undefined, string, string[]][] = [
    [undefined, undefined, "127.0.0.1", ["127.0.0.1"]],
    ["10.1.2.3, 10.4.5.6", "10.9.9.9", "127.0.0.1", [
      "10.1.2.3",
      "10.4.5.6",
      "10.9.9.9",
      "127.0.0.1",
    ]],
    ["10.1.2.3,junk, 2001:db8::1", undefined, "::ffff:127.0.0.1", [
      "10.1.2.3",
      "2001:db8::1",
      "127.0.0.1",
    ]],
    ["10.1.2.3", "10.1.2.3", "10.1.2.3", ["10.1.2.3"]],
    [undefined, "10.9.9.9", "127.0.0.1", ["10.9.9.9", "127.0.0.1"]],
  ];
  for (const [xff, real, remote, want] of cases) {
    await t.step(`${xff} | ${real} | ${remote}`, () => {
      assert.deepEqual(sourceIPs(xff, real, remote), want);
    });
  }
});

Deno.test("the audit log takes source IPs from X-Forwarded-For and never holds a token", async () => {
  await withServer({}, async (server, log) => {
    server.addStaticToken("static-secret-token-123", { username: "alice", groups: ["devs"] });
    await kubectlOk(server, ["create", "serviceaccount", "probe"]);
    const issued = await kubectlOk(server, ["create", "token", "probe", "-o", "json"]);
    const bound = JSON.parse(issued).status.token as string;
    assert.equal(
      await rawGet(server, "/api/v1/namespaces/default/pods", {
        Authorization: `Bearer ${bound}`,
        "X-Forwarded-For": "203.0.113.7, 198.51.100.2",
      }),
      403,
    );
    assert.equal(
      await rawGet(server, "/version", {
        Authorization: "Bearer static-secret-token-123",
        "X-Real-Ip": "192.0.2.44",
      }),
      200,
    );
    assert.equal(
      await rawGet(server, "/version", { Authorization: "Bearer wrong-token-456" }),
      401,
    );
    // A body the parser chokes on: its error message quotes it, the audit event must not.
    server.addStaticToken("admin-static-789", { username: "root", groups: ["system:masters"] });
    const review = await rawRequest(server, "/apis/authentication.k8s.io/v1/tokenreviews", {
      method: "POST",
      headers: { Authorization: "Bearer admin-static-789", "Content-Type": "application/json" },
      body: `x${bound}`,
    });
    assert.equal(review.status, 400);
    assert.ok(review.body.includes(bound.slice(0, 8)), "the answer quotes the body");
    const all = await events(log);
    const [decode] = find(all, "/apis/authentication.k8s.io/v1/tokenreviews");
    assert.equal(decode.responseStatus.message, "error decoding request body");
    const [fromProxy] = find(all, "/api/v1/namespaces/default/pods");
    assert.deepEqual(fromProxy.sourceIPs, ["203.0.113.7", "198.51.100.2", "127.0.0.1"]);
    const [alice] = find(all, "/version").filter((e) => e.user.username === "alice");
    assert.deepEqual(alice.sourceIPs, ["192.0.2.44", "127.0.0.1"]);

    const text = await Deno.readTextFile(log);
    for (
      const secret of [
        bound,
        bound.slice(0, 8),
        bound.split(".")[2],
        "static-secret-token-123",
        "wrong-token-456",
        "admin-static-789",
      ]
    ) {
      assert.ok(!text.includes(secret), "a token was written to the audit log");
    }
    assert.ok(!text.includes('"requestObject"') && !text.includes('"responseObject"'));
  });
});

/** A TLS audit webhook receiver that keeps every EventList it gets. */
async function startReceiver(
  answer: (n: number) => number = () => 200,
): Promise<
  { url: string; caPem: string; batches: Record<string, unknown>[]; close(): Promise<void> }
> {
  const from = new Date(Date.now() - 3_600_000);
  const until = new Date(Date.now() + 86_400_000);
  const ca = new CertificateAuthority(from, until);
  const serving = ca.issueServing(from, until);
  const batches: Record<string, unknown>[] = [];
  let n = 0;
  const server = createHttpsServer({ key: serving.keyPem, cert: serving.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const code = answer(n++);
      if (code === 200) {
        batches.push({
          ...JSON.parse(Buffer.concat(chunks).toString()),
          contentType: req.headers["content-type"],
          url: req.url,
          method: req.method,
        });
      }
      res.writeHead(code).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}/audit`,
    caPem: ca.certPem,
    batches,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

async function poll(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  for (const deadline = Date.now() + ms; !ok();) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

Deno.test("an audit webhook receives EventList batches over TLS within about a second, and the last batch at close", async () => {
  const receiver = await startReceiver();
  try {
    let logged: Event[] = [];
    await withServer(
      { auditWebhook: { url: receiver.url, caPem: receiver.caPem } },
      async (server, log) => {
        await kubectlOk(server, ["get", "--raw", "/version"]);
        const items = () => receiver.batches.flatMap((b) => b.items as Event[]);
        await poll("the first batch", () => items().some((e) => e.requestURI === "/version"), 3000);
        const batch = receiver.batches[0];
        assert.equal(batch.kind, "EventList");
        assert.equal(batch.apiVersion, "audit.k8s.io/v1");
        assert.equal(batch.method, "POST");
        assert.equal(batch.contentType, "application/json");
        assert.equal(batch.url, "/audit?timeout=30s");
        await rawGet(server, "/healthz", {});
        logged = await events(log);
      },
    );
    // close() flushed what the timer had not sent yet: the webhook saw what the log saw.
    const received = receiver.batches.flatMap((b) => b.items as Event[]);
    // Items of an EventList carry no kind and apiVersion of their own.
    assert.deepEqual(received, logged.map(({ kind: _k, apiVersion: _v, ...rest }) => rest));
  } finally {
    await receiver.close();
  }
});

Deno.test("an absent, failing or hanging audit webhook never fails or holds up a request", async (t) => {
  const hanging: Socket[] = [];
  const tcp = createTcpServer((s) => hanging.push(s));
  await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
  const hangPort = (tcp.address() as { port: number }).port;
  const failing = await startReceiver(() => 500);
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const absentPort = (probe.addr as Deno.NetAddr).port;
  probe.close();
  try {
    const cases: [string, string, string][] = [
      ["absent", `https://127.0.0.1:${absentPort}`, failing.caPem],
      ["failing", failing.url, failing.caPem],
      ["hanging", `https://127.0.0.1:${hangPort}`, failing.caPem],
    ];
    for (const [name, url, caPem] of cases) {
      await t.step(name, async () => {
        const started = Date.now();
        await withServer(
          { auditWebhook: { url, caPem, batchMaxWaitMs: 50, batchMaxSize: 2 } },
          async (server, log) => {
            for (let i = 0; i < 20; i++) {
              assert.equal(await rawGet(server, `/version?i=${i}`, {}), 200);
            }
            assert.equal((await events(log)).length, 20);
          },
        );
        // close() gives batches in flight a short grace, then drops them.
        assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
      });
    }
  } finally {
    for (const s of hanging) s.destroy();
    await new Promise<void>((r) => tcp.close(() => r()));
    await failing.close();
  }
});

Deno.test("a legacy token's events name its Secret as autogenerated when the ServiceAccount lists it, not on a 1.23 server", async (t) => {
  for (const legacyTokenAutoCreation of [false, true]) {
    await t.step(legacyTokenAutoCreation ? "1.23" : "1.32", async () => {
      await withServer({ legacyTokenAutoCreation }, async (server, log) => {
        server.store.create({
          apiVersion: "v1",
          kind: "ServiceAccount",
          metadata: { name: "robot", namespace: "default" },
        });
        server.store.create({
          apiVersion: "v1",
          kind: "Secret",
          metadata: {
            name: "robot-token",
            namespace: "default",
            annotations: { "kubernetes.io/service-account.name": "robot" },
          },
          type: "kubernetes.io/service-account-token",
        });
        const sa = server.store.get("v1", "ServiceAccount", "default", "robot")!;
        server.store.update({ ...sa, secrets: [{ name: "robot-token" }] });
        let token = "";
        for (let i = 0; i < 100 && !token; i++) {
          const data = server.store.get("v1", "Secret", "default", "robot-token")?.data as
            | Record<string, string>
            | undefined;
          if (data?.token) token = atob(data.token);
          else await new Promise((r) => setTimeout(r, 20));
        }
        assert.ok(token, "the token controller filled the Secret");
        assert.equal(
          await rawGet(server, "/version?legacy=1", { Authorization: `Bearer ${token}` }),
          200,
        );
        const [e] = find(await events(log), "/version").filter((e) =>
          e.requestURI.includes("legacy")
        );
        const expected: Record<string, string> = {
          "authentication.k8s.io/legacy-token": "system:serviceaccount:default:robot",
        };
        if (!legacyTokenAutoCreation) {
          expected["authentication.k8s.io/legacy-token-autogenerated-secret"] = "robot-token";
        }
        assert.deepEqual(
          Object.fromEntries(
            Object.entries(e.annotations ?? {}).filter(([k]) => k.startsWith("authentication.")),
          ),
          expected,
        );

        // Marked invalid by the cleaner: refused, and the 401's event says which Secret (1.29+).
        const secret = server.store.get("v1", "Secret", "default", "robot-token")!;
        server.store.update({
          ...secret,
          metadata: {
            ...secret.metadata,
            labels: { "kubernetes.io/legacy-token-invalid-since": "2026-01-01" },
          },
        });
        assert.equal(
          await rawGet(server, "/version?invalid=1", { Authorization: `Bearer ${token}` }),
          401,
        );
        const [refused] = find(await events(log), "/version").filter((e) =>
          e.requestURI.includes("invalid")
        );
        assert.equal(refused.stage, "ResponseStarted");
        assert.deepEqual(refused.annotations, {
          "authentication.k8s.io/legacy-token": "system:serviceaccount:default:robot",
          ...(legacyTokenAutoCreation
            ? {}
            : { "authentication.k8s.io/legacy-token-invalidated": "robot-token/default" }),
        });
      });
    });
  }
});
