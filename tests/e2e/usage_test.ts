/**
 * `kubectl token usage --audit-log` on the target's own audit log: tokens created and used here
 * show up with the right service account, Pod, addresses and counts, on both targets. The
 * per-token (jti) parts need credential IDs (1.29+): on the real 1.20 server those steps report
 * as ignored.
 */
import assert from "node:assert/strict";
import { runCli } from "./_cli.ts";
import {
  admin,
  claims,
  clusterEntry,
  create,
  eventually,
  freshNamespace,
  legacyToken,
} from "./_cluster.ts";
import { startTarget, type Target } from "./_target.ts";
import type { CredentialUsage, UsageSnapshot } from "../../src/usage/model.ts";
import type { UsageFinding } from "../../src/usage/findings.ts";

/** Requests as a client sends them: a bearer token, a user agent, maybe an X-Forwarded-For. */
async function requester(target: Target) {
  const { cluster } = await clusterEntry(target);
  const ca = cluster["certificate-authority-data"];
  const client = Deno.createHttpClient(
    typeof ca === "string" ? { caCerts: [atob(ca)] } : {},
  );
  const server = String(cluster.server).replace(/\/$/, "");
  return {
    async get(path: string, token: string, agent: string, forwardedFor?: string) {
      const headers: Record<string, string> = {
        Authorization: `Bearer ${token}`,
        "User-Agent": agent,
        Accept: "application/json",
      };
      if (forwardedFor) headers["X-Forwarded-For"] = forwardedFor;
      const r = await fetch(`${server}${path}`, { headers, client });
      await r.body?.cancel();
      return r.status;
    },
    close: () => client.close(),
  };
}

interface Report {
  snapshot: UsageSnapshot;
  findings: UsageFinding[];
  notEvaluated: string[];
}

