/**
 * Which rules apply where: cases of upstream's TestAuthorizer
 * (plugin/pkg/auth/authorizer/rbac/rbac_test.go) and of appliesToUser
 * (pkg/registry/rbac/validation/rule.go), run through grantsFor() and authorize().
 */
import assert from "node:assert/strict";
import {
  authorize,
  type BindingObject,
  describeGrant,
  grantsFor,
  type RbacObjects,
  type RbacRequest,
  type RoleObject,
  serviceAccountUser,
  type Subject,
  type UserInfo,
} from "../../src/rbac/mod.ts";

const clusterRole = (name: string, ...rules: RoleObject["rules"] & object): RoleObject => ({
  metadata: { name },
  rules,
});
const role = (namespace: string, name: string, ...rules: RoleObject["rules"] & object) => ({
  metadata: { name, namespace },
  rules,
});
// "Kind:name", and "ServiceAccount:name:namespace" (group and user names hold colons).
const subject = (s: string): Subject => {
  const [kind, ...rest] = s.split(":");
  if (kind !== "ServiceAccount") return { kind, name: rest.join(":") };
  const [name, namespace] = rest;
  return { kind, name, ...(namespace !== undefined ? { namespace } : {}) };
};
const crb = (name: string, roleName: string, ...subjects: string[]): BindingObject => ({
  metadata: { name },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: roleName },
  subjects: subjects.map(subject),
});
const rb = (
  namespace: string,
  name: string,
  ref: { kind: "Role" | "ClusterRole"; name: string },
  ...subjects: string[]
): BindingObject => ({
  metadata: { name, namespace },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", ...ref },
  subjects: subjects.map(subject),
});
const objects = (o: Partial<RbacObjects>): RbacObjects => ({
  roles: [],
  clusterRoles: [],
  roleBindings: [],
  clusterRoleBindings: [],
  ...o,
});
const user = (username: string, ...groups: string[]): UserInfo => ({ username, groups });
const pods = (verb: string, namespace?: string): RbacRequest => ({
  verb,
  apiGroup: "",
  resource: "pods",
  ...(namespace ? { namespace } : {}),
});

Deno.test("authorize() scopes grants like the API server", async (t) => {
  const all = { verbs: ["*"], apiGroups: ["*"], resources: ["*"], nonResourceURLs: ["*"] };
  await t.step("TestAuthorizer: a ClusterRole bound by a RoleBinding grants only there", () => {
    const o = objects({
      clusterRoles: [clusterRole("admin", all)],
      roleBindings: [
        rb("ns1", "b", { kind: "ClusterRole", name: "admin" }, "User:admin", "Group:admins"),
      ],
    });
    const allowed = (u: UserInfo, r: RbacRequest) =>
      authorize(grantsFor(u, o).grants, r) !== undefined;
    assert.equal(allowed(user("admin"), pods("get", "ns1")), true);
    assert.equal(allowed(user("admin"), pods("watch", "ns1")), true);
    assert.equal(allowed(user("joe", "admins"), pods("watch", "ns1")), true);
    assert.equal(allowed(user("joe", "group1", "admins"), pods("watch", "ns1")), true);
    assert.equal(allowed(user("admin"), pods("get", "ns2")), false);
    // Nodes: cluster-scoped, so no RoleBinding can grant them.
    assert.equal(
      allowed(user("admin", "admins"), { verb: "get", apiGroup: "", resource: "nodes" }),
      false,
    );
  });
  await t.step("TestAuthorizer: non-resource URLs through ClusterRoleBindings", () => {
    const o = objects({
      clusterRoles: [
        clusterRole("getter", { verbs: ["get"], nonResourceURLs: ["/apis"] }),
        clusterRole("prefix", { verbs: ["get"], nonResourceURLs: ["/apis/*"] }),
      ],
      clusterRoleBindings: [
        crb("g", "getter", "User:foo", "Group:bar"),
        crb("p", "prefix", "User:prefixed"),
      ],
    });
    const allowed = (u: UserInfo, verb: string, path: string) =>
      authorize(grantsFor(u, o).grants, { verb, nonResourceURL: path }) !== undefined;
    assert.equal(allowed(user("foo"), "get", "/apis"), true);
    assert.equal(allowed(user("", "bar"), "get", "/apis"), true);
    assert.equal(allowed(user("foo"), "watch", "/apis"), false);
    assert.equal(allowed(user("foo"), "get", "/api/v1"), false);
    assert.equal(allowed(user("prefixed"), "get", "/apis/v1/foobar"), true);
    assert.equal(allowed(user("prefixed"), "get", "/api/v1"), false);
  });
  await t.step("a Role grants only in its own namespace; a ClusterRoleBinding everywhere", () => {
    const sa = serviceAccountUser("app", "robot");
    const o = objects({
      roles: [role("app", "reader", { verbs: ["list"], apiGroups: [""], resources: ["pods"] })],
      clusterRoles: [
        clusterRole("node-reader", { verbs: ["get"], apiGroups: [""], resources: ["nodes"] }),
      ],
      roleBindings: [rb("app", "r", { kind: "Role", name: "reader" }, "ServiceAccount:robot")],
      clusterRoleBindings: [crb("n", "node-reader", "ServiceAccount:robot:app")],
    });
    const { grants } = grantsFor(sa, o);
    assert.ok(authorize(grants, pods("list", "app")));
    assert.equal(authorize(grants, pods("list", "other")), undefined);
    // Across all namespaces: only a ClusterRoleBinding could allow it.
    assert.equal(authorize(grants, pods("list")), undefined);
    const nodes = authorize(grants, { verb: "get", apiGroup: "", resource: "nodes", name: "n1" });
    assert.equal(
      nodes && describeGrant(nodes),
      'ClusterRoleBinding "n" (ClusterRole "node-reader")',
    );
    const inApp = authorize(grants, pods("list", "app"));
    assert.equal(inApp && describeGrant(inApp), 'RoleBinding "app/r" (Role "reader")');
  });
  await t.step("a RoleBinding looks its Role up in its own namespace", () => {
    const sa = serviceAccountUser("app", "robot");
    const o = objects({
      roles: [role("other", "reader", { verbs: ["list"], apiGroups: [""], resources: ["pods"] })],
      roleBindings: [rb("app", "r", { kind: "Role", name: "reader" }, "ServiceAccount:robot")],
    });
    const result = grantsFor(sa, o);
    assert.deepEqual(result.grants, []);
    assert.deepEqual(result.errors, [
      'RoleBinding "app/r" refers to Role "reader", which was not found',
    ]);
  });
});

