import assert from "node:assert/strict";
import {
  authorizedRequest,
  checkProposal,
  grantUses,
  observedFromSnapshot,
  proposeObjects,
  rulesFor,
  ungrantedUses,
} from "../../src/usage/least_privilege.ts";
import type { CredentialUsage, RequestUsage } from "../../src/usage/model.ts";
import { requestKey } from "../../src/usage/request.ts";
import type { ObservedRequest } from "../../src/usage/request.ts";
import type { PolicyRule } from "../../src/rbac/mod.ts";
import { grantsFor, serviceAccountUser } from "../../src/rbac/mod.ts";

const core = (verb: string, resource: string, more: Partial<ObservedRequest> = {}) =>
  ({ verb, apiGroup: "", resource, ...more }) as ObservedRequest;
const use = (request: ObservedRequest, count = 1, denied = 0): RequestUsage => ({
  request,
  count,
  denied,
  first: "2026-12-01T10:00:00Z",
  last: "2026-12-01T10:00:00Z",
});
const SA = { namespace: "app", name: "robot" };

Deno.test("rulesFor() proposes the fewest rules that allow exactly the requests", async (t) => {
  const cases: { name: string; requests: ObservedRequest[]; rules: PolicyRule[] }[] = [
    {
      name: "verbs of one resource merge",
      requests: [core("watch", "pods"), core("list", "pods"), core("get", "pods")],
      rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }],
    },
    {
      name: "resources with the same verbs merge, per API group",
      requests: [
        core("list", "pods"),
        core("list", "services"),
        { verb: "list", apiGroup: "apps", resource: "deployments" },
      ],
      rules: [
        { apiGroups: [""], resources: ["pods", "services"], verbs: ["list"] },
        { apiGroups: ["apps"], resources: ["deployments"], verbs: ["list"] },
      ],
    },
    {
      name: "a get of named objects only: resourceNames",
      requests: [core("get", "secrets", { name: "b" }), core("get", "secrets", { name: "a" })],
      rules: [{
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: ["a", "b"],
        verbs: ["get"],
      }],
    },
    {
      name: "names per verb: a name for one verb is not granted for another",
      requests: [
        core("get", "configmaps", { name: "a" }),
        core("update", "configmaps", { name: "b" }),
      ],
      rules: [
        { apiGroups: [""], resources: ["configmaps"], resourceNames: ["a"], verbs: ["get"] },
        { apiGroups: [""], resources: ["configmaps"], resourceNames: ["b"], verbs: ["update"] },
      ],
    },
    {
      name: "verbs with the same names share a rule",
      requests: [
        core("get", "configmaps", { name: "a" }),
        core("patch", "configmaps", { name: "a" }),
      ],
      rules: [{
        apiGroups: [""],
        resources: ["configmaps"],
        resourceNames: ["a"],
        verbs: ["get", "patch"],
      }],
    },
    {
      name: "list, watch, create and deletecollection are never restricted by name",
      requests: [
        core("list", "pods", { name: "web" }), // a metadata.name field selector
        core("watch", "pods", { name: "web" }),
        core("create", "pods", { name: "web" }), // the name the event took from the object
        core("deletecollection", "pods"),
      ],
      rules: [{
        apiGroups: [""],
        resources: ["pods"],
        verbs: ["list", "watch", "create", "deletecollection"],
      }],
    },
    {
      name: "a create of a subresource names its parent: restricted (tokens for itself)",
      requests: [core("create", "serviceaccounts", { subresource: "token", name: "robot" })],
      rules: [{
        apiGroups: [""],
        resources: ["serviceaccounts/token"],
        resourceNames: ["robot"],
        verbs: ["create"],
      }],
    },
    {
      name: "one request without a name lifts the names of that verb",
      requests: [core("get", "secrets", { name: "a" }), core("get", "secrets")],
      rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }],
    },
    {
      name: "subresources are resources of their own",
      requests: [core("get", "pods", { subresource: "log", name: "web" }), core("get", "pods")],
      rules: [
        { apiGroups: [""], resources: ["pods"], verbs: ["get"] },
        { apiGroups: [""], resources: ["pods/log"], resourceNames: ["web"], verbs: ["get"] },
      ],
    },
    {
      name: "non-resource URLs grouped by verbs",
      requests: [
        { verb: "get", nonResourceURL: "/version" },
        { verb: "get", nonResourceURL: "/healthz" },
        { verb: "post", nonResourceURL: "/hook" },
      ],
      rules: [
        { nonResourceURLs: ["/healthz", "/version"], verbs: ["get"] },
        { nonResourceURLs: ["/hook"], verbs: ["post"] },
      ],
    },
    {
      name: "other verbs after the usual ones",
      requests: [
        core("impersonate", "serviceaccounts", { name: "other" }),
        core("get", "serviceaccounts", { name: "other" }),
      ],
      rules: [{
        apiGroups: [""],
        resources: ["serviceaccounts"],
        resourceNames: ["other"],
        verbs: ["get", "impersonate"],
      }],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => assert.deepEqual(rulesFor(c.requests), c.rules));
  }
});