Deno.test("kubectl token usage reports the tokens used on the target from its audit log", async (t) => {
  const target = await startTarget();
  const http = await requester(target);
  try {
    const auditLog = target.auditLogPath;
    const env = { KUBECONFIG: target.kubeconfig };
    const ns = await freshNamespace(target, "usage");
    await create(target, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web", namespace: ns },
      spec: { serviceAccountName: "robot", containers: [{ name: "c", image: "busybox" }] },
    });
    // No kubelet runs the Pod: give it the address the test's requests come from (the local
    // server serves no pods/status: its store takes the status directly).
    const status = { podIP: "127.0.0.1", podIPs: [{ ip: "127.0.0.1" }] };
    if (target.local) {
      const stored = target.local.store.get("v1", "Pod", ns, "web")!;
      target.local.store.update({ ...stored, status: { ...stored.status as object, ...status } });
    } else {
      await admin(target, [
        "patch",
        "pod",
        "web",
        "-n",
        ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({ status }),
      ]);
    }
    const mint = async (...flags: string[]) => {
      const r = await runCli(["create", "robot", "-n", ns, "--duration", "1h", ...flags], { env });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    const podToken = await mint("--bound-object-kind", "Pod", "--bound-object-name", "web");
    const plainToken = await mint();
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    // robot may do nothing: every request is denied (403), and counted as such.
    for (let i = 0; i < 3; i++) assert.equal(await http.get(path, podToken, "e2e-app/1.0"), 403);
    for (let i = 0; i < 2; i++) {
      assert.equal(await http.get(path, podToken, "curl/8.0", "203.0.113.9"), 403);
    }
    assert.equal(await http.get(path, plainToken, "e2e-plain/1.0"), 403);
    const legacy = await legacyToken(target, ns, "robot");
    assert.equal(await http.get(path, legacy.token, "e2e-legacy/1.0"), 403);

    const report = async (...flags: string[]): Promise<Report> => {
      const r = await runCli(
        [
          "usage",
          "--audit-log",
          auditLog,
          "--service-account",
          `${ns}/robot`,
          "-o",
          "json",
          ...flags,
        ],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    // The log backend may write an event after the answer: poll until all six are there.
    const podRow = (s: UsageSnapshot) => s.credentials.find((c) => c.pod?.name === "web");
    const full = await eventually(async () => {
      const r = await report("--offline");
      const row = podRow(r.snapshot);
      assert.equal(row?.requests, 5);
      assert.equal(r.snapshot.credentials.reduce((n, c) => n + c.requests, 0), 7);
      return r;
    }, { timeoutMs: 20_000 });
    const pod = () => podRow(full.snapshot) as CredentialUsage;

    await t.step({
      name: "the Pod-bound token: its service account, Pod, addresses, agents and denials",
      fn: () => {
        const row = pod();
        assert.deepEqual(row.serviceAccount, { namespace: ns, name: "robot" });
        assert.equal(row.pod?.name, "web");
        assert.equal(row.requests, 5);
        assert.equal(row.denied, 5);
        // X-Forwarded-For comes first in sourceIPs, the connection's address after it.
        assert.equal(row.sourceIPs["203.0.113.9"]?.count, 2);
        assert.equal(row.sourceIPs["127.0.0.1"]?.count, 5);
        assert.equal(row.userAgents["e2e-app/1.0"]?.count, 3);
        assert.equal(row.userAgents["curl/8.0"]?.count, 2);
        const list = Object.values(row.requestsMade).find((r) =>
          r.request.resource === "configmaps"
        );
        assert.deepEqual(
          [list?.request.verb, list?.request.namespace, list?.count, list?.denied],
          ["list", ns, 5, 5],
        );
      },
    });

    await t.step({
      name: "credential IDs: each token is its own row, and its TokenRequest names its jti",
      ignore: !target.capabilities.credentialId,
      fn: () => {
        const row = pod();
        assert.equal(row.kind, "token");
        assert.equal(row.jti, claims(podToken).jti);
        const plain = full.snapshot.credentials.find((c) => c.jti === claims(plainToken).jti);
        assert.equal(plain?.kind, "token");
        assert.equal(plain?.requests, 1);
        assert.equal(plain?.userAgents["e2e-plain/1.0"]?.count, 1);
        const jtis = full.snapshot.issued.map((i) => i.jti).sort();
        assert.deepEqual(jtis, [claims(podToken).jti, claims(plainToken).jti].sort());
      },
    });

    await t.step({
      name: "without credential IDs: a row per Pod, and the account's other tokens together",
      ignore: target.capabilities.credentialId,
      fn: () => {
        const row = pod();
        assert.equal(row.kind, "pod");
        const shared = full.snapshot.credentials.find((c) => c.kind === "service-account");
        assert.equal(shared?.requests, 1);
        assert.ok(full.snapshot.notes.some((n) => n.includes("do not tell apart")));
        assert.equal(full.snapshot.issued.length, 2);
      },
    });

    await t.step({
      // The server annotates a legacy token's requests (`legacy-token`, 1.20+; with the
      // Secret's name 1.28+).
      name: "a legacy Secret token is told apart by its audit annotation",
      fn: () => {
        const row = full.snapshot.credentials.find((c) => c.kind === "legacy-token");
        assert.equal(row?.requests, 1);
        assert.equal(row?.userAgents["e2e-legacy/1.0"]?.count, 1);
        assert.deepEqual(row?.serviceAccount, { namespace: ns, name: "robot" });
        assert.equal(
          row?.legacySecret,
          target.capabilities.legacyTokenLastUsedLabel ? legacy.name : undefined,
        );
        assert.ok(
          full.findings.some((f) => f.type === "legacy-token" && f.credential === row?.key),
        );
      },
    });

    await t.step({
      name: "the TokenRequests are the admin's, with their requester",
      fn: () => {
        const issued = full.snapshot.issued;
        assert.equal(issued.length, 2);
        for (const i of issued) {
          assert.deepEqual(i.serviceAccount, { namespace: ns, name: "robot" });
          assert.ok(i.requester !== "" && !i.requester.startsWith("system:serviceaccount:"));
        }
      },
    });

    await t.step({
      name: "--offline: the foreign-IP check is said not evaluated",
      fn: () => {
        assert.deepEqual(full.findings.filter((f) => f.type === "foreign-ip"), []);
        assert.ok(
          full.notEvaluated.some((l) =>
            l.startsWith("foreign-ip: 1 Pod-bound") && l.endsWith("(--offline)")
          ),
        );
      },
    });

    await t.step({
      name: "with the cluster: the Pod's token used from 203.0.113.9 is a high finding",
      fn: async () => {
        const r = await report();
        const f = r.findings.find((f) => f.type === "foreign-ip");
        assert.equal(f?.severity, "high");
        assert.match(f!.reason, new RegExp(`Token bound to Pod "${ns}/web" used from 1 address`));
        assert.match(f!.evidence[0], /^203\.0\.113\.9: 2 requests, /);
        const table = await runCli(
          [
            "usage",
            "--audit-log",
            auditLog,
            "--service-account",
            `${ns}/robot`,
            "--fail-on",
            "high",
          ],
          { env },
        );
        assert.equal(table.code, 1);
        assert.match(table.stdout, new RegExp(`\\n  high foreign-ip ${ns}/robot `));
        assert.match(table.stderr, /error: Found 1 finding of severity "high" or above/);
        assert.ok(!table.stdout.includes(podToken) && !table.stderr.includes(podToken));
      },
    });
  } finally {
    http.close();
    await target.close();
  }
});
