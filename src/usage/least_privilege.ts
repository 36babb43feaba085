/**
 * Least privilege from what a service account did: the minimal Role/ClusterRole and bindings
 * that allow every request it was seen to make and nothing else, how its current grants compare
 * (used, partly used, granted but unused), and a check of the proposal with the RBAC matcher.
 *
 * Pure: the requests come from one source (audit events, or the usage database), as
 * {@link ObservedRequests}; reading the cluster's grants and applying the proposal are the
 * command's business.
 */
import {
  authorize,
  type BindingObject,
  type Grant,
  grantAllows,
  grantsFor,
  nonResourceURLMatches,
  type PolicyRule,
  resourceMatches,
  type RoleObject,
  serviceAccountUser,
  verbMatches,
} from "../rbac/mod.ts";
import { mergeSeen, type RequestUsage, type UsageSnapshot } from "./model.ts";
import { type ObservedRequest, requestKey } from "./request.ts";

/** A service account by namespace and name. */
export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

/** What a service account was seen doing, from one source. */
export interface ObservedRequests {
  /** Where the requests come from, for the report: `audit events "audit.log"`. */
  source: string;
  /** Events read from the source (all users). */
  events: number;
  /** Requests of the service account counted (each request once, whatever its stages). */
  requests: number;
  first?: string;
  last?: string;
  /** By request shape (`requestKey`); `denied` of `count` were refused by authorization. */
  uses: RequestUsage[];
  /** What the source could not tell or skipped (malformed lines, ...). */
  notes: string[];
}

/**
 * What a service account did, from a usage snapshot (the usage database of `usage serve`): the
 * requests of every credential of the account (its tokens, Pods, legacy Secrets), merged by
 * request shape. `source` describes where the snapshot came from.
 */
export function observedFromSnapshot(
  snapshot: UsageSnapshot,
  sa: ServiceAccountRef,
  source: string,
): ObservedRequests {
  const uses = new Map<string, RequestUsage>();
  let requests = 0;
  let first: string | undefined;
  let last: string | undefined;
  for (const c of snapshot.credentials) {
    if (c.serviceAccount?.namespace !== sa.namespace || c.serviceAccount.name !== sa.name) continue;
    requests += c.requests;
    if (!first || Date.parse(c.firstSeen) < Date.parse(first)) first = c.firstSeen;
    if (!last || Date.parse(c.lastSeen) > Date.parse(last)) last = c.lastSeen;
    for (const use of Object.values(c.requestsMade)) {
      const key = requestKey(use.request);
      const had = uses.get(key);
      uses.set(
        key,
        had
          ? { ...mergeSeen(had, use), request: had.request, denied: had.denied + use.denied }
          : use,
      );
    }
  }
  return {
    source,
    events: snapshot.events,
    requests,
    ...(first ? { first, last } : {}),
    uses: [...uses.values()],
    notes: [...snapshot.notes],
  };
}

const API_VERSION = "rbac.authorization.k8s.io/v1";
const API_GROUP = "rbac.authorization.k8s.io";
/** The label every proposed object carries. */
export const MANAGED_BY = { "app.kubernetes.io/managed-by": "kubectl-token" };
/** The annotation naming the service account a proposal is for. */
export const FOR_ANNOTATION = "kubectl-token.io/least-privilege-for";

// The usual order of verbs in roles (kubectl create role, the bootstrap roles), others after.
const VERB_ORDER = [
  "get",
  "list",
  "watch",
  "create",
  "update",
  "patch",
  "delete",
  "deletecollection",
];

/**
 * Verbs a proposal never restricts by name. The authorizer sees no name for a create of a
 * top-level resource (the name is in the body; the audit event has it from the object) nor for
 * a deletecollection, so resourceNames could never allow them; a list or watch names one object
 * only with a `metadata.name` field selector, and clients that list without one would break.
 * Kubernetes' RBAC documentation says the same ("Referring to resources"). A create of a
 * subresource (`serviceaccounts/token` for itself) names its parent in the URL: that one is
 * restricted by name.
 */
const NEVER_BY_NAME = new Set(["create", "list", "watch", "deletecollection"]);

