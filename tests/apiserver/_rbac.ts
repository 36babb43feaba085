/**
 * RBAC over the Roles and bindings in the store, following plugin/pkg/auth/authorizer/rbac: the
 * same rule matching, subject matching, allow reasons and forbidden messages, plus the default
 * cluster roles and bindings a fresh cluster is bootstrapped with.
 */
import { type ResourceInfo, RESOURCES } from "./_resources.ts";
import type { ObjectStore } from "./_store.ts";
import { isObject, type KubeObject, str, strings, type UserInfo } from "./_types.ts";

/** The attributes of a request that authorization decides on (authorizer.Attributes). */
export interface Attributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  namespace: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  name: string;
  path: string;
}

/** An rbac.authorization.k8s.io/v1 PolicyRule. */
export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** A decision and the reason RBAC gives for it. */
export interface Decision {
  allowed: boolean;
  reason: string;
}

const rbac = (resource: string): ResourceInfo =>
  RESOURCES.find((r) => r.group === "rbac.authorization.k8s.io" && r.resource === resource)!;

function toRules(value: unknown): PolicyRule[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isObject).map((r) => ({
    verbs: strings(r.verbs),
    apiGroups: strings(r.apiGroups),
    resources: strings(r.resources),
    resourceNames: strings(r.resourceNames),
    nonResourceURLs: strings(r.nonResourceURLs),
  }));
}

function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (!rule.verbs.includes("*") && !rule.verbs.includes(a.verb)) return false;
  if (!a.resourceRequest) {
    return (rule.nonResourceURLs ?? []).some((url) =>
      url === "*" || url === a.path || (url.endsWith("*") && a.path.startsWith(url.slice(0, -1)))
    );
  }
  const groups = rule.apiGroups ?? [];
  if (!groups.includes("*") && !groups.includes(a.apiGroup)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resourceOk = (rule.resources ?? []).some((r) =>
    r === "*" || r === combined || (a.subresource !== "" && r === `*/${a.subresource}`)
  );
  if (!resourceOk) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(a.name);
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

function subjects(binding: KubeObject): Subject[] {
  const list = Array.isArray(binding.subjects) ? binding.subjects.filter(isObject) : [];
  return list.map((s) => ({
    kind: str(s.kind) ?? "",
    name: str(s.name) ?? "",
    namespace: str(s.namespace),
  }));
}

function appliesTo(user: UserInfo, s: Subject, bindingNamespace: string): boolean {
  switch (s.kind) {
    case "User":
      return user.username === s.name;
    case "Group":
      return user.groups.includes(s.name);
    case "ServiceAccount": {
      const ns = s.namespace || bindingNamespace;
      return ns !== "" && user.username === `system:serviceaccount:${ns}:${s.name}`;
    }
    default:
      return false;
  }
}

function describeSubject(s: Subject, bindingNamespace: string): string {
  // Upstream prints service accounts as name/namespace (sic).
  return s.kind === "ServiceAccount"
    ? `${s.kind} "${s.name}/${s.namespace || bindingNamespace}"`
    : `${s.kind} "${s.name}"`;
}

/** Authorizes requests and lists rules from the RBAC objects in the store. */
export class RbacAuthorizer {
  readonly #store: ObjectStore;

  constructor(store: ObjectStore) {
    this.#store = store;
  }

  #roleRules(ref: unknown, namespace: string): PolicyRule[] {
    if (!isObject(ref)) return [];
    const kind = str(ref.kind);
    const name = str(ref.name) ?? "";
    const role = kind === "ClusterRole"
      ? this.#store.get(rbac("clusterroles"), undefined, name)
      : kind === "Role"
      ? this.#store.get(rbac("roles"), namespace, name)
      : undefined;
    return toRules(role?.rules);
  }

  /** Visit every rule that applies to the user in the namespace, in upstream order. */
  #visit(
    user: UserInfo,
    namespace: string,
    visitor: (rule: PolicyRule, source: string) => boolean,
  ): void {
    for (const b of this.#store.list(rbac("clusterrolebindings"))) {
      const subject = subjects(b).find((s) => appliesTo(user, s, ""));
      if (!subject) continue;
      const ref = isObject(b.roleRef) ? b.roleRef : {};
      const source = `ClusterRoleBinding "${b.metadata.name}" of ClusterRole "${
        str(ref.name)
      }" to ${describeSubject(subject, "")}`;
      for (const rule of this.#roleRules(ref, "")) if (visitor(rule, source)) return;
    }
    if (!namespace) return;
    for (const b of this.#store.list(rbac("rolebindings"), namespace)) {
      const subject = subjects(b).find((s) => appliesTo(user, s, namespace));
      if (!subject) continue;
      const ref = isObject(b.roleRef) ? b.roleRef : {};
      const source = `RoleBinding "${b.metadata.name}/${namespace}" of ${str(ref.kind)} "${
        str(ref.name)
      }" to ${describeSubject(subject, namespace)}`;
      for (const rule of this.#roleRules(ref, namespace)) if (visitor(rule, source)) return;
    }
  }

  /** Decide a request. system:masters is allowed outright, like kube-apiserver's privileged group. */
  authorize(a: Attributes): Decision {
    if (a.user.groups.includes("system:masters")) return { allowed: true, reason: "" };
    let reason = "";
    this.#visit(a.user, a.namespace, (rule, source) => {
      if (!ruleAllows(rule, a)) return false;
      reason = `RBAC: allowed by ${source}`;
      return true;
    });
    return { allowed: reason !== "", reason };
  }

  /** The rules that apply to the user in a namespace, for SelfSubjectRulesReview. */
  rulesFor(user: UserInfo, namespace: string): PolicyRule[] {
    const rules: PolicyRule[] = [];
    this.#visit(user, namespace, (rule) => {
      rules.push(rule);
      return false;
    });
    return rules;
  }
}

