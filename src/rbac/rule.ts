/**
 * Whether one RBAC PolicyRule allows one request, with the API server's own semantics:
 * k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac/rbac.go (RuleAllows) and
 * pkg/apis/rbac/v1/evaluation_helpers.go (VerbMatches, APIGroupMatches, ResourceMatches,
 * ResourceNameMatches, NonResourceURLMatches). Matching is case-sensitive, as upstream's.
 */

/** An rbac.authorization.k8s.io/v1 PolicyRule. */
export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/**
 * The attributes of a request RBAC decides on (authorizer.Attributes): a resource request, or a
 * non-resource one when `nonResourceURL` is set. `namespace` is absent for cluster-scoped
 * resources and for requests across all namespaces.
 */
export interface RbacRequest {
  verb: string;
  apiGroup?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  nonResourceURL?: string;
}

/** `*` in verbs, apiGroups, resources and nonResourceURLs. */
export const ALL = "*";

/** Whether the rule names the verb, or `*`. */
export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return rule.verbs.some((v) => v === ALL || v === verb);
}

/** Whether the rule names the API group ("" is the core group), or `*`. */
export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return (rule.apiGroups ?? []).some((g) => g === ALL || g === group);
}

/**
 * Whether the rule names the resource: `*` matches everything (subresources too), else
 * `resource/subresource` exactly, or `* /subresource` (without the space) for that subresource of
 * any resource. A bare `pods` does not match `pods/status`.
 */
export function resourceMatches(
  rule: PolicyRule,
  combinedResource: string,
  subresource: string,
): boolean {
  return (rule.resources ?? []).some((r) =>
    r === ALL || r === combinedResource ||
    (subresource !== "" && r.length === subresource.length + 2 && r.startsWith("*/") &&
      r.endsWith(subresource))
  );
}

/** Whether the rule lists no names (any name, and no name at all), or lists this one. */
export function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(name);
}

/** Whether the rule names the path exactly, `*`, or a prefix of it ending in `*`. */
export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some((u) =>
    u === ALL || u === path ||
    // strings.TrimRight(ruleURL, "*"): every trailing star goes.
    (u.endsWith("*") && path.startsWith(u.replace(/\*+$/, "")))
  );
}

/** Whether the rule allows the request (RuleAllows); the namespace is the binding's concern. */
export function ruleAllows(rule: PolicyRule, request: RbacRequest): boolean {
  if (request.nonResourceURL === undefined) {
    const sub = request.subresource ?? "";
    const combined = sub ? `${request.resource ?? ""}/${sub}` : request.resource ?? "";
    return verbMatches(rule, request.verb) && apiGroupMatches(rule, request.apiGroup ?? "") &&
      resourceMatches(rule, combined, sub) && resourceNameMatches(rule, request.name ?? "");
  }
  return verbMatches(rule, request.verb) && nonResourceURLMatches(rule, request.nonResourceURL);
}

/** Whether any of the rules allows the request (RulesAllow). */
export function rulesAllow(rules: readonly PolicyRule[], request: RbacRequest): boolean {
  return rules.some((rule) => ruleAllows(rule, request));
}