function restrictableByName(r: ObservedRequest): boolean {
  if (r.name === undefined || r.name === "") return false;
  return r.verb === "create" ? Boolean(r.subresource) : !NEVER_BY_NAME.has(r.verb);
}

/**
 * The request as the authorizer saw it: a create of a top-level resource and a deletecollection
 * carry no name (the audit event names the created object, which RBAC never saw); a create of a
 * subresource (`serviceaccounts/token`, `pods/eviction`) names its parent object, as the URL does.
 */
export function authorizedRequest(request: ObservedRequest): ObservedRequest {
  const unnamed = request.verb === "deletecollection" ||
    (request.verb === "create" && !request.subresource);
  if (!unnamed || request.name === undefined) return request;
  const { name: _, ...rest } = request;
  return rest;
}

/** How many of a use's requests were allowed. */
export function allowedCount(use: RequestUsage): number {
  return Math.max(0, use.count - use.denied);
}

function sortVerbs(verbs: Iterable<string>): string[] {
  const rank = (v: string) => {
    const i = VERB_ORDER.indexOf(v);
    return i === -1 ? VERB_ORDER.length : i;
  };
  return [...new Set(verbs)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function sorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/**
 * The fewest rules that allow exactly these requests (their namespaces aside): per resource and
 * verb the names used, when every request named its object and the verb can be restricted by
 * name, else any name; verbs with the same names merged into one rule, then resources of one API
 * group with the same verbs and names; non-resource URLs grouped by their verbs.
 */
export function rulesFor(requests: readonly ObservedRequest[]): PolicyRule[] {
  // group -> resource -> verb -> names (undefined: some request named no object)
  const byResource = new Map<string, Map<string, Map<string, Set<string> | undefined>>>();
  const urls = new Map<string, Set<string>>();
  for (const raw of requests) {
    const r = authorizedRequest(raw);
    if (r.nonResourceURL !== undefined) {
      const verbs = urls.get(r.nonResourceURL) ?? new Set();
      verbs.add(r.verb);
      urls.set(r.nonResourceURL, verbs);
      continue;
    }
    const group = r.apiGroup ?? "";
    const resource = r.subresource ? `${r.resource}/${r.subresource}` : r.resource ?? "";
    const resources = byResource.get(group) ?? new Map();
    byResource.set(group, resources);
    const verbs = resources.get(resource) ?? new Map<string, Set<string> | undefined>();
    resources.set(resource, verbs);
    const named = restrictableByName(r);
    if (!verbs.has(r.verb)) verbs.set(r.verb, named ? new Set([r.name!]) : undefined);
    else if (!named) verbs.set(r.verb, undefined);
    else verbs.get(r.verb)?.add(r.name!);
  }
  const rules: PolicyRule[] = [];
  for (const group of sorted(byResource.keys())) {
    // (verbs, names) -> resources
    const merged = new Map<string, { verbs: string[]; names: string[]; resources: string[] }>();
    const resources = byResource.get(group)!;
    for (const resource of sorted(resources.keys())) {
      // names -> verbs
      const byNames = new Map<string, { names: string[]; verbs: string[] }>();
      for (const [verb, names] of resources.get(resource)!) {
        const list = names ? sorted(names) : [];
        const key = JSON.stringify(list);
        const entry = byNames.get(key) ?? { names: list, verbs: [] };
        entry.verbs.push(verb);
        byNames.set(key, entry);
      }
      for (const { names, verbs } of byNames.values()) {
        const v = sortVerbs(verbs);
        const key = JSON.stringify([v, names]);
        const entry = merged.get(key) ?? { verbs: v, names, resources: [] };
        entry.resources.push(resource);
        merged.set(key, entry);
      }
    }
    const groupRules = [...merged.values()].map((e) => ({
      apiGroups: [group],
      resources: e.resources,
      ...(e.names.length ? { resourceNames: e.names } : {}),
      verbs: e.verbs,
    }));
    // Unrestricted rules first, then by resource.
    groupRules.sort((a, b) =>
      (a.resourceNames ? 1 : 0) - (b.resourceNames ? 1 : 0) ||
      a.resources[0].localeCompare(b.resources[0])
    );
    rules.push(...groupRules);
  }
  const byVerbs = new Map<string, { verbs: string[]; urls: string[] }>();
  for (const url of sorted(urls.keys())) {
    const verbs = sortVerbs(urls.get(url)!);
    const key = JSON.stringify(verbs);
    const entry = byVerbs.get(key) ?? { verbs, urls: [] };
    entry.urls.push(url);
    byVerbs.set(key, entry);
  }
  for (const e of byVerbs.values()) rules.push({ nonResourceURLs: e.urls, verbs: e.verbs });
  return rules;
}

/** The name of a proposed object: `kubectl-token-<sa>-least-privilege` in its own namespace, the namespace added elsewhere and for cluster-wide objects (names there are shared by all namespaces). */
export function proposalName(sa: ServiceAccountRef, namespace?: string): string {
  return namespace === sa.namespace
    ? `kubectl-token-${sa.name}-least-privilege`
    : `kubectl-token-${sa.namespace}-${sa.name}-least-privilege`;
}

/** A proposed object: a Role, ClusterRole, RoleBinding or ClusterRoleBinding. */
export type ProposedObject = (RoleObject | BindingObject) & { apiVersion: string; kind: string };

/**
 * The minimal RBAC objects for the requests: a Role and RoleBinding per namespace the requests
 * were made in, and a ClusterRole and ClusterRoleBinding for what only those can grant
 * (cluster-scoped resources, requests across all namespaces, non-resource URLs). In the order
 * to apply them: roles before the bindings that name them.
 */
export function proposeObjects(
  sa: ServiceAccountRef,
  requests: readonly ObservedRequest[],
): ProposedObject[] {
  const cluster: ObservedRequest[] = [];
  const byNamespace = new Map<string, ObservedRequest[]>();
  for (const r of requests) {
    if (r.namespace === undefined || r.nonResourceURL !== undefined) cluster.push(r);
    else byNamespace.set(r.namespace, [...byNamespace.get(r.namespace) ?? [], r]);
  }
  const objects: ProposedObject[] = [];
  const meta = (name: string, namespace?: string) => ({
    name,
    ...(namespace ? { namespace } : {}),
    labels: { ...MANAGED_BY },
    annotations: { [FOR_ANNOTATION]: `${sa.namespace}/${sa.name}` },
  });
  const subjects = [{ kind: "ServiceAccount", name: sa.name, namespace: sa.namespace }];
  if (cluster.length) {
    const name = proposalName(sa);
    objects.push(
      {
        apiVersion: API_VERSION,
        kind: "ClusterRole",
        metadata: meta(name),
        rules: rulesFor(cluster),
      },
      {
        apiVersion: API_VERSION,
        kind: "ClusterRoleBinding",
        metadata: meta(name),
        roleRef: { apiGroup: API_GROUP, kind: "ClusterRole", name },
        subjects,
      },
    );
  }
  for (const namespace of sorted(byNamespace.keys())) {
    const name = proposalName(sa, namespace);
    objects.push(
      {
        apiVersion: API_VERSION,
        kind: "Role",
        metadata: meta(name, namespace),
        rules: rulesFor(byNamespace.get(namespace)!),
      },
      {
        apiVersion: API_VERSION,
        kind: "RoleBinding",
        metadata: meta(name, namespace),
        roleRef: { apiGroup: API_GROUP, kind: "Role", name },
        subjects,
      },
    );
  }
  return objects;
}

/** The objects as the rule resolver reads them. */
export function asRbacObjects(objects: readonly ProposedObject[]) {
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  return {
    roles: of("Role") as RoleObject[],
    clusterRoles: of("ClusterRole") as RoleObject[],
    roleBindings: of("RoleBinding") as BindingObject[],
    clusterRoleBindings: of("ClusterRoleBinding") as BindingObject[],
  };
}

/** The result of checking requests against proposed objects. */
export interface ProposalCheck {
  /** Requests checked (each request once, by its count). */
  requests: number;
  /** Distinct request shapes checked. */
  distinct: number;
  /** The shapes the proposal does not allow (should be none). */
  notAllowed: ObservedRequest[];
}

/**
 * Check every allowed request against the proposal with the RBAC matcher, as the API server
 * would decide it for the service account once only the proposal grants it anything.
 */
export function checkProposal(
  sa: ServiceAccountRef,
  objects: readonly ProposedObject[],
  uses: readonly RequestUsage[],
): ProposalCheck {
  const { grants } = grantsFor(serviceAccountUser(sa.namespace, sa.name), asRbacObjects(objects));
  const check: ProposalCheck = { requests: 0, distinct: 0, notAllowed: [] };
  for (const use of uses) {
    const n = allowedCount(use);
    if (n === 0) continue;
    check.requests += n;
    check.distinct++;
    if (!authorize(grants, authorizedRequest(use.request))) check.notAllowed.push(use.request);
  }
  return check;
}

/** The requests of these uses that were allowed, as the authorizer saw them (one per shape). */
export function allowedRequests(uses: readonly RequestUsage[]): ObservedRequest[] {
  const seen = new Map<string, ObservedRequest>();
  for (const use of uses) {
    if (allowedCount(use) === 0) continue;
    const r = authorizedRequest(use.request);
    seen.set(requestKey(r), r);
  }
  return [...seen.values()];
}

/** How much of one granted rule was exercised. */
export interface GrantUse {
  grant: Grant;
  /** Allowed requests this rule allows (a request allowed by two rules counts for both). */
  requests: number;
  status: "used" | "partly used" | "granted, unused";
  /** The rule's verbs, resources and URLs no request used (wildcards are never listed). */
  unused: { verbs: string[]; resources: string[]; nonResourceURLs: string[] };
}

/** Each grant with the allowed requests it allows and what of it went unused. */
export function grantUses(grants: readonly Grant[], uses: readonly RequestUsage[]): GrantUse[] {
  const allowed = uses.filter((u) => allowedCount(u) > 0).map((u) => ({
    request: authorizedRequest(u.request),
    count: allowedCount(u),
  }));
  return grants.map((grant) => {
    const matched = allowed.filter((u) => grantAllows(grant, u.request));
    const rule = grant.rule;
    const resourceOf = (r: ObservedRequest) =>
      r.subresource ? `${r.resource}/${r.subresource}` : r.resource ?? "";
    const unusedVerbs = rule.verbs.filter((v) =>
      v !== "*" && !matched.some((m) => verbMatches({ verbs: [v] }, m.request.verb))
    );
    const unusedResources = (rule.resources ?? []).filter((res) =>
      res !== "*" &&
      !matched.some((m) =>
        m.request.nonResourceURL === undefined &&
        resourceMatches(
          { verbs: [], resources: [res] },
          resourceOf(m.request),
          m.request.subresource ?? "",
        )
      )
    );
    const unusedURLs = (rule.nonResourceURLs ?? []).filter((u) =>
      u !== "*" &&
      !matched.some((m) =>
        m.request.nonResourceURL !== undefined &&
        nonResourceURLMatches({ verbs: [], nonResourceURLs: [u] }, m.request.nonResourceURL)
      )
    );
    const requests = matched.reduce((n, m) => n + m.count, 0);
    const partly = unusedVerbs.length + unusedResources.length + unusedURLs.length > 0;
    return {
      grant,
      requests,
      status: requests === 0 ? "granted, unused" : partly ? "partly used" : "used",
      unused: { verbs: unusedVerbs, resources: unusedResources, nonResourceURLs: unusedURLs },
    };
  });
}

/** Allowed requests no current grant allows (granted then by a binding since removed, or by another authorizer). */
export function ungrantedUses(
  grants: readonly Grant[],
  uses: readonly RequestUsage[],
): RequestUsage[] {
  return uses.filter((u) =>
    allowedCount(u) > 0 && !authorize(grants, authorizedRequest(u.request))
  );
}

/** `get secrets "app-config" in "ns"`, `list pods (all namespaces)`, `get /version`: one request, for tables and messages. */
export function describeRequest(r: ObservedRequest): string {
  if (r.nonResourceURL !== undefined) return `${r.verb} ${r.nonResourceURL}`;
  const resource = (r.subresource ? `${r.resource}/${r.subresource}` : r.resource ?? "") +
    (r.apiGroup ? `.${r.apiGroup}` : "");
  const name = r.name ? ` "${r.name}"` : "";
  const where = r.namespace ? ` in "${r.namespace}"` : " (cluster-wide)";
  return `${r.verb} ${resource}${name}${where}`;
}
