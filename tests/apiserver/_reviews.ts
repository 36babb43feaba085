/** The review APIs: TokenReview, SelfSubjectReview, SelfSubjectAccessReview, SelfSubjectRulesReview. */
import type { Authenticator } from "./_auth.ts";
import type { Attributes, PolicyRule, RbacAuthorizer } from "./_rbac.ts";
import { rfc3339 } from "./_store.ts";
import { badRequest, invalid } from "./_status.ts";
import { isObject, type JsonObject, str, strings, type UserInfo } from "./_types.ts";

function userInfoJson(user: UserInfo): JsonObject {
  const out: JsonObject = { username: user.username };
  if (user.uid) out.uid = user.uid;
  if (user.groups.length) out.groups = user.groups;
  if (user.extra && Object.keys(user.extra).length) out.extra = user.extra;
  return out;
}

/** POST tokenreviews: authenticate spec.token for spec.audiences. */
export function tokenReview(authn: Authenticator, body: JsonObject): JsonObject {
  const spec = isObject(body.spec) ? body.spec : {};
  const token = str(spec.token);
  if (!token) throw badRequest("token is required for TokenReview in authentication");
  const audiences = strings(spec.audiences);
  const result = authn.authenticateToken(token, audiences);
  const status: JsonObject = "user" in result
    ? {
      authenticated: true,
      user: userInfoJson(result.user),
      // Always set: the API audiences when the review asked for none.
      ...(result.audiences.length ? { audiences: result.audiences } : {}),
    }
    : { user: {}, error: result.error };
  return {
    kind: "TokenReview",
    apiVersion: "authentication.k8s.io/v1",
    metadata: { creationTimestamp: null },
    spec: { token, ...(audiences.length ? { audiences } : {}) },
    status,
  };
}

/** POST selfsubjectreviews in any served version: who the caller is. */
export function selfSubjectReview(user: UserInfo, version: string, now: Date): JsonObject {
  return {
    kind: "SelfSubjectReview",
    apiVersion: `authentication.k8s.io/${version}`,
    metadata: { creationTimestamp: rfc3339(now) },
    status: { userInfo: userInfoJson(user) },
  };
}

/** POST selfsubjectaccessreviews: may the caller do this? */
export function selfSubjectAccessReview(
  rbac: RbacAuthorizer,
  user: UserInfo,
  body: JsonObject,
): JsonObject {
  const spec = isObject(body.spec) ? body.spec : {};
  const ra = isObject(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
  const nra = isObject(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;
  if (Boolean(ra) === Boolean(nra)) {
    throw invalid("authorization.k8s.io", "SelfSubjectAccessReview", "", [{
      type: "FieldValueRequired",
      field: "spec.resourceAttributes",
      detail: "exactly one of nonResourceAttributes or resourceAttributes must be specified",
    }]);
  }
  const attrs: Attributes = ra
    ? {
      user,
      verb: str(ra.verb) ?? "",
      resourceRequest: true,
      namespace: str(ra.namespace) ?? "",
      apiGroup: str(ra.group) ?? "",
      apiVersion: str(ra.version) ?? "",
      resource: str(ra.resource) ?? "",
      subresource: str(ra.subresource) ?? "",
      name: str(ra.name) ?? "",
      path: "",
    }
    : {
      user,
      verb: str(nra!.verb) ?? "",
      resourceRequest: false,
      namespace: "",
      apiGroup: "",
      apiVersion: "",
      resource: "",
      subresource: "",
      name: "",
      path: str(nra!.path) ?? "",
    };
  const decision = rbac.authorize(attrs);
  return {
    kind: "SelfSubjectAccessReview",
    apiVersion: "authorization.k8s.io/v1",
    metadata: { creationTimestamp: null },
    spec,
    status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) },
  };
}

/** POST selfsubjectrulesreviews: everything the caller may do in a namespace. */
export function selfSubjectRulesReview(
  rbac: RbacAuthorizer,
  user: UserInfo,
  body: JsonObject,
): JsonObject {
  const spec = isObject(body.spec) ? body.spec : {};
  const namespace = str(spec.namespace);
  if (!namespace) throw badRequest("no namespace on request");
  const resourceRules: JsonObject[] = [];
  const nonResourceRules: JsonObject[] = [];
  const put = (target: JsonObject, key: string, values: string[] | undefined) => {
    if (values?.length) target[key] = values;
  };
  for (const rule of rbac.rulesFor(user, namespace) as PolicyRule[]) {
    if (rule.resources?.length) {
      const r: JsonObject = { verbs: rule.verbs };
      put(r, "apiGroups", rule.apiGroups);
      put(r, "resources", rule.resources);
      put(r, "resourceNames", rule.resourceNames);
      resourceRules.push(r);
    }
    if (rule.nonResourceURLs?.length) {
      const r: JsonObject = { verbs: rule.verbs };
      put(r, "nonResourceURLs", rule.nonResourceURLs);
      nonResourceRules.push(r);
    }
  }
  return {
    kind: "SelfSubjectRulesReview",
    apiVersion: "authorization.k8s.io/v1",
    metadata: { creationTimestamp: null },
    spec: { namespace },
    status: { resourceRules, nonResourceRules, incomplete: false },
  };
}
