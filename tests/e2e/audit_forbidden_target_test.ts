/**
 * `audit` as a user who may list some things and not others (a service account with a Role that
 * lists Secrets and Pods but not service accounts): every refused list is one warning, the rest is
 * audited, orphan detection is skipped rather than guessed, and only `--fail-on` or an audit that
 * could list nothing exits 1. Runs on the local server and on the real one.
 */
import assert from "node:assert/strict";
import { runCli } from "./_cli.ts";
import {
  admin,
  eventually,
  freshNamespace,
  legacyToken,
  robotToken,
  tokenKubeconfig,
} from "./_cluster.ts";
import { startTarget } from "./_target.ts";

interface Doc {
  items: { kind: string; name: string; findings: { type: string }[] }[];
  summary: { incomplete?: { resource: string; namespace: string | null; reason: string }[] };
}

Deno.test("audit with a Role that lists Secrets and Pods but not service accounts is a partial audit", async (t) => {
  const target = await startTarget();
  try {
    const ns = await freshNamespace(target, "audit-rbac");
    const { name } = await legacyToken(target, ns, "robot");
    const rbac = {
      apiVersion: "v1",
      kind: "List",
      items: [{
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "secret-lister", namespace: ns },
        rules: [{ apiGroups: [""], resources: ["secrets", "pods"], verbs: ["list"] }],
      }, {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "secret-lister", namespace: ns },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "secret-lister" },
        subjects: [{ kind: "ServiceAccount", name: "robot", namespace: ns }],
      }],
    };
    await admin(target, ["create", "--validate=false", "-f", "-"], JSON.stringify(rbac));
    const env = { KUBECONFIG: await tokenKubeconfig(target, await robotToken(target, ns), ns) };
    const warning = new RegExp(
      `^Warning: cannot list serviceaccounts in namespace "${ns}": .*forbidden.*; ` +
        `the orphaned check was skipped$`,
      "m",
    );

    await t.step("table: one warning, the Secrets audited, exit 0", async () => {
      // The Role reaches the authorizer's cache a moment after it is created.
      const r = await eventually(async () => {
        const r = await runCli(["audit"], { env });
        assert.match(r.stdout, new RegExp(`\\sSecret\\s+${name}\\s`), r.stderr);
        return r;
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, warning);
      assert.equal(r.stderr.match(/Warning:/g)?.length, 1, r.stderr);
      assert.doesNotMatch(r.stdout, /orphaned/, "no account known is not a missing account");
    });

    await t.step("-o json records what was not listed", async () => {
      const r = await runCli(["audit", "-o", "json"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, warning);
      const doc = JSON.parse(r.stdout) as Doc;
      assert.ok(doc.items.some((i) => i.kind === "Secret" && i.name === name));
      assert.ok(doc.items.every((i) => i.findings.every((f) => f.type !== "orphaned")));
      assert.equal(doc.summary.incomplete?.length, 1);
      const [missing] = doc.summary.incomplete!;
      assert.equal(missing.resource, "serviceaccounts");
      assert.equal(missing.namespace, ns);
      assert.match(missing.reason, /forbidden/);
    });

    await t.step("--fail-on does not pass an incomplete audit", async () => {
      const r = await runCli(["audit", "--fail-on", "critical"], { env });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(
          `\\nerror: Cannot pass --fail-on critical: the audit is incomplete \\(serviceaccounts ` +
            `in namespace "${ns}" not listed\\)\\n$`,
        ),
      );
    });

    await t.step("--kind secret still warns that the orphan check was skipped", async () => {
      const r = await runCli(["audit", "--kind", "secret"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, warning);
    });

    await t.step("--kind serviceaccount: the only list refused, exit 1", async () => {
      const r = await runCli(["audit", "--kind", "serviceaccount"], { env });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^Warning: cannot list serviceaccounts in namespace "[^"]+": /);
      assert.match(r.stderr, /\nerror: Cannot audit: the server refused every list \(/);
    });

    await t.step("-A: nothing may be listed, one warning per list, exit 1", async () => {
      const r = await runCli(["audit", "-A"], { env });
      assert.equal(r.code, 1);
      const warnings = r.stderr.match(/^Warning: cannot list .*$/gm) ?? [];
      assert.equal(warnings.length, 5, r.stderr);
      assert.match(r.stderr, /cannot list serviceaccounts in all namespaces: /);
      assert.match(
        r.stderr,
        /cannot list pods in all namespaces: .*; the consumers of the token Secrets are unknown\n/,
      );
      assert.match(r.stderr, /cannot list secrets in all namespaces: /);
      assert.match(r.stderr, /cannot list bootstrap tokens in namespace "kube-system": /);
      assert.match(r.stderr, /cannot list issued tokens in all namespaces: /);
      assert.match(
        r.stderr,
        /\nerror: Cannot audit: the server refused every list \(serviceaccounts in all namespaces, pods in all namespaces, secrets in all namespaces, bootstrap tokens in namespace "kube-system", issued tokens in all namespaces\): .*forbidden/,
      );
    });

    await t.step("revoke --orphaned selects nothing it cannot know", async () => {
      const r = await runCli(["revoke", "--orphaned", "--dry-run"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, warning);
      assert.match(r.stderr, /Nothing to revoke: no object matches the selectors/);
    });
  } finally {
    await target.close();
  }
});
