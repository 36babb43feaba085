import assert from "node:assert/strict";
import { runCli, runKubectl } from "./_cli.ts";
import * as seed from "./_audit_seed.ts";
import { EDGE_INSTANTS, seedFindings } from "./_audit_seed.ts";
import { startApiServer } from "../apiserver/mod.ts";

interface Item {
  kind: string;
  namespace: string;
  name: string;
  tokenID?: string;
  findings: { type: string; severity: string; reason: string }[];
}

Deno.test("kubectl token audit produces and explains every kind of finding", async (t) => {
  const server = await seedFindings();
  try {
    const env = server.env;
    const r = await runKubectl(["token", "audit", "-A", "-o", "json"], { env });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { kind: string; items: Item[]; summary: unknown };
    assert.equal(doc.kind, "TokenAudit");
    const find = (kind: string, ns: string, name: string) =>
      doc.items.find((i) => i.kind === kind && i.namespace === ns && i.name === name);
    const types = (item?: Item) => item?.findings.map((f) => f.type).sort();

    await t.step("findings per object", () => {
      const cases: [string, string, string, string[]][] = [
        ["Secret", "team", "unused", ["long-lived", "unused"]],
        ["Secret", "team", "fresh", ["long-lived"]],
        ["Secret", "team", "ghost", ["long-lived", "never-used", "orphaned"]],
        ["Secret", "team", "recreated", ["long-lived", "orphaned"]],
        ["Secret", "team", "invalid", ["invalidated", "long-lived", "unused"]],
        ["Secret", "team", "never-old", ["long-lived", "never-used"]],
        ["Secret", "team", "never-new", ["long-lived", "never-used"]],
        ["BootstrapToken", "kube-system", "bootstrap-token-aaaaaa", ["expired"]],
        ["BootstrapToken", "kube-system", "bootstrap-token-bbbbbb", ["no-expiry"]],
        ["BootstrapToken", "kube-system", "bootstrap-token-cccccc", []],
        ["ServiceAccount", "team", "app", ["automount"]],
        ["IssuedToken", "team", "app-issued-b2c4d", ["unpruned"]],
        ["IssuedToken", "team", "app-issued-j7k8l", ["unpruned"]],
      ];
      for (const [kind, ns, name, expected] of cases) {
        assert.deepEqual(types(find(kind, ns, name)), expected, `${kind} ${ns}/${name}`);
      }
      assert.equal(find("ServiceAccount", "team", "quiet"), undefined, "automount false is fine");
      // A live revocable token is no finding (issued lists it); the one whose service account
      // is gone is not orphaned either: it is no legacy token. Nor is any entry a Secret item.
      assert.deepEqual(doc.items.filter((i) => /-issued-/.test(i.name)).map((i) => i.name), [
        "app-issued-b2c4d",
        "app-issued-j7k8l",
      ]);
    });

    await t.step("severities and one-line reasons", () => {
      const finding = (name: string, type: string) =>
        find("Secret", "team", name)!.findings.find((f) => f.type === type)!;
      assert.equal(finding("unused", "unused").severity, "high");
      assert.match(
        finding("unused", "unused").reason,
        /^last used on 2026-05-16, at least 199d ago \(more than 90d\)$/,
      );
      assert.match(finding("ghost", "orphaned").reason, /service account "ghost" does not exist/);
      assert.match(
        finding("recreated", "orphaned").reason,
        /was recreated: its UID .* is not the UID 0{8}-/,
      );
      assert.match(
        finding("invalid", "invalidated").reason,
        /invalidated by the legacy token cleaner on/,
      );
      assert.equal(finding("never-old", "never-used").severity, "medium");
      assert.equal(finding("never-new", "never-used").severity, "low");
      assert.match(finding("fresh", "long-lived").reason, /never expires/);
      const unpruned = (name: string) => find("IssuedToken", "team", name)!.findings[0];
      assert.deepEqual(unpruned("app-issued-b2c4d"), {
        type: "unpruned",
        severity: "low",
        reason: "issued token expired 1s ago; its registry entry was never pruned " +
          "(kubectl token issued -n team --prune)",
        replacement: "kubectl token issued -n team --prune",
      });
      assert.match(unpruned("app-issued-j7k8l").reason, /^issued token expired 3d ago; /);
      const boot = (id: string) => doc.items.find((i) => i.tokenID === id)!;
      assert.match(
        boot("aaaaaa").findings[0].reason,
        /^expired \S+Z \(6\dm ago\); the token cleaner/,
      );
      assert.equal(boot("bbbbbb").findings[0].severity, "high");
      assert.match(boot("bbbbbb").findings[0].reason, /authenticates as system:bootstrap:bbbbbb/);
      for (const item of doc.items) {
        for (const f of item.findings) assert.doesNotMatch(f.reason, /\n|0123456789abcdef/);
      }
    });

    await t.step("the bootstrap token secret never appears", () => {
      assert.doesNotMatch(r.stdout, /0123456789abcdef/);
    });

    await t.step("table, wide and yaml", async () => {
      const table = await runCli(["audit", "-n", "team"], { env });
      assert.equal(table.code, 0, table.stderr);
      const lines = table.stdout.trimEnd().split("\n");
      assert.match(
        lines[0],
        /^NAMESPACE\s+KIND\s+NAME\s+SERVICE-ACCOUNT\s+AGE\s+LAST-USED\s+TTL\s+SEVERITY\s+FINDINGS$/,
      );
      assert.match(
        table.stdout,
        /team\s+Secret\s+ghost\s+ghost\s+\S+\s+<never>\s+<forever>\s+high\s+long-lived,never-used,orphaned\n/,
      );
      assert.doesNotMatch(
        table.stdout,
        /BootstrapToken/,
        "bootstrap tokens only with -A or -n kube-system",
      );
      assert.match(
        table.stdout,
        /\nteam\s+IssuedToken\s+app-issued-b2c4d\s+app\s+60m\s+<none>\s+<expired>\s+low\s+unpruned\n/,
      );
      assert.doesNotMatch(table.stdout, /app-issued-f5g6h|ghost-issued/);
      // One aligned table: the FINDINGS column (the last) starts at the same place on every line.
      const at = new Set(lines.map((l) => l.search(/\S+$/)));
      assert.equal(at.size, 1, table.stdout);
      assert.match(
        table.stderr,
        /^7 token Secrets, 0 bootstrap tokens, 3 service accounts, 4 issued tokens read; findings: 4 high, 8 medium, 5 low, 2 info\n$/,
      );

      const wide = await runCli(["audit", "-n", "kube-system", "-o", "wide"], { env });
      assert.equal(wide.code, 0, wide.stderr);
      assert.match(
        wide.stdout,
        /BootstrapToken\s+bbbbbb\s+.*<forever>\s+high\s+no-expiry\s+<none>\s+signing,authentication\s+system:bootstrappers:kubeadm:default-node-token\s+token bbbbbb\s+<none>\s+never expires/,
      );

      const yaml = await runCli(["audit", "-n", "team", "-o", "yaml"], { env });
      assert.equal(yaml.code, 0, yaml.stderr);
      assert.match(yaml.stdout, /^apiVersion: kubectl-token.dev\/v1alpha1\nkind: TokenAudit\n/);
      assert.match(yaml.stdout, /\nitems:\n- kind: ServiceAccount\n/);
      assert.ok(
        yaml.stdout.endsWith(
          "\nsummary:\n  serviceAccounts: 3\n  secrets: 7\n  bootstrapTokens: 0\n" +
            "  issuedTokens: 4\n" +
            "  findings:\n    info: 2\n    low: 5\n    medium: 8\n    high: 4\n    critical: 0\n",
        ),
        yaml.stdout,
      );
    });

    await t.step("--fail-on", async () => {
      const high = await runCli(["audit", "-A", "--fail-on", "high", "-o", "json"], { env });
      assert.equal(high.code, 1);
      assert.match(
        high.stderr,
        /error: Found 5 findings of severity "high" or above \(--fail-on high\)\n$/,
      );
      JSON.parse(high.stdout);
      const critical = await runCli(["audit", "-A", "--fail-on", "critical"], { env });
      assert.equal(critical.code, 0, critical.stderr);
      const bad = await runCli(["audit", "--fail-on", "severe"], { env });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /Invalid value "severe" for flag --fail-on/);
    });

    await t.step("--unused-for takes days and Go durations", async () => {
      const r30 = await runCli(["audit", "-n", "team", "--unused-for", "1d12h", "-o", "json"], {
        env,
      });
      assert.equal(r30.code, 0, r30.stderr);
      const items = (JSON.parse(r30.stdout) as { items: Item[] }).items;
      const recreated = items.find((i) => i.name === "recreated")!;
      assert.ok(!recreated.findings.some((f) => f.type === "unused"), "1 day is under 36h");
      const bad = await runCli(["audit", "--unused-for", "ninety"], { env });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /Invalid value "ninety" for flag --unused-for/);
    });
  } finally {
    await server.close();
  }
});

