/**
 * `audit --severity`, `--kind` and `-l/--selector` against the seeded local server: what is
 * shown, what is counted (--fail-on counts every finding), what is sent to the server, and the
 * usage errors.
 */
import assert from "node:assert/strict";
import { runInProcess } from "./_cli.ts";
import * as seed from "./_audit_seed.ts";
import { seedFindings } from "./_audit_seed.ts";
import { SEVERITIES } from "../../src/audit/findings.ts";

interface Item {
  kind: string;
  namespace: string;
  name: string;
  findings: { type: string; severity: string }[];
}
interface Doc {
  items: Item[];
  summary: { hidden?: number; findings: Record<string, number> };
}

const worst = (item: Item) =>
  Math.max(...item.findings.map((f) => SEVERITIES.indexOf(f.severity as never)));

Deno.test("audit --severity shows objects whose worst finding is at least the level", async (t) => {
  const server = await seedFindings();
  try {
    const env = server.env;
    const all = JSON.parse(
      (await runInProcess(["audit", "-A", "-o", "json"], { env })).stdout,
    ) as Doc;
    for (const level of SEVERITIES) {
      await t.step(level, async () => {
        const r = await runInProcess(["audit", "-A", "-o", "json", "--severity", level], { env });
        assert.equal(r.code, 0, r.stderr);
        const doc = JSON.parse(r.stdout) as Doc;
        const expected = all.items.filter((i) =>
          i.findings.length > 0 && worst(i) >= SEVERITIES.indexOf(level)
        );
        assert.deepEqual(doc.items.map((i) => i.name), expected.map((i) => i.name));
        assert.equal(doc.summary.hidden, all.items.length - expected.length);
        // The summary still counts every finding.
        assert.deepEqual(doc.summary.findings, all.summary.findings);
      });
    }

    await t.step("--fail-on counts findings that --severity hides", async () => {
      const r = await runInProcess(["audit", "-A", "--severity", "critical", "--fail-on", "high"], {
        env,
      });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /\n\d+ rows below severity "critical" hidden\n/);
      assert.match(r.stderr, /error: Found 5 findings of severity "high" or above/);
    });

    await t.step("a bad level is a usage error", async () => {
      const r = await runInProcess(["audit", "--severity", "severe"], { env });
      assert.equal(r.code, 2);
      assert.equal(
        r.stderr,
        'error: Invalid value "severe" for flag --severity: allowed values are info, low, ' +
          "medium, high, critical\n",
      );
    });
  } finally {
    await server.close();
  }
});

