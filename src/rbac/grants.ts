/**
 * Which rules apply to a user, and where, from Roles, ClusterRoles and their bindings, as the
 * API server's rule resolver finds them (k8s.io/kubernetes pkg/registry/rbac/validation/rule.go,
 * DefaultRuleResolver.VisitRulesFor and appliesToUser):
 *
 * - a ClusterRoleBinding grants its ClusterRole's rules everywhere: in every namespace, for
 *   cluster-scoped resources, for requests across all namespaces and for non-resource URLs;
 * - a RoleBinding grants its Role's, or its ClusterRole's, rules only for requests in the
 *   binding's namespace (a Role is looked up in that namespace);
 * - a request with no namespace is decided by ClusterRoleBindings alone.
 *
 * Subjects: a User by name, a Group by membership, a ServiceAccount by namespace and name, its
 * namespace defaulting to the RoleBinding's (a ServiceAccount subject without a namespace in a
 * ClusterRoleBinding matches nobody). Aggregated ClusterRoles are read as the server has filled
 * them in: their `rules` already hold the aggregated rules.
 */
import { type PolicyRule, type RbacRequest, ruleAllows } from "./rule.ts";

/** A binding's subject. */
export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

/** What a binding grants. */
export interface RoleRef {
  apiGroup?: string;
  kind: string;
  name: string;
}

/** The metadata RBAC objects carry here. */
export interface RbacMeta {
  name: string;
  namespace?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A Role or ClusterRole. */
export interface RoleObject {
  apiVersion?: string;
  kind?: string;
  metadata: RbacMeta;
  rules?: PolicyRule[] | null;
}

/** A RoleBinding or ClusterRoleBinding. */
export interface BindingObject {
  apiVersion?: string;
  kind?: string;
  metadata: RbacMeta;
  roleRef: RoleRef;
  subjects?: Subject[] | null;
}

/** The RBAC objects of a cluster (or the part of it that was read). */
export interface RbacObjects {
  roles: RoleObject[];
  clusterRoles: RoleObject[];
  roleBindings: BindingObject[];
  clusterRoleBindings: BindingObject[];
}

/** Who a request runs as: the name and groups authentication gave it. */
export interface UserInfo {
  username: string;
  groups: string[];
}

/**
 * One rule granted to a user, with the binding and role it comes from (unknown when the rule
 * was learnt from a SelfSubjectRulesReview).
 */
export interface Grant {
  rule: PolicyRule;
  binding?: { kind: "ClusterRoleBinding" | "RoleBinding"; name: string; namespace?: string };
  role?: { kind: string; name: string; namespace?: string };
  /** The namespace the rule applies in; absent for a ClusterRoleBinding's: everywhere. */
  namespace?: string;
  /** The binding's subject that matched the user. */
  subject: Subject;
}

/** Rules that could not be resolved (a binding to a missing role), as the resolver reports them. */
export interface GrantsResult {
  grants: Grant[];
  errors: string[];
}

const SA_PREFIX = "system:serviceaccount:";

/**
 * The user a service account's token authenticates as: its name and the groups the token
 * authenticator adds (system:serviceaccounts, system:serviceaccounts:<ns>), and
 * system:authenticated, which every authenticated user gets.
 */
export function serviceAccountUser(namespace: string, name: string): UserInfo {
  return {
    username: `${SA_PREFIX}${namespace}:${name}`,
    groups: [
      "system:serviceaccounts",
      `system:serviceaccounts:${namespace}`,
      "system:authenticated",
    ],
  };
}

/** Whether a binding subject names the user (appliesToUser). */
export function appliesTo(user: UserInfo, subject: Subject, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case "User":
      return user.username === subject.name;
    case "Group":
      return user.groups.includes(subject.name);
    case "ServiceAccount": {
      const namespace = subject.namespace || bindingNamespace;
      return namespace !== "" && user.username === `${SA_PREFIX}${namespace}:${subject.name}`;
    }
    default:
      return false;
  }
}

/** Every rule granted to the user, ClusterRoleBindings first (the resolver's visiting order). */
export function grantsFor(user: UserInfo, objects: RbacObjects): GrantsResult {
  const grants: Grant[] = [];
  const errors: string[] = [];
  const clusterRoles = new Map(objects.clusterRoles.map((r) => [r.metadata.name, r]));
  const roles = new Map(
    objects.roles.map((r) => [`${r.metadata.namespace ?? ""}/${r.metadata.name}`, r]),
  );
  const visit = (
    binding: BindingObject,
    kind: "ClusterRoleBinding" | "RoleBinding",
    namespace: string,
  ) => {
    const subject = (binding.subjects ?? []).find((s) => appliesTo(user, s, namespace));
    if (!subject) return;
    const ref = binding.roleRef;
    let role: RoleObject | undefined;
    if (ref.kind === "ClusterRole") role = clusterRoles.get(ref.name);
    else if (ref.kind === "Role" && namespace) role = roles.get(`${namespace}/${ref.name}`);
    const where = namespace
      ? `"${namespace}/${binding.metadata.name}"`
      : `"${binding.metadata.name}"`;
    if (!role) {
      errors.push(
        ref.kind === "ClusterRole" || (ref.kind === "Role" && namespace)
          ? `${kind} ${where} refers to ${ref.kind} "${ref.name}", which was not found`
          : `${kind} ${where} refers to an unsupported role kind "${ref.kind}"`,
      );
      return;
    }
    for (const rule of role.rules ?? []) {
      grants.push({
        rule,
        binding: { kind, name: binding.metadata.name, ...(namespace ? { namespace } : {}) },
        role: {
          kind: ref.kind,
          name: ref.name,
          ...(ref.kind === "Role" ? { namespace } : {}),
        },
        ...(namespace ? { namespace } : {}),
        subject,
      });
    }
  };
  for (const b of objects.clusterRoleBindings) visit(b, "ClusterRoleBinding", "");
  for (const b of objects.roleBindings) {
    // A RoleBinding without a namespace is not one the server could hold.
    if (b.metadata.namespace) visit(b, "RoleBinding", b.metadata.namespace);
  }
  return { grants, errors };
}

/** Whether the grant applies where the request is made and its rule allows the request. */
export function grantAllows(grant: Grant, request: RbacRequest): boolean {
  if (grant.namespace !== undefined && grant.namespace !== request.namespace) return false;
  return ruleAllows(grant.rule, request);
}

/** The first grant that allows the request, in the resolver's order (the "allowed by" reason). */
export function authorize(grants: readonly Grant[], request: RbacRequest): Grant | undefined {
  return grants.find((g) => grantAllows(g, request));
}

/** How a grant's source reads: `RoleBinding "ns/name" (Role "r")`. */
export function describeGrant(grant: Grant): string {
  const b = grant.binding;
  if (!b) {
    return grant.namespace === undefined
      ? "a ClusterRoleBinding (SelfSubjectRulesReview)"
      : `a RoleBinding in "${grant.namespace}" (SelfSubjectRulesReview)`;
  }
  const where = b.namespace ? `${b.namespace}/${b.name}` : b.name;
  const role = grant.role ? ` (${grant.role.kind} "${grant.role.name}")` : "";
  return `${b.kind} "${where}"${role}`;
}