Deno.test("audit gives the same findings at the edges of a day, a month and a year", async (t) => {
  for (const at of EDGE_INSTANTS) {
    await t.step(at, async () => {
      const server = await seedFindings(at);
      try {
        const r = await runCli(["audit", "-n", "team", "-o", "json", "--unused-for", "1d12h"], {
          env: server.env,
        });
        assert.equal(r.code, 0, r.stderr);
        const items = (JSON.parse(r.stdout) as { items: Item[] }).items;
        const types = Object.fromEntries(
          items.filter((i) => i.kind === "Secret").map((i) => [
            i.name,
            i.findings.map((f) => `${f.type}:${f.severity}`).sort().join(","),
          ]),
        );
        assert.deepEqual(types, {
          unused: "long-lived:medium,unused:high",
          fresh: "long-lived:medium",
          ghost: "long-lived:medium,never-used:low,orphaned:high",
          recreated: "long-lived:medium,orphaned:high",
          invalid: "invalidated:low,long-lived:medium,unused:high",
          "never-old": "long-lived:medium,never-used:medium",
          "never-new": "long-lived:medium,never-used:low",
        });
        // A second past its expiry the entry is unpruned; a second before, it is not yet.
        const issued = Object.fromEntries(
          items.filter((i) => i.kind === "IssuedToken").map((i) => [
            i.name,
            i.findings.map((f) => `${f.type}:${f.severity}:${f.reason.split(";")[0]}`).join(","),
          ]),
        );
        assert.deepEqual(issued, {
          "app-issued-b2c4d": "unpruned:low:issued token expired 1s ago",
          "app-issued-j7k8l": "unpruned:low:issued token expired 3d ago",
        });
      } finally {
        await server.close();
      }
    });
  }
});

