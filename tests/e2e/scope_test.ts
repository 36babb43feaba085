import assert from "node:assert/strict";
import { runCli, runKubectl } from "./_cli.ts";
import { startApiServer } from "../apiserver/mod.ts";

const RBAC = "rbac.authorization.k8s.io/v1";

Deno.test("kubectl token scope marks each risky right and gives a verdict", async (t) => {
  const server = await startApiServer();
  try {
    server.store.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "app" } });
    const bind = (user: string, rules: unknown[]) => {
      server.store.create({
        apiVersion: RBAC,
        kind: "Role",
        metadata: { name: user, namespace: "app" },
        rules,
      });
      server.store.create({
        apiVersion: RBAC,
        kind: "RoleBinding",
        metadata: { name: user, namespace: "app" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: user },
        subjects: [{ kind: "User", name: user }],
      });
      server.addStaticToken(`token-of-${user}`, { username: user });
    };
    bind("reader", [{
      apiGroups: [""],
      resources: ["pods", "configmaps"],
      verbs: ["get", "list"],
    }]);
    bind("risky", [
      { apiGroups: [""], resources: ["secrets"], verbs: ["list"] },
      { apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"] },
      { apiGroups: [""], resources: ["users"], verbs: ["impersonate"] },
      { apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles"], verbs: ["bind"] },
      {
        apiGroups: ["rbac.authorization.k8s.io"],
        resources: ["clusterroles"],
        verbs: ["escalate"],
      },
      { apiGroups: [""], resources: ["pods/exec"], verbs: ["create"] },
      { apiGroups: [""], resources: ["nodes/proxy"], verbs: ["get"] },
      { apiGroups: ["apps"], resources: ["deployments"], verbs: ["*"] },
    ]);
    // Any kubeconfig user: --token replaces its credential.
    const kubeconfig = await server.writeKubeconfig("someone", { token: "token-of-reader" });
    const env = { KUBECONFIG: kubeconfig };

    await t.step("read-only", async () => {
      const r = await runKubectl(["token", "scope", "-n", "app"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^RESOURCES\s+NON-RESOURCE URLS\s+RESOURCE NAMES\s+VERBS\s+RISK\n/);
      assert.match(r.stdout, /\npods\s+\[\]\s+\[\]\s+\[get list\]\n/);
      assert.match(r.stdout, /\nVerdict in namespace "app": read-only\n$/);
      assert.doesNotMatch(r.stdout, /!/);
    });

    await t.step("each risky right marked (--token)", async () => {
      const r = await runCli(["scope", "-n", "app", "--token", "token-of-risky"], { env });
      assert.equal(r.code, 0, r.stderr);
      const cases: [RegExp, string][] = [
        [/\nsecrets\s+\[\]\s+\[\]\s+\[list\]\s+! reads secrets\n/, "secrets"],
        [/\nserviceaccounts\/token\s+.*! creates service-account tokens\n/, "token"],
        [/\nusers\s+.*! impersonate\n/, "impersonate"],
        [/\nroles\.rbac\.authorization\.k8s\.io\s+.*! bind\n/, "bind"],
        [/\nclusterroles\.rbac\.authorization\.k8s\.io\s+.*! escalate\n/, "escalate"],
        [/\npods\/exec\s+.*! pods\/exec\n/, "exec"],
        [/\nnodes\/proxy\s+.*! nodes\/proxy\n/, "proxy"],
        [/\ndeployments\.apps\s+\[\]\s+\[\]\s+\[\*\]\s+! wildcard\n/, "wildcard"],
      ];
      for (const [pattern, what] of cases) assert.match(r.stdout, pattern, `${what}: ${r.stdout}`);
      assert.match(r.stdout, /\nVerdict in namespace "app": broader than read-only \(risky: /);
      assert.ok(!r.stdout.includes("token-of-risky") && !r.stderr.includes("token-of-risky"));
    });

    await t.step("cluster-admin equivalent, as JSON", async () => {
      const r = await runCli(["scope", "-n", "app", "-o", "json"], {
        env: { KUBECONFIG: server.kubeconfigPath },
      });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.kind, "TokenScope");
      assert.equal(doc.verdict, "cluster-admin equivalent");
      assert.ok(doc.risks.includes("wildcard"));
      const yaml = await runCli(
        ["scope", "-n", "app", "-o", "yaml", "--token", "token-of-reader"],
        {
          env,
        },
      );
      assert.match(yaml.stdout, /\nverdict: read-only\n/);
    });
  } finally {
    await server.close();
  }
});
