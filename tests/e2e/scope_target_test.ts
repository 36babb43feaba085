/**
 * `scope` against the target cluster itself, with service-account tokens bound to Roles (scope_test.ts
 * covers every risk on the local server with static tokens).
 */
import assert from "node:assert/strict";
import { runCli, runKubectl } from "./_cli.ts";
import { create, freshNamespace, tokenKubeconfig } from "./_cluster.ts";
import { startTarget } from "./_target.ts";

const RBAC = "rbac.authorization.k8s.io/v1";

Deno.test("scope reads a service account's rights from the target's RBAC", async (t) => {
  const target = await startTarget();
  try {
    const ns = await freshNamespace(target, "scope");
    const env = { KUBECONFIG: target.kubeconfig };
    const account = async (name: string, rules: unknown[]) => {
      // One object per call: kubectl prints several created objects as several documents.
      const objects = [
        { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: ns } },
        { apiVersion: RBAC, kind: "Role", metadata: { name, namespace: ns }, rules },
        {
          apiVersion: RBAC,
          kind: "RoleBinding",
          metadata: { name, namespace: ns },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
          subjects: [{ kind: "ServiceAccount", name, namespace: ns }],
        },
      ];
      for (const object of objects) await create(target, object);
      const r = await runCli(["create", name, "-n", ns], { env });
      assert.equal(r.code, 0, r.stderr);
      return tokenKubeconfig(target, r.stdout, ns);
    };
    const reader = await account("reader", [
      { apiGroups: [""], resources: ["pods", "configmaps"], verbs: ["get", "list"] },
    ]);
    const risky = await account("risky", [
      { apiGroups: [""], resources: ["secrets"], verbs: ["list"] },
      { apiGroups: [""], resources: ["pods/exec"], verbs: ["create"] },
    ]);

    await t.step("read-only", async () => {
      const r = await runKubectl(["token", "scope"], { env: { KUBECONFIG: reader } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /\npods\s+\[\]\s+\[\]\s+\[get list\]\n/);
      assert.match(r.stdout, new RegExp(`\\nVerdict in namespace "${ns}": read-only\\n$`));
    });

    await t.step("risky rights marked", async () => {
      const r = await runCli(["scope", "-o", "json"], { env: { KUBECONFIG: risky } });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.kind, "TokenScope");
      assert.match(doc.verdict, /^broader than read-only/);
      for (const risk of ["reads secrets", "pods/exec"]) {
        assert.ok(
          JSON.stringify(doc.risks).includes(risk),
          `${risk}: ${JSON.stringify(doc.risks)}`,
        );
      }
    });

    const renewer = await account("renewer", [
      { apiGroups: [""], resources: ["pods"], verbs: ["get"] },
      {
        apiGroups: [""],
        resources: ["serviceaccounts/token"],
        verbs: ["create"],
        resourceNames: ["renewer"],
      },
    ]);
    const minter = await account("minter", [
      {
        apiGroups: [""],
        resources: ["serviceaccounts/token"],
        verbs: ["create"],
        resourceNames: ["renewer"],
      },
    ]);

    await t.step("tokens for itself only: self-renewal, not a risk", async () => {
      const r = await runCli(["scope", "-o", "wide"], { env: { KUBECONFIG: renewer } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /^RESOURCES\s+NON-RESOURCE URLS\s+RESOURCE NAMES\s+VERBS\s+RISK\s+WHY\n/,
      );
      assert.match(
        r.stdout,
        /\nserviceaccounts\/token\s+\[\]\s+\[renewer\]\s+\[create\]\s+self-renewal\s+can get new tokens for itself only/,
      );
      assert.doesNotMatch(r.stdout, /!/);
      assert.match(r.stdout, new RegExp(`\\nVerdict in namespace "${ns}": read-only\\n$`));
      const json = JSON.parse(
        (await runCli(["scope", "-o", "json"], { env: { KUBECONFIG: renewer } })).stdout,
      );
      assert.deepEqual(json.risks, []);
      const rule = json.rules.find((x: { resource?: string }) =>
        x.resource === "serviceaccounts/token"
      );
      assert.deepEqual([rule.risks, rule.notes], [[], ["self-renewal"]]);
    });

    await t.step("tokens for another account: still a risk", async () => {
      const r = await runCli(["scope", "-o", "wide"], { env: { KUBECONFIG: minter } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /\nserviceaccounts\/token\s+\[\]\s+\[renewer\]\s+\[create\]\s+! creates service-account tokens\s+can get tokens for other service accounts/,
      );
      assert.match(
        r.stdout,
        /: broader than read-only \(risky: creates service-account tokens\)\n$/,
      );
    });

    await t.step("-A reviews every namespace the credential may list", async () => {
      const r = await runCli(["scope", "-A"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /^NAMESPACE\s+RESOURCES\s+NON-RESOURCE URLS\s+RESOURCE NAMES\s+VERBS\s+RISK\n/,
      );
      for (const name of [ns, "default", "kube-system"]) {
        assert.match(
          r.stdout,
          new RegExp(`\\nVerdict in namespace "${name}": cluster-admin equivalent \\(risky: `),
        );
        assert.match(r.stdout, new RegExp(`\\n${name}\\s+\\*\\.\\*\\s`));
      }
      const list = JSON.parse((await runCli(["scope", "-A", "-o", "json"], { env })).stdout);
      assert.equal(list.kind, "List");
      assert.ok(list.items.some((i: { namespace: string }) => i.namespace === ns));
      // A service account that may not list namespaces gets one line saying so.
      const denied = await runCli(["scope", "-A"], { env: { KUBECONFIG: reader } });
      assert.equal(denied.code, 1);
      assert.match(
        denied.stderr,
        /^error: Cannot list namespaces for --all-namespaces: .*; name one with -n\n$/,
      );
    });

    await t.step("the admin is cluster-admin equivalent", async () => {
      const r = await runCli(["scope", "-n", ns, "-o", "json"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).verdict, "cluster-admin equivalent");
    });
  } finally {
    await target.close();
  }
});