Deno.test("kubectl token audit pages through 2,000 namespaces and 20,000 Secrets", async () => {
  const server = await startApiServer();
  try {
    for (let n = 0; n < 2000; n++) seed.namespace(server, `ns-${String(n).padStart(4, "0")}`);
    const uids = new Map(
      server.store.list("v1", "ServiceAccount").map((
        sa,
      ) => [sa.metadata.namespace, sa.metadata.uid]),
    );
    for (let i = 0; i < 20_000; i++) {
      const ns = `ns-${String(i % 2000).padStart(4, "0")}`;
      seed.tokenSecret(server, ns, `token-${i}`, { sa: "default", saUid: uids.get(ns) });
    }
    // Other Secrets that the field selector must keep away.
    for (let i = 0; i < 500; i++) {
      server.store.create({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: `opaque-${i}`, namespace: "ns-0000" },
        type: "Opaque",
      });
    }
    server.requests.length = 0;
    const r = await runCli(["audit", "-A"], { env: { KUBECONFIG: server.kubeconfigPath } });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.filter((l) => /\sSecret\s/.test(l)).length, 20_000);
    assert.equal(lines.filter((l) => /\sServiceAccount\s/.test(l)).length, 2004);
    assert.doesNotMatch(r.stdout, /orphaned|opaque-/);

    const all = server.requests.filter((q) => q.path === "/api/v1/secrets");
    const issued = all.filter((q) =>
      q.query.fieldSelector === "type=kubectl-token.io/issued-token"
    );
    assert.deepEqual(issued.map((q) => [q.query.limit, q.query.continue]), [["500", undefined]]);
    const secrets = all.filter((q) => !issued.includes(q));
    assert.equal(secrets.length, 40, "20,000 Secrets in pages of 500");
    const continues = new Set<string>();
    secrets.forEach((q, i) => {
      assert.equal(q.method, "GET");
      assert.equal(q.query.limit, "500");
      assert.equal(q.query.fieldSelector, "type=kubernetes.io/service-account-token");
      if (i === 0) assert.equal(q.query.continue, undefined);
      else {
        assert.ok(q.query.continue, `page ${i + 1} continues the list`);
        continues.add(q.query.continue);
      }
    });
    assert.equal(continues.size, 39, "each page continues where the last ended");
    const accounts = server.requests.filter((q) => q.path === "/api/v1/serviceaccounts");
    assert.equal(accounts.length, 5, "2,004 service accounts in pages of 500");
    assert.ok(accounts.every((q) => q.query.limit === "500"));
    const boot = server.requests.filter((q) => q.path === "/api/v1/namespaces/kube-system/secrets");
    assert.deepEqual(boot.map((q) => q.query.fieldSelector), [
      "type=bootstrap.kubernetes.io/token",
    ]);
    // No request reads a whole collection at once.
    assert.ok(server.requests.every((q) => !q.path.endsWith("s") || q.query.limit === "500"));
  } finally {
    await server.close();
  }
});