Deno.test("audit --kind audits only the kinds named, in kubectl's spellings", async (t) => {
  const server = await seedFindings();
  try {
    const env = server.env;
    const kindsOf = async (...args: string[]) => {
      const r = await runInProcess(["audit", "-A", "-o", "json", ...args], { env });
      assert.equal(r.code, 0, r.stderr);
      return [...new Set((JSON.parse(r.stdout) as Doc).items.map((i) => i.kind))].sort();
    };
    const cases: [string[], string[]][] = [
      [["--kind", "secret"], ["Secret"]],
      [["--kind", "Secrets"], ["Secret"]],
      [["--kind", "bootstrap"], ["BootstrapToken"]],
      [["--kind", "bootstraptokens"], ["BootstrapToken"]],
      [["--kind", "sa"], ["ServiceAccount"]],
      [["--kind", "serviceaccount,bootstrap"], ["BootstrapToken", "ServiceAccount"]],
      [["--kind", "secret", "--kind", "serviceaccounts"], ["Secret", "ServiceAccount"]],
      [[], ["BootstrapToken", "Secret", "ServiceAccount"]],
    ];
    for (const [args, expected] of cases) {
      await t.step(args.join(" ") || "no --kind", async () => {
        assert.deepEqual(await kindsOf(...args), expected);
      });
    }

    await t.step("--kind secret still tells orphaned Secrets (it reads the accounts)", async () => {
      const r = await runInProcess(["audit", "-n", "team", "--kind", "secret", "-o", "json"], {
        env,
      });
      const items = (JSON.parse(r.stdout) as Doc).items;
      const orphaned = items.filter((i) => i.findings.some((f) => f.type === "orphaned"));
      assert.deepEqual(orphaned.map((i) => i.name).sort(), ["ghost", "recreated"]);
    });

    await t.step("the table's summary names only the kinds audited", async () => {
      const r = await runInProcess(["audit", "-n", "team", "--kind", "secret"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^7 token Secrets read; findings: /);
    });

    await t.step("--kind bootstrap lists nothing else", async () => {
      server.requests.length = 0;
      const r = await runInProcess(["audit", "-A", "--kind", "bootstrap"], { env });
      assert.equal(r.code, 0, r.stderr);
      const lists = server.requests.filter((q) => q.method === "GET" && q.path !== "/version");
      assert.deepEqual(lists.map((q) => q.path), ["/api/v1/namespaces/kube-system/secrets"]);
    });

    const usage: [string[], RegExp][] = [
      [
        ["--kind", "pods"],
        /^error: Invalid value "pods" for flag --kind: allowed values are secret, bootstrap, serviceaccount\n$/,
      ],
      [["--kind", "secret,"], /^error: Invalid value "" for flag --kind/],
      [
        ["-n", "team", "--kind", "bootstrap"],
        /^error: Flag --kind bootstrap needs -A or -n kube-system: bootstrap tokens live in kube-system, not in "team"\n$/,
      ],
    ];
    for (const [args, message] of usage) {
      await t.step(`usage error: ${args.join(" ")}`, async () => {
        const r = await runInProcess(["audit", ...args], { env });
        assert.equal(r.code, 2);
        assert.match(r.stderr, message);
        assert.equal(r.stdout, "");
      });
    }
  } finally {
    await server.close();
  }
});

Deno.test("audit -l sends the label selector on every list and keeps orphan detection right", async (t) => {
  const server = await seedFindings();
  try {
    const env = server.env;
    const app = server.store.list("v1", "ServiceAccount", "team").find((s) =>
      s.metadata.name === "app"
    )!;
    // Labelled Secret of an unlabelled account: not an orphan.
    seed.tokenSecret(server, "team", "ci-token", {
      sa: "app",
      saUid: app.metadata.uid,
      labels: { tier: "ci" },
    });
    server.store.create({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "ci-bot", namespace: "team", labels: { tier: "ci" } },
    });
    seed.tokenSecret(server, "team", "other", { sa: "app", saUid: app.metadata.uid });

    await t.step("only labelled objects, findings as without the selector", async () => {
      server.requests.length = 0;
      const r = await runInProcess(["audit", "-A", "-l", "tier=ci", "-o", "json"], { env });
      assert.equal(r.code, 0, r.stderr);
      const items = (JSON.parse(r.stdout) as Doc).items;
      assert.deepEqual(items.map((i) => `${i.kind}/${i.name}`).sort(), [
        "Secret/ci-token",
        "ServiceAccount/ci-bot",
      ]);
      const secret = items.find((i) => i.name === "ci-token")!;
      assert.deepEqual(secret.findings.map((f) => f.type).sort(), ["long-lived", "never-used"]);
      const lists = server.requests.filter((q) => q.path.endsWith("s"));
      const selectors = lists.map((q) => `${q.path} ${q.query.labelSelector ?? "-"}`);
      assert.deepEqual(selectors, [
        // Every account, for the UIDs, then the selected ones for the items.
        "/api/v1/serviceaccounts -",
        "/api/v1/serviceaccounts tier=ci",
        // Every Pod: any of them may use a selected Secret.
        "/api/v1/pods -",
        "/api/v1/secrets tier=ci",
        "/api/v1/namespaces/kube-system/secrets tier=ci",
      ]);
    });

    await t.step("--selector and set-based selectors", async () => {
      const r = await runInProcess(
        ["audit", "-n", "team", "--selector", "tier in (ci),tier!=web", "-o", "json"],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      const names = (JSON.parse(r.stdout) as Doc).items.map((i) => i.name).sort();
      assert.deepEqual(names, ["ci-bot", "ci-token"]);
    });

    await t.step("a selector the server cannot parse is its error, exit 1", async () => {
      const r = await runInProcess(["audit", "-n", "team", "-l", "tier in ci"], { env });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: .+\n$/);
    });

    await t.step("an empty selector is a usage error", async () => {
      const r = await runInProcess(["audit", "-l", " "], { env });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^error: Invalid value "" for flag --selector/);
    });
  } finally {
    await server.close();
  }
});

Deno.test("audit piped into another program hides no info rows", async () => {
  const server = await seedFindings();
  try {
    const r = await runInProcess(["audit", "-n", "team"], { env: server.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ServiceAccount\s+app\s+.*\sinfo\s+automount\n/);
    assert.doesNotMatch(r.stderr, /hidden/);
  } finally {
    await server.close();
  }
});
