/**
 * Least privilege from the target's own audit log (issue #14, "done when"): a service account
 * with a broad Role runs a recorded workload with its own token; `scope SA --from-audit` reads the
 * server's audit log and proposes a Role and bindings; with the broad binding deleted and the
 * proposal applied, the workload replayed with the same token still runs, and a request outside
 * it (listing Secrets) is denied.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { runCli, runKubectl } from "./_cli.ts";
import { admin, eventually, freshNamespace, robotToken, tokenKubeconfig } from "./_cluster.ts";
import { startTarget } from "./_target.ts";

interface Report {
  observed: { requests: number; allowed: number; denied: number };
  grants: { source: string; status: string; requests: number; unused?: Record<string, string[]> }[];
  ungranted: unknown[];
  proposal: {
    items: { kind: string; metadata: { name: string; namespace?: string }; rules?: unknown[] }[];
  };
  check: { requests: number; distinct: number; allAllowed: boolean };
  applied?: { kind: string; name: string; result: string }[];
}

Deno.test({
  name: "scope SA --from-audit: the proposal, applied, runs the workload again and nothing more",
  fn: async (t) => {
    const target = await startTarget();
    try {
      const log = target.auditLogPath;
      const ns = await freshNamespace(target, "scope-audit");
      const rbac = "rbac.authorization.k8s.io/v1";
      const objects = [
        { apiVersion: "v1", kind: "Secret", metadata: { name: "app-config", namespace: ns } },
        { apiVersion: "v1", kind: "Secret", metadata: { name: "other", namespace: ns } },
        {
          apiVersion: rbac,
          kind: "Role",
          metadata: { name: "broad", namespace: ns },
          rules: [{
            apiGroups: [""],
            resources: ["pods", "configmaps", "secrets"],
            verbs: ["get", "list", "watch", "create"],
          }],
        },
        {
          apiVersion: rbac,
          kind: "RoleBinding",
          metadata: { name: "broad", namespace: ns },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "broad" },
          subjects: [{ kind: "ServiceAccount", name: "robot", namespace: ns }],
        },
      ];
      await admin(
        target,
        ["create", "--validate=false", "-f", "-"],
        JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }),
      );
      const robot = await tokenKubeconfig(target, await robotToken(target, ns), ns);
      const asRobot = (path: string) => runKubectl(["--kubeconfig", robot, "get", "--raw", path]);
      const workload = [
        `/api/v1/namespaces/${ns}/secrets/app-config`,
        `/api/v1/namespaces/${ns}/pods`,
        "/version",
      ];
      const runWorkload = async () => {
        for (const path of workload) {
          const r = await asRobot(path);
          assert.equal(r.code, 0, `${path}: ${r.stderr}`);
        }
      };
      const adminEnv = { KUBECONFIG: target.kubeconfig };
      const scope = (...args: string[]) =>
        runCli(["scope", "robot", "-n", ns, "--from-audit", log, ...args], { env: adminEnv });

      await t.step("the workload runs with the broad Role, and the log records it", async () => {
        // The Role reaches the authorizer a moment after it is created.
        await eventually(runWorkload);
        // The last request of the workload, found in the log, says the log has caught up.
        const marker = `/version?scope-e2e=${crypto.randomUUID()}`;
        assert.equal((await asRobot(marker)).code, 0);
        await eventually(async () => {
          assert.ok(
            (await Deno.readTextFile(log)).includes(marker),
            "the marker is not logged yet",
          );
        }, { timeoutMs: 15_000, intervalMs: 100 });
      });

      let report: Report;
      await t.step(
        "-o yaml: grants compared, a Role and a ClusterRole proposed, checked",
        async () => {
          const r = await scope("-o", "yaml");
          assert.equal(r.code, 0, r.stderr);
          report = parse(r.stdout) as Report;
          // Requests denied before the Role took effect, if any, are listed apart: not asserted.
          assert.ok(report.observed.requests >= 4, JSON.stringify(report.observed));
          const broad = report.grants.find((g) => g.source.startsWith(`RoleBinding "${ns}/broad"`));
          assert.equal(broad?.status, "partly used");
          assert.deepEqual(broad?.unused, {
            verbs: ["watch", "create"],
            resources: ["configmaps"],
          });
          assert.equal(report.check.allAllowed, true);
          assert.deepEqual(
            report.proposal.items.map((o) => [o.kind, o.metadata.namespace ?? "", o.metadata.name]),
            [
              ["ClusterRole", "", `kubectl-token-${ns}-robot-least-privilege`],
              ["ClusterRoleBinding", "", `kubectl-token-${ns}-robot-least-privilege`],
              ["Role", ns, "kubectl-token-robot-least-privilege"],
              ["RoleBinding", ns, "kubectl-token-robot-least-privilege"],
            ],
          );
          assert.deepEqual(report.proposal.items[2].rules, [
            { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
            {
              apiGroups: [""],
              resources: ["secrets"],
              resourceNames: ["app-config"],
              verbs: ["get"],
            },
          ]);
          assert.deepEqual(report.proposal.items[0].rules, [
            { nonResourceURLs: ["/version"], verbs: ["get"] },
          ]);
        },
      );

      await t.step("text: the check line, and stdout is what kubectl apply takes", async () => {
        const r = await scope();
        assert.equal(r.code, 0, r.stderr);
        assert.match(
          r.stdout,
          /^# Checked \d+ observed requests \(3 distinct\) against the proposed rules: all allowed$/m,
        );
        const dry = await runKubectl(
          ["--kubeconfig", target.kubeconfig, "apply", "--dry-run=server", "-f", "-"],
          { stdin: r.stdout },
        );
        assert.equal(dry.code, 0, dry.stderr);
        assert.match(
          dry.stdout,
          /role\.rbac\.authorization\.k8s\.io\/kubectl-token-robot-least-privilege created \(server dry run\)/,
        );
      });

      await t.step("--apply --dry-run=server: sent, nothing stored", async () => {
        const r = await scope("--apply", "--dry-run=server");
        assert.equal(r.code, 0, r.stderr);
        assert.equal((r.stdout.match(/ created \(server dry run\)$/gm) ?? []).length, 4, r.stdout);
        const get = await runKubectl([
          "--kubeconfig",
          target.kubeconfig,
          "get",
          "role",
          "-n",
          ns,
          "kubectl-token-robot-least-privilege",
        ]);
        assert.notEqual(get.code, 0);
        assert.match(get.stderr, /NotFound|not found/);
      });

      await t.step("the broad binding deleted, the proposal applied", async () => {
        await admin(target, ["delete", "rolebinding", "broad", "-n", ns]);
        const r = await scope("--apply");
        assert.equal(r.code, 0, r.stderr);
        assert.equal((r.stdout.match(/ created$/gm) ?? []).length, 4, r.stdout);
        // The broad rules are gone: what the account did is now allowed by no rule found.
        assert.match(r.stdout, /# Allowed then, but by no rule found now/);
      });

      await t.step(
        "replayed with its own token the workload runs; listing Secrets is denied",
        async () => {
          await eventually(runWorkload);
          await eventually(async () => {
            const r = await asRobot(`/api/v1/namespaces/${ns}/secrets`);
            assert.notEqual(r.code, 0);
            assert.match(r.stderr, /forbidden|Forbidden/);
          });
          const other = await asRobot(`/api/v1/namespaces/${ns}/secrets/other`);
          assert.notEqual(other.code, 0);
          assert.match(other.stderr, /forbidden|Forbidden/);
        },
      );
    } finally {
      await target.close();
    }
  },
});