/** The message kube-apiserver puts after "... is forbidden: " (responsewriters.forbiddenMessage). */
export function forbiddenMessage(a: Attributes): string {
  if (!a.resourceRequest) return `User "${a.user.username}" cannot ${a.verb} path "${a.path}"`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
  return `User "${a.user.username}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${scope}`;
}

const BOOTSTRAP_META = {
  labels: { "kubernetes.io/bootstrapping": "rbac-defaults" },
  annotations: { "rbac.authorization.kubernetes.io/autoupdate": "true" },
};

function clusterRole(name: string, rules: PolicyRule[]): KubeObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name, ...structuredClone(BOOTSTRAP_META) },
    rules,
  };
}

function clusterRoleBinding(name: string, groups: string[]): KubeObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name, ...structuredClone(BOOTSTRAP_META) },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
    subjects: groups.map((g) => ({
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Group",
      name: g,
    })),
  };
}

const READ = ["get", "list", "watch"];
const WRITE = ["create", "delete", "deletecollection", "patch", "update"];

/** The default roles and bindings, as a fresh cluster's RBAC bootstrap policy creates them. */
export function defaultRbacObjects(): KubeObject[] {
  const viewRules: PolicyRule[] = [
    {
      apiGroups: [""],
      resources: ["namespaces", "namespaces/status", "pods", "pods/status", "serviceaccounts"],
      verbs: READ,
    },
  ];
  // view/edit/admin are aggregated upstream; here they are flattened to the resources served.
  const editRules: PolicyRule[] = [
    ...viewRules,
    { apiGroups: [""], resources: ["secrets"], verbs: READ },
    { apiGroups: [""], resources: ["pods", "secrets", "serviceaccounts"], verbs: WRITE },
    { apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"] },
    { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["impersonate"] },
  ];
  const adminRules: PolicyRule[] = [
    ...editRules,
    {
      apiGroups: ["rbac.authorization.k8s.io"],
      resources: ["rolebindings", "roles"],
      verbs: [...READ, ...WRITE],
    },
    {
      apiGroups: ["authorization.k8s.io"],
      resources: ["localsubjectaccessreviews"],
      verbs: ["create"],
    },
  ];
  return [
    clusterRole("cluster-admin", [
      { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
      { nonResourceURLs: ["*"], verbs: ["*"] },
    ]),
    clusterRole("admin", adminRules),
    clusterRole("edit", editRules),
    clusterRole("view", viewRules),
    clusterRole("system:auth-delegator", [
      { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
      {
        apiGroups: ["authorization.k8s.io"],
        resources: ["subjectaccessreviews"],
        verbs: ["create"],
      },
    ]),
    clusterRole("system:basic-user", [
      {
        apiGroups: ["authorization.k8s.io"],
        resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        verbs: ["create"],
      },
      {
        apiGroups: ["authentication.k8s.io"],
        resources: ["selfsubjectreviews"],
        verbs: ["create"],
      },
    ]),
    clusterRole("system:discovery", [{
      nonResourceURLs: [
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
        "/healthz",
        "/livez",
        "/openapi",
        "/openapi/*",
        "/readyz",
        "/version",
        "/version/",
      ],
      verbs: ["get"],
    }]),
    clusterRole("system:public-info-viewer", [{
      nonResourceURLs: ["/healthz", "/livez", "/readyz", "/version", "/version/"],
      verbs: ["get"],
    }]),
    clusterRole("system:service-account-issuer-discovery", [{
      nonResourceURLs: [
        "/.well-known/openid-configuration",
        "/.well-known/openid-configuration/",
        "/openid/v1/jwks",
        "/openid/v1/jwks/",
      ],
      verbs: ["get"],
    }]),
    clusterRoleBinding("cluster-admin", ["system:masters"]),
    clusterRoleBinding("system:basic-user", ["system:authenticated"]),
    clusterRoleBinding("system:discovery", ["system:authenticated"]),
    clusterRoleBinding("system:public-info-viewer", [
      "system:authenticated",
      "system:unauthenticated",
    ]),
    clusterRoleBinding("system:service-account-issuer-discovery", ["system:serviceaccounts"]),
  ];
}