Deno.test("grantsFor() matches subjects like appliesToUser", async (t) => {
  const sa = serviceAccountUser("app", "robot");
  const rules = [{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }];
  const cases: { name: string; binding: BindingObject; applies: boolean }[] = [
    {
      name: "ServiceAccount with namespace",
      binding: crb("b", "r", "ServiceAccount:robot:app"),
      applies: true,
    },
    {
      name: "ServiceAccount in another namespace",
      binding: crb("b", "r", "ServiceAccount:robot:web"),
      applies: false,
    },
    {
      name: "ServiceAccount without namespace in a ClusterRoleBinding matches nobody",
      binding: crb("b", "r", "ServiceAccount:robot"),
      applies: false,
    },
    {
      name: "ServiceAccount without namespace in a RoleBinding: the binding's namespace",
      binding: rb("app", "b", { kind: "ClusterRole", name: "r" }, "ServiceAccount:robot"),
      applies: true,
    },
    {
      name: "... not another namespace's",
      binding: rb("web", "b", { kind: "ClusterRole", name: "r" }, "ServiceAccount:robot"),
      applies: false,
    },
    {
      name: "User by its full name",
      binding: crb("b", "r", "User:system:serviceaccount:app:robot"),
      applies: true,
    },
    {
      name: "Group system:serviceaccounts",
      binding: crb("b", "r", "Group:system:serviceaccounts"),
      applies: true,
    },
    {
      name: "Group system:serviceaccounts:<ns>",
      binding: crb("b", "r", "Group:system:serviceaccounts:app"),
      applies: true,
    },
    {
      name: "another namespace's group",
      binding: crb("b", "r", "Group:system:serviceaccounts:web"),
      applies: false,
    },
    {
      name: "Group system:authenticated",
      binding: crb("b", "r", "Group:system:authenticated"),
      applies: true,
    },
    { name: "an unknown kind", binding: crb("b", "r", "Robot:robot"), applies: false },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const binding = c.binding;
      const o = objects({
        clusterRoles: [clusterRole("r", ...rules)],
        ...(binding.metadata.namespace
          ? { roleBindings: [binding] }
          : { clusterRoleBindings: [binding] }),
      });
      assert.equal(grantsFor(sa, o).grants.length > 0, c.applies);
    });
  }
});