Deno.test("proposeObjects() scopes by where the requests were made", async (t) => {
  const requests: ObservedRequest[] = [
    core("get", "secrets", { namespace: "app", name: "app-config" }),
    core("list", "pods", { namespace: "app" }),
    core("list", "pods", { namespace: "web" }),
    core("list", "pods"), // across all namespaces
    core("get", "nodes", { name: "n1" }), // cluster-scoped
    { verb: "get", nonResourceURL: "/version" },
  ];
  const objects = proposeObjects(SA, requests);
  await t.step(
    "a ClusterRole for what only a ClusterRoleBinding grants, a Role per namespace",
    () => {
      assert.deepEqual(
        objects.map((o) => [o.kind, o.metadata.namespace ?? "", o.metadata.name]),
        [
          ["ClusterRole", "", "kubectl-token-app-robot-least-privilege"],
          ["ClusterRoleBinding", "", "kubectl-token-app-robot-least-privilege"],
          ["Role", "app", "kubectl-token-robot-least-privilege"],
          ["RoleBinding", "app", "kubectl-token-robot-least-privilege"],
          ["Role", "web", "kubectl-token-app-robot-least-privilege"],
          ["RoleBinding", "web", "kubectl-token-app-robot-least-privilege"],
        ],
      );
      const clusterRole = objects[0] as { rules: PolicyRule[] };
      assert.deepEqual(clusterRole.rules, [
        { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
        { apiGroups: [""], resources: ["nodes"], resourceNames: ["n1"], verbs: ["get"] },
        { nonResourceURLs: ["/version"], verbs: ["get"] },
      ]);
      const binding = objects[3] as { roleRef: unknown; subjects: unknown };
      assert.deepEqual(binding.roleRef, {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: "kubectl-token-robot-least-privilege",
      });
      assert.deepEqual(binding.subjects, [{
        kind: "ServiceAccount",
        name: "robot",
        namespace: "app",
      }]);
    },
  );
  await t.step("the check allows every request, and the proposal nothing more", () => {
    const check = checkProposal(SA, objects, requests.map((r) => use(r, 2)));
    assert.deepEqual(check, { requests: 12, distinct: 6, notAllowed: [] });
    const outside = [
      core("list", "secrets", { namespace: "app" }),
      core("get", "secrets", { namespace: "app", name: "other" }),
      core("get", "secrets", { namespace: "web", name: "app-config" }),
      core("get", "nodes", { name: "n2" }),
      { verb: "get", nonResourceURL: "/metrics" },
    ];
    const denied = checkProposal(SA, objects, outside.map((r) => use(r)));
    assert.deepEqual(denied.notAllowed, outside);
  });
  await t.step("another service account gets nothing from it", () => {
    const other = { namespace: "app", name: "other" };
    assert.equal(checkProposal(other, objects, requests.map((r) => use(r))).notAllowed.length, 6);
  });
  await t.step("denied requests are left out", () => {
    const only = proposeObjects(SA, []);
    assert.deepEqual(only, []);
    const check = checkProposal(SA, objects, [
      use(core("list", "secrets", { namespace: "app" }), 3, 3),
    ]);
    assert.deepEqual(check, { requests: 0, distinct: 0, notAllowed: [] });
  });
});

Deno.test("authorizedRequest() drops the name the authorizer never saw", () => {
  assert.deepEqual(authorizedRequest(core("create", "pods", { name: "x", namespace: "a" })), {
    verb: "create",
    apiGroup: "",
    resource: "pods",
    namespace: "a",
  });
  const token = core("create", "serviceaccounts", { subresource: "token", name: "robot" });
  assert.deepEqual(authorizedRequest(token), token);
  const get = core("get", "pods", { name: "x" });
  assert.deepEqual(authorizedRequest(get), get);
});

Deno.test("grantUses() tells used, partly used and unused grants", () => {
  const user = serviceAccountUser("app", "robot");
  const { grants } = grantsFor(user, {
    roles: [{
      metadata: { name: "broad", namespace: "app" },
      rules: [
        {
          apiGroups: [""],
          resources: ["pods", "configmaps", "secrets"],
          verbs: ["get", "list", "watch", "create"],
        },
      ],
    }],
    clusterRoles: [
      {
        metadata: { name: "discovery" },
        rules: [{ nonResourceURLs: ["/version", "/api"], verbs: ["get"] }],
      },
      {
        metadata: { name: "nodes" },
        rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get"] }],
      },
    ],
    roleBindings: [{
      metadata: { name: "broad", namespace: "app" },
      roleRef: { kind: "Role", name: "broad" },
      subjects: [{ kind: "ServiceAccount", name: "robot" }],
    }],
    clusterRoleBindings: [
      {
        metadata: { name: "discovery" },
        roleRef: { kind: "ClusterRole", name: "discovery" },
        subjects: [{ kind: "Group", name: "system:authenticated" }],
      },
      {
        metadata: { name: "nodes" },
        roleRef: { kind: "ClusterRole", name: "nodes" },
        subjects: [{ kind: "ServiceAccount", name: "robot", namespace: "app" }],
      },
    ],
  });
  const uses = [
    use(core("get", "secrets", { namespace: "app", name: "s" }), 2),
    use(core("list", "pods", { namespace: "app" }), 3),
    use(core("list", "secrets", { namespace: "app" }), 1, 1), // denied: not a use
    use({ verb: "get", nonResourceURL: "/version" }),
    use({ verb: "get", nonResourceURL: "/api" }),
    use(core("delete", "pods", { namespace: "app", name: "x" })), // allowed by nothing today
  ];
  const rows = grantUses(grants, uses);
  assert.deepEqual(rows.map((r) => [r.grant.role?.name, r.status, r.requests, r.unused]), [
    ["discovery", "used", 2, { verbs: [], resources: [], nonResourceURLs: [] }],
    ["nodes", "granted, unused", 0, { verbs: ["get"], resources: ["nodes"], nonResourceURLs: [] }],
    [
      "broad",
      "partly used",
      5,
      { verbs: ["watch", "create"], resources: ["configmaps"], nonResourceURLs: [] },
    ],
  ]);
  assert.deepEqual(ungrantedUses(grants, uses).map((u) => u.request.verb), ["delete"]);
});

Deno.test("observedFromSnapshot() merges the account's credentials by request shape", () => {
  const list = core("list", "pods", { namespace: "app" });
  const credential = (key: string, sa: string, uses: RequestUsage[]): CredentialUsage => ({
    key,
    kind: "token",
    username: `system:serviceaccount:${sa.replace("/", ":")}`,
    serviceAccount: { namespace: sa.split("/")[0], name: sa.split("/")[1] },
    firstSeen: uses[0].first,
    lastSeen: uses[0].last,
    requests: uses.reduce((n, u) => n + u.count, 0),
    denied: uses.reduce((n, u) => n + u.denied, 0),
    sourceIPs: {},
    userAgents: {},
    requestsMade: Object.fromEntries(uses.map((u) => [requestKey(u.request), u])),
  });
  const observed = observedFromSnapshot(
    {
      events: 40,
      credentials: [
        credential("token:a", "app/robot", [use(list, 2)]),
        credential("token:b", "app/robot", [{
          ...use(list, 3, 1),
          first: "2026-12-01T09:00:00Z",
          last: "2026-12-01T11:00:00Z",
        }]),
        credential("token:c", "web/robot", [use(core("get", "nodes"))]),
      ],
      issued: [],
      podDeletions: [],
      notes: ["no credential-id extra"],
    },
    SA,
    'usage database "usage.db"',
  );
  assert.deepEqual(observed, {
    source: 'usage database "usage.db"',
    events: 40,
    requests: 5,
    first: "2026-12-01T09:00:00Z",
    last: "2026-12-01T11:00:00Z",
    uses: [{
      request: list,
      count: 5,
      denied: 1,
      first: "2026-12-01T09:00:00Z",
      last: "2026-12-01T11:00:00Z",
    }],
    notes: ["no credential-id extra"],
  });
});
