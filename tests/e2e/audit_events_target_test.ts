/**
 * The target's audit trail, on both targets: a request made with a fresh service-account token
 * is in `target.auditLogPath` with its service account, source IPs (X-Forwarded-For first, as a
 * proxy sends it) and credential ID where the server has one, and the same events reach an
 * audit webhook receiver listening at `target.auditWebhook.listen` in EventList batches.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createServer } from "node:https";
import { runKubectl } from "./_cli.ts";
import { admin, claims, clusterEntry, freshNamespace, tokenKubeconfig } from "./_cluster.ts";
import { startTarget, type Target } from "./_target.ts";
import { usageEventOfLine } from "../../src/usage/event_line.ts";
import { usageFields } from "../usage/_events.ts";

interface Event {
  kind?: string;
  apiVersion?: string;
  auditID: string;
  stage: string;
  requestURI: string;
  verb: string;
  user: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  sourceIPs: string[];
  userAgent?: string;
  objectRef?: Record<string, string>;
  responseStatus: { code: number };
  annotations?: Record<string, string>;
}

/** Poll the audit log until events whose requestURI contains `marker` are in it. */
async function loggedWith(target: Target, marker: string, count = 1): Promise<Event[]> {
  for (const deadline = Date.now() + 15_000;;) {
    const text = await Deno.readTextFile(target.auditLogPath);
    const found = text.split("\n").filter((l) => l.includes(marker)).map((l) => JSON.parse(l));
    if (found.length >= count) return found;
    if (Date.now() > deadline) throw new Error(`no audit event for "${marker}" in 15 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** GET a path with a bearer token and extra headers, trusting the target's CA. */
async function getWith(
  target: Target,
  path: string,
  token: string,
  headers: Record<string, string>,
): Promise<number> {
  const { cluster } = await clusterEntry(target);
  const ca = atob(String(cluster["certificate-authority-data"]));
  const client = Deno.createHttpClient({ caCerts: [ca] });
  try {
    const res = await fetch(`${cluster.server}${path}`, {
      headers: { ...headers, Authorization: `Bearer ${token}` },
      client,
    });
    await res.body?.cancel();
    return res.status;
  } finally {
    client.close();
  }
}

Deno.test("a request with a fresh service-account token is in the audit log with its service account", async () => {
  const target = await startTarget();
  try {
    const ns = await freshNamespace(target, "audit-events");
    const token = (await admin(target, ["create", "token", "robot", "-n", ns])).trim();
    const sa = JSON.parse(
      await admin(target, ["get", "serviceaccount", "robot", "-n", ns, "-o", "json"]),
    );
    const kubeconfig = await tokenKubeconfig(target, token, ns);
    const marker = `marker=${crypto.randomUUID()}`;
    const r = await runKubectl([
      "--kubeconfig",
      kubeconfig,
      "get",
      "--raw",
      `/api/v1/namespaces/${ns}/pods?${marker}`,
    ]);
    assert.equal(r.code, 1, "robot may not list pods");
    const [event] = await loggedWith(target, marker);

    assert.equal(event.kind, "Event");
    assert.equal(event.apiVersion, "audit.k8s.io/v1");
    assert.equal(event.stage, "ResponseComplete");
    assert.equal(event.verb, "list");
    assert.equal(event.user.username, `system:serviceaccount:${ns}:robot`);
    assert.equal(event.user.uid, sa.metadata.uid);
    assert.deepEqual(event.user.groups, [
      "system:serviceaccounts",
      `system:serviceaccounts:${ns}`,
      "system:authenticated",
    ]);
    assert.deepEqual(event.sourceIPs, ["127.0.0.1"]);
    assert.match(event.userAgent ?? "", /^kubectl\/v1\./);
    assert.deepEqual(event.objectRef, { resource: "pods", namespace: ns, apiVersion: "v1" });
    assert.equal(event.responseStatus.code, 403);
    assert.equal(event.annotations?.["authorization.k8s.io/decision"], "forbid");
    const jti = claims(token).jti;
    if (target.capabilities.credentialId) {
      assert.deepEqual(event.user.extra?.["authentication.kubernetes.io/credential-id"], [
        `JTI=${jti}`,
      ]);
    } else {
      target.note("no credential-id extra before 1.29: the event names the service account only");
      assert.equal(jti, undefined);
      assert.equal(event.user.extra, undefined);
    }

    // The TokenRequest that minted the token, and (1.30+) the credential ID it issued.
    const issued =
      (await loggedWith(target, `/api/v1/namespaces/${ns}/serviceaccounts/robot/token`))
        .filter((e) => e.verb === "create");
    assert.equal(issued.length, 1);
    assert.deepEqual(issued[0].objectRef, {
      resource: "serviceaccounts",
      namespace: ns,
      name: "robot",
      apiVersion: "v1",
      subresource: "token",
    });
    const { major, minor } = target.capabilities.version;
    if (major > 1 || minor >= 30) {
      assert.equal(
        issued[0].annotations?.["authentication.kubernetes.io/issued-credential-id"],
        `JTI=${jti}`,
      );
    } else {
      target.note("no issued-credential-id annotation before 1.30");
      assert.equal(
        issued[0].annotations?.["authentication.kubernetes.io/issued-credential-id"],
        undefined,
      );
    }

    // A proxy's X-Forwarded-For comes first, then X-Real-Ip, then the peer address.
    const proxied = `marker=${crypto.randomUUID()}`;
    assert.equal(
      await getWith(target, `/api/v1/namespaces/${ns}/pods?${proxied}`, token, {
        "X-Forwarded-For": "203.0.113.7, 198.51.100.2",
        "X-Real-Ip": "192.0.2.9",
      }),
      403,
    );
    const [viaProxy] = await loggedWith(target, proxied);
    assert.deepEqual(viaProxy.sourceIPs, ["203.0.113.7", "198.51.100.2", "192.0.2.9", "127.0.0.1"]);

    const text = await Deno.readTextFile(target.auditLogPath);
    assert.ok(!text.includes(token.split(".")[2]), "the token is not in the audit log");

    // The server's own lines are the shape usage's fast path reads (src/usage/event_line.ts),
    // and it reads them as JSON.parse does.
    let metadata = 0;
    const declined: string[] = [];
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const parsed = JSON.parse(line);
      if (parsed.level !== "Metadata") continue;
      metadata++;
      const fast = usageEventOfLine(line);
      if (fast === undefined) declined.push(line.slice(0, 300));
      else assert.deepEqual(usageFields(fast), usageFields(parsed), line);
    }
    assert.ok(metadata > 0);
    assert.ok(
      declined.length <= metadata / 20,
      `${declined.length} of ${metadata} Metadata lines not taken, e.g.\n${
        declined.slice(0, 3).join("\n")
      }`,
    );
  } finally {
    await target.close();
  }
});

Deno.test("audit EventList batches reach a receiver listening at target.auditWebhook.listen", async () => {
  const target = await startTarget();
  const { listen, certFile, keyFile } = target.auditWebhook;
  const [host, port] = [
    listen.slice(0, listen.lastIndexOf(":")),
    listen.slice(listen.lastIndexOf(":") + 1),
  ];
  const batches: { kind?: string; apiVersion?: string; items: Event[] }[] = [];
  const receiver = createServer({
    cert: await Deno.readTextFile(certFile),
    key: await Deno.readTextFile(keyFile),
  }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      batches.push(JSON.parse(Buffer.concat(chunks).toString()));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    receiver.once("error", reject);
    receiver.listen(Number(port), host, () => resolve());
  });
  try {
    const marker = `marker=${crypto.randomUUID()}`;
    await admin(target, ["get", "--raw", `/version?${marker}`]);
    let found: Event | undefined;
    for (const deadline = Date.now() + 15_000; !found;) {
      found = batches.flatMap((b) => b.items ?? []).find((e) => e.requestURI.includes(marker));
      if (found) break;
      if (Date.now() > deadline) throw new Error("no batch with the request reached the receiver");
      await new Promise((r) => setTimeout(r, 100));
    }
    const batch = batches.find((b) => b.items.includes(found!))!;
    assert.equal(batch.kind, "EventList");
    assert.equal(batch.apiVersion, "audit.k8s.io/v1");
    assert.equal(found.stage, "ResponseComplete");
    assert.equal(found.verb, "get");
    assert.ok(found.user.username, "the event names a user");
    const [logged] = await loggedWith(target, marker);
    assert.equal(found.auditID, logged.auditID);
  } finally {
    await new Promise<void>((resolve) => {
      receiver.close(() => resolve());
      receiver.closeAllConnections();
    });
    await target.close();
  }
});

Deno.test("a failed login, a watch and an impersonated request are recorded with the upstream stages", async () => {
  const target = await startTarget();
  try {
    const ns = await freshNamespace(target, "audit-stages");
    const failed = `marker=${crypto.randomUUID()}`;
    const bogus = await tokenKubeconfig(target, "not-a-token", ns);
    const r = await runKubectl([
      "--kubeconfig",
      bogus,
      "get",
      "--raw",
      `/api/v1/namespaces/${ns}/pods?${failed}`,
    ]);
    assert.equal(r.code, 1);
    // WithFailedAuthenticationAudit: one event, at ResponseStarted, naming no user.
    const [login] = await loggedWith(target, failed);
    assert.equal(login.stage, "ResponseStarted");
    assert.deepEqual(login.user, {});
    assert.equal(login.verb, "list");
    assert.deepEqual(login.objectRef, { resource: "pods", namespace: ns, apiVersion: "v1" });
    assert.equal(login.responseStatus.code, 401);
    assert.equal(login.annotations, undefined);

    const watched = `marker=${crypto.randomUUID()}`;
    await admin(target, [
      "get",
      "--raw",
      `/api/v1/namespaces/${ns}/serviceaccounts?watch=true&timeoutSeconds=1&${watched}`,
    ]);
    const watch = await loggedWith(target, watched, 2);
    assert.deepEqual(watch.map((e) => e.stage), ["ResponseStarted", "ResponseComplete"]);
    assert.equal(watch[0].auditID, watch[1].auditID);
    for (const e of watch) {
      assert.equal(e.verb, "watch");
      assert.equal(e.responseStatus.code, 200);
    }

    const impersonated = `marker=${crypto.randomUUID()}`;
    await runKubectl([
      "--kubeconfig",
      target.kubeconfig,
      "--as",
      `system:serviceaccount:${ns}:robot`,
      "get",
      "--raw",
      `/api/v1/namespaces/${ns}/pods?${impersonated}`,
    ]);
    const [as] = await loggedWith(target, impersonated);
    assert.deepEqual((as as Event & { impersonatedUser?: unknown }).impersonatedUser, {
      username: `system:serviceaccount:${ns}:robot`,
      groups: ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"],
    });
    assert.equal(as.responseStatus.code, 403);
    assert.equal(as.annotations?.["authorization.k8s.io/decision"], "forbid");
  } finally {
    await target.close();
  }
});
