/**
 * `kubectl token scope SA --from-audit PATH`: what a service account may do (its grants, with
 * the binding and role each comes from) against what it did (its requests in the audit events),
 * and the minimal Role/ClusterRole and bindings that allow what it did and nothing else, checked
 * with the RBAC matcher before it is printed, and applied with `--apply`.
 *
 * Whose requests count: RBAC decides a request as the user it runs as, so a request made *as*
 * the service account (`impersonatedUser` is the account) counts for it, and a request it made as
 * someone else (it impersonated another user) counts only as the `impersonate` requests that
 * impersonation took: on `serviceaccounts` or `users`, on `groups` asked for beyond those the
 * server adds itself, on `userextras/<key>` and `uids`.
 */
import type { ApiClient } from "../api/client.ts";
import { ApiError, wrapApiError } from "../api/errors.ts";
import {
  createRbac,
  getRbac,
  listRbac,
  RBAC_RESOURCES,
  type RbacKind,
  replaceRbac,
  reviewRules,
  type RulesStatus,
} from "../api/rbac.ts";
import type { CommandContext } from "../context.ts";
import { CliError, UsageError } from "../errors.ts";
import { fileError } from "../fs/file_error.ts";
import { parseOutputFlag, renderTable, toJson, toYaml } from "../output/printers.ts";
import {
  type BindingObject,
  describeGrant,
  type Grant,
  grantsFor,
  type PolicyRule,
  type RbacObjects,
  type RoleObject,
  serviceAccountUser,
} from "../rbac/mod.ts";
import { AUDIT_KEYS, type AuditEvent, type AuditUser, eventTime } from "../usage/event.ts";
import {
  allowedCount,
  allowedRequests,
  checkProposal,
  describeRequest,
  grantUses,
  observedFromSnapshot,
  type ObservedRequests,
  type ProposedObject,
  proposeObjects,
  type ServiceAccountRef,
  ungrantedUses,
} from "../usage/least_privilege.ts";
import type { RequestUsage } from "../usage/model.ts";
import { readAuditEvents } from "../usage/reader.ts";
import { type ObservedRequest, observedRequestOf, requestKey } from "../usage/request.ts";
import { VERSION } from "../version.ts";

/** Flags of `scope SA`. */
export interface ScopeFromAuditOptions {
  serviceAccount: string;
  fromAudit?: string;
  db?: string | true;
  output?: string;
  apply?: boolean;
  dryRun?: string;
}

/** kubectl's `--dry-run` strategies. */
export type DryRun = "none" | "server" | "client";

/** Check the flags without touching the cluster; messages name the flag. */
export function validateScopeFromAudit(
  options: ScopeFromAuditOptions & { allNamespaces?: boolean },
): { format: string; dryRun: DryRun; source: RequestSource } {
  const format = parseOutputFlag(options.output, ["json", "yaml"], "text");
  if (options.allNamespaces) {
    throw new UsageError(
      "Flag --all-namespaces cannot be used with a service account: its rules in every namespace are compared already",
    );
  }
  if (
    !/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(
      options.serviceAccount,
    )
  ) {
    throw new UsageError(
      `Invalid service account "${options.serviceAccount}": expected NAME or NAMESPACE/NAME (lowercase RFC 1123)`,
    );
  }
  const dryRun = options.dryRun ?? "none";
  if (dryRun !== "none" && dryRun !== "server" && dryRun !== "client") {
    throw new UsageError(
      `Invalid value "${dryRun}" for flag --dry-run: must be "none", "server", or "client"`,
    );
  }
  if (options.dryRun !== undefined && !options.apply) {
    throw new UsageError("Flag --dry-run can only be used with --apply");
  }
  if (options.fromAudit !== undefined && options.db !== undefined) {
    throw new UsageError("Flags --from-audit and --db cannot be used together: choose one source");
  }
  if (options.db !== undefined) return { format, dryRun, source: { db: options.db } };
  if (options.fromAudit === undefined) {
    throw new UsageError(
      `A service account argument needs --from-audit: scope ${options.serviceAccount} --from-audit PATH (without an argument, scope reviews the current credential)`,
    );
  }
  if (options.fromAudit === "") throw new UsageError('Invalid value "" for flag --from-audit');
  return { format, dryRun, source: { auditLog: options.fromAudit } };
}

/** Where the requests come from: audit events, or the usage database (`true`: the default one). */
export type RequestSource = { auditLog: string } | { db: string | true };

/** The service account of `NAME` (in `namespace`) or `NAMESPACE/NAME`. */
export function serviceAccountOf(
  value: string,
  namespace: string,
  namespaceFromFlag: boolean,
): ServiceAccountRef {
  const slash = value.indexOf("/");
  if (slash === -1) return { namespace, name: value };
  const ref = { namespace: value.slice(0, slash), name: value.slice(slash + 1) };
  if (namespaceFromFlag && ref.namespace !== namespace) {
    throw new UsageError(
      `Service account "${value}" is in namespace "${ref.namespace}", but -n says "${namespace}": give one of them`,
    );
  }
  return ref;
}

const SA_PREFIX = "system:serviceaccount:";
const SA_GROUPS = ["system:serviceaccounts", "system:authenticated"];

/** One request an event records for the service account, and whether authorization allowed it. */
export interface AccountRequest {
  request: ObservedRequest;
  allowed: boolean;
}

/**
 * The requests one event records for the service account `username`: the request itself when it
 * ran as the account (directly, or impersonating it), the `impersonate` requests when the account
 * impersonated someone else, nothing otherwise. Authorization allowed a request when the
 * `authorization.k8s.io/decision` annotation says "allow" (an admission plugin may still have
 * refused it with a 403, after RBAC allowed it), and without that annotation when the answer was
 * neither 401 nor 403.
 */
export function accountRequests(event: AuditEvent, username: string): AccountRequest[] {
  const actingAs = event.impersonatedUser?.username;
  if (actingAs === username || (actingAs === undefined && event.user?.username === username)) {
    const request = observedRequestOf(event);
    if (!request) return [];
    const decision = event.annotations?.[AUDIT_KEYS.decision];
    const code = event.responseStatus?.code;
    const allowed = decision !== undefined ? decision === "allow" : code !== 401 && code !== 403;
    return [{ request, allowed }];
  }
  if (event.user?.username === username && event.impersonatedUser) {
    // The server logs the impersonated user only once impersonation was allowed.
    return impersonationRequests(event.impersonatedUser).map((request) => ({
      request,
      allowed: true,
    }));
  }
  return [];
}

/** The `impersonate` checks the impersonation filter made to act as `user`. */
function impersonationRequests(user: AuditUser): ObservedRequest[] {
  const requests: ObservedRequest[] = [];
  const name = user.username ?? "";
  const sa = name.startsWith(SA_PREFIX) ? name.slice(SA_PREFIX.length).split(":") : [];
  // Groups the server adds by itself were not asked for, so not authorized.
  let added = ["system:authenticated"];
  if (sa.length === 2) {
    requests.push({
      verb: "impersonate",
      apiGroup: "",
      resource: "serviceaccounts",
      namespace: sa[0],
      name: sa[1],
    });
    added = [...SA_GROUPS, `system:serviceaccounts:${sa[0]}`];
  } else if (name !== "") {
    requests.push({ verb: "impersonate", apiGroup: "", resource: "users", name });
  }
  for (const group of user.groups ?? []) {
    if (!added.includes(group)) {
      requests.push({ verb: "impersonate", apiGroup: "", resource: "groups", name: group });
    }
  }
  for (const [key, values] of Object.entries(user.extra ?? {})) {
    for (const value of values) {
      requests.push({
        verb: "impersonate",
        apiGroup: "authentication.k8s.io",
        resource: "userextras",
        subresource: key,
        name: value,
      });
    }
  }
  if (user.uid) {
    requests.push({
      verb: "impersonate",
      apiGroup: "authentication.k8s.io",
      resource: "uids",
      name: user.uid,
    });
  }
  return requests;
}

/**
 * Counts a service account's requests over a stream of events: each request once whatever its
 * stages (RequestReceived is skipped, and a watch's ResponseComplete after its ResponseStarted),
 * by request shape. Memory grows with the shapes, not with the events.
 */
export class AccountRequestCounter {
  readonly #username: string;
  readonly #uses = new Map<string, RequestUsage>();
  readonly #started = new Set<string>();
  events = 0;
  requests = 0;
  first?: string;
  last?: string;

  constructor(sa: ServiceAccountRef) {
    this.#username = serviceAccountUser(sa.namespace, sa.name).username;
  }

  /** Count one event. */
  add(event: AuditEvent): void {
    this.events++;
    if (event.stage === "RequestReceived") return;
    const id = event.auditID;
    if (id && event.stage === "ResponseStarted") this.#started.add(id);
    else if (id && (event.stage === "ResponseComplete" || event.stage === "Panic")) {
      if (this.#started.delete(id)) return;
    }
    const requests = accountRequests(event, this.#username);
    if (requests.length === 0) return;
    // RFC 3339 to the second, as the events' own times read (sub-second digits when present).
    const at = eventTime(event)?.toISOString().replace(/\.000Z$/, "Z") ?? "";
    if (at && (!this.first || at < this.first)) this.first = at;
    if (at && (!this.last || at > this.last)) this.last = at;
    this.requests++;
    for (const { request, allowed } of requests) {
      const key = requestKey(request);
      const use = this.#uses.get(key) ?? { request, count: 0, denied: 0, first: at, last: at };
      use.count++;
      if (!allowed) use.denied++;
      if (at && (!use.first || at < use.first)) use.first = at;
      if (at && at > use.last) use.last = at;
      this.#uses.set(key, use);
    }
  }

  /** The uses counted so far. */
  uses(): RequestUsage[] {
    return [...this.#uses.values()];
  }
}

/** What the service account did, from an audit log (a file, a folder, .gz, or "-"). */
export async function observedFromAudit(
  ctx: CommandContext,
  path: string,
  sa: ServiceAccountRef,
): Promise<ObservedRequests> {
  const counter = new AccountRequestCounter(sa);
  const stats = await readAuditEvents(ctx.runtime, path, (e) => counter.add(e));
  const sample = stats.malformedSamples[0];
  if (stats.events === 0) {
    // Nothing to compare with: a wrong file, or a policy that logs nothing.
    throw new CliError(
      `Cannot read audit events "${path}": it holds no events` +
        (stats.malformed > 0
          ? ` (${stats.malformed} lines that are not events${
            sample ? `, first: ${sample.file}:${sample.line}: ${sample.reason}` : ""
          })`
          : ""),
    );
  }
  const notes: string[] = [];
  if (stats.malformed > 0) {
    const s = stats.malformedSamples[0];
    notes.push(
      `${stats.malformed} lines of the audit events are not events and were skipped` +
        (s ? ` (first: ${s.file}:${s.line}: ${s.reason})` : ""),
    );
  }
  return {
    source: `audit events "${path}"`,
    events: stats.events,
    requests: counter.requests,
    ...(counter.first ? { first: counter.first } : {}),
    ...(counter.last ? { last: counter.last } : {}),
    uses: counter.uses(),
    notes,
  };
}

/** The one place that says where the requests come from. */
async function observedRequests(
  ctx: CommandContext,
  sa: ServiceAccountRef,
  source: RequestSource,
): Promise<ObservedRequests> {
  if ("auditLog" in source) return observedFromAudit(ctx, source.auditLog, sa);
  const { defaultUsageDbPath, readUsageDb } = await import("../usage/store.ts");
  const path = source.db === true ? defaultUsageDbPath(ctx.runtime) : source.db;
  if (!path) {
    throw new CliError("Cannot find the usage database: name it with --db PATH, or set HOME");
  }
  const snapshot = await readUsageDb(ctx.runtime, path);
  return observedFromSnapshot(snapshot, sa, `usage database "${path}"`);
}

/** What the service account may do, and how that was found out. */
export interface AccountGrants {
  grants: Grant[];
  /** "rbac": from the roles and bindings; "review": SelfSubjectRulesReview as the account. */
  from: "rbac" | "review";
  warnings: string[];
}

/** Whether an error is the server refusing the caller (403). */
function forbidden(e: unknown): e is ApiError {
  return e instanceof ApiError && e.code === 403;
}

/** The grants from the RBAC objects: every ClusterRoleBinding, and RoleBindings where they are. */
async function grantsFromRbac(
  client: ApiClient,
  sa: ServiceAccountRef,
  namespaces: string[],
): Promise<AccountGrants> {
  const [clusterRoleBindings, clusterRoles] = await Promise.all([
    listRbac(client, "ClusterRoleBinding"),
    listRbac(client, "ClusterRole"),
  ]);
  const warnings: string[] = [];
  // RoleBindings in every namespace show grants never used anywhere; where listing them across
  // namespaces is refused, the namespaces that matter are enough to compare.
  const namespaced = async <K extends "Role" | "RoleBinding">(kind: K) => {
    try {
      return await listRbac(client, kind);
    } catch (e) {
      if (!forbidden(e)) throw e;
      const lists = await Promise.all(namespaces.map((ns) => listRbac(client, kind, ns)));
      warnings.push(
        `cannot list ${RBAC_RESOURCES[kind]} in all namespaces; read them in ${
          namespaces.map((n) => `"${n}"`).join(", ")
        } only`,
      );
      return lists.flat();
    }
  };
  const [roleBindings, roles] = [await namespaced("RoleBinding"), await namespaced("Role")];
  const objects: RbacObjects = {
    roles: roles as RoleObject[],
    clusterRoles: clusterRoles as RoleObject[],
    roleBindings: roleBindings as BindingObject[],
    clusterRoleBindings: clusterRoleBindings as BindingObject[],
  };
  const { grants, errors } = grantsFor(serviceAccountUser(sa.namespace, sa.name), objects);
  return { grants, from: "rbac", warnings: [...new Set(warnings)].concat(errors) };
}

/** A client that acts as `user` (kubectl's --as), with the context's credential. */
async function impersonatingClient(ctx: CommandContext, user: string): Promise<ApiClient> {
  const [config, { ApiClient }] = await Promise.all([ctx.config(), import("../api/client.ts")]);
  return new ApiClient({ ...config, impersonate: { user, groups: [], extra: {} } }, {
    runtime: ctx.runtime,
    credential: () => ctx.credential(),
    verbosity: ctx.verbosity,
    userAgent: `kubectl-token/${VERSION}`,
  });
}

function ruleKey(rule: PolicyRule): string {
  const s = (v?: string[]) => [...v ?? []].sort();
  return JSON.stringify([
    s(rule.verbs),
    s(rule.apiGroups),
    s(rule.resources),
    s(rule.resourceNames),
    s(rule.nonResourceURLs),
  ]);
}

function rulesOf(status: RulesStatus): PolicyRule[] {
  return [
    ...(status.resourceRules ?? []).map((r) => ({
      verbs: r.verbs,
      apiGroups: r.apiGroups ?? [],
      resources: r.resources ?? [],
      ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}),
    })),
    ...(status.nonResourceRules ?? []).map((r) => ({
      verbs: r.verbs,
      nonResourceURLs: r.nonResourceURLs ?? [],
    })),
  ];
}

/**
 * The grants from SelfSubjectRulesReviews made as the service account. A review covers one
 * namespace and merges the ClusterRoleBindings' rules in; a review of a namespace that does not
 * exist has no RoleBindings to read, so it holds the cluster-wide rules alone, and a namespace's
 * own rules are what its review adds to those.
 */
async function grantsFromReview(
  ctx: CommandContext,
  sa: ServiceAccountRef,
  namespaces: string[],
): Promise<AccountGrants> {
  const user = serviceAccountUser(sa.namespace, sa.name).username;
  const client = await impersonatingClient(ctx, user);
  try {
    const probe = `kubectl-token-no-such-namespace-${crypto.randomUUID().slice(0, 8)}`;
    const cluster = await reviewRules(client, probe);
    const warnings: string[] = [];
    const incomplete = (status: RulesStatus, where: string) => {
      if (status.incomplete) {
        warnings.push(
          `the server says the rules ${where} are incomplete` +
            (status.evaluationError ? `: ${status.evaluationError}` : ""),
        );
      }
    };
    incomplete(cluster, "cluster-wide");
    const clusterRules = rulesOf(cluster);
    const clusterKeys = new Set(clusterRules.map(ruleKey));
    const grants: Grant[] = clusterRules.map((rule) => ({
      rule,
      subject: { kind: "User", name: user },
    }));
    for (const namespace of namespaces) {
      const status = await reviewRules(client, namespace);
      incomplete(status, `in namespace "${namespace}"`);
      for (const rule of rulesOf(status)) {
        if (clusterKeys.has(ruleKey(rule))) continue;
        grants.push({ rule, namespace, subject: { kind: "User", name: user } });
      }
    }
    return { grants, from: "review", warnings };
  } finally {
    client.close();
  }
}

/**
 * What the service account may do: from the roles and bindings when the caller may list them,
 * else from SelfSubjectRulesReviews made as the account (impersonating it), said so in a warning.
 */
async function accountGrants(
  ctx: CommandContext,
  sa: ServiceAccountRef,
  namespaces: string[],
): Promise<AccountGrants> {
  const client = await ctx.client();
  let refused: ApiError;
  try {
    return await grantsFromRbac(client, sa, namespaces);
  } catch (e) {
    if (!forbidden(e)) throw e;
    refused = e;
  }
  try {
    const review = await grantsFromReview(ctx, sa, namespaces);
    review.warnings.unshift(
      `cannot list RBAC objects (${refused.message}): the rules are the service account's ` +
        `SelfSubjectRulesReviews, made as it (--as system:serviceaccount:${sa.namespace}:${sa.name}), ` +
        `without the bindings and roles they come from`,
    );
    return review;
  } catch (e) {
    if (!forbidden(e)) throw e;
    throw new CliError(
      `Cannot read what service account "${sa.namespace}/${sa.name}" may do: it takes list on ` +
        `roles, rolebindings, clusterroles and clusterrolebindings (rbac.authorization.k8s.io), ` +
        `or impersonate on serviceaccounts "${sa.namespace}/${sa.name}", and the server refused ` +
        `both (${refused.message})`,
    );
  }
}

function describeObject(o: { kind?: string; metadata: { name: string; namespace?: string } }) {
  const m = o.metadata;
  return `${o.kind} "${m.namespace ? `${m.namespace}/` : ""}${m.name}"`;
}

/** What applying one object did. */
export interface ApplyResult {
  kind: string;
  name: string;
  namespace?: string;
  result: string;
}

/** JSON with object keys sorted: the server writes fields in its own order. */
function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v,
  );
}

/** What applying `wanted` over `existing` would change: its rules, or binding, and our marks. */
function sameContent(existing: RoleObject | BindingObject, wanted: ProposedObject): boolean {
  const body = (o: RoleObject | BindingObject) =>
    "roleRef" in o
      ? [o.roleRef, (o.subjects ?? []).map(({ apiGroup: _, ...s }) => s)]
      : (o.rules ?? []).map((r) => ({ ...r, resourceNames: r.resourceNames ?? [] }));
  const has = (have: Record<string, string> | undefined, want: Record<string, string> = {}) =>
    Object.entries(want).every(([k, v]) => have?.[k] === v);
  return canonical(body(existing)) === canonical(body(wanted)) &&
    has(existing.metadata.labels, wanted.metadata.labels) &&
    has(existing.metadata.annotations, wanted.metadata.annotations);
}

/**
 * Create each object, or replace one that exists with other content, as `kubectl apply` would
 * report it: created, configured, unchanged, with "(server dry run)" or "(client dry run)".
 * A server dry run sends creations with dryRun=All and only says so of objects that exist.
 */
async function applyObjects(
  client: ApiClient,
  objects: ProposedObject[],
  dryRun: DryRun,
): Promise<ApplyResult[]> {
  const results: ApplyResult[] = [];
  const suffix = dryRun === "none" ? "" : ` (${dryRun} dry run)`;
  for (const object of objects) {
    const kind = object.kind as RbacKind;
    const result = (text: string) =>
      results.push({
        kind,
        name: object.metadata.name,
        ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
        result: text,
      });
    if (dryRun === "client") {
      result(`created${suffix}`);
      continue;
    }
    const what = (verb: string) => `Cannot ${verb} ${describeObject(object)}`;
    try {
      const existing = await getRbac<RoleObject | BindingObject>(
        client,
        kind,
        object.metadata.namespace,
        object.metadata.name,
      );
      if (!existing) {
        await createRbac(client, object, { dryRun: dryRun === "server" });
        result(`created${suffix}`);
        continue;
      }
      if (sameContent(existing, object)) {
        result(`unchanged${suffix}`);
        continue;
      }
      if (dryRun === "server") {
        result(`exists with other content, not sent${suffix}: --apply replaces it`);
        continue;
      }
      if (
        "roleRef" in object &&
        JSON.stringify((existing as BindingObject).roleRef) !== JSON.stringify(object.roleRef)
      ) {
        throw new CliError(
          `${what("update")}: it binds ${(existing as BindingObject).roleRef.kind} ` +
            `"${
              (existing as BindingObject).roleRef.name
            }", and a binding's roleRef cannot change; ` +
            `delete it first`,
        );
      }
      const metadata = {
        ...existing.metadata,
        labels: { ...existing.metadata.labels, ...object.metadata.labels },
        annotations: { ...existing.metadata.annotations, ...object.metadata.annotations },
      };
      await replaceRbac(client, { ...object, metadata }, { dryRun: false });
      result("configured");
    } catch (e) {
      const applied = results.map((r) => `${r.kind} "${r.name}" ${r.result}`).join(", ");
      throw wrapApiError(e, what("apply"), applied ? { hint: `before it: ${applied}` } : {});
    }
  }
  return results;
}

/** Everything `scope SA --from-audit` found, as `-o json|yaml` prints it. */
function reportDocument(r: Report): Record<string, unknown> {
  const allowed = r.observed.uses.reduce((n, u) => n + allowedCount(u), 0);
  const denied = r.observed.uses.reduce((n, u) => n + u.denied, 0);
  return {
    apiVersion: "kubectl-token.dev/v1alpha1",
    kind: "LeastPrivilege",
    serviceAccount: r.sa,
    observed: {
      source: r.observed.source,
      events: r.observed.events,
      requests: r.observed.requests,
      allowed,
      denied,
      ...(r.observed.first ? { first: r.observed.first, last: r.observed.last } : {}),
      ...(r.observed.notes.length ? { notes: r.observed.notes } : {}),
    },
    rulesFrom: r.grants.from === "rbac" ? "roles and bindings" : "SelfSubjectRulesReview",
    grants: r.uses.map((u) => ({
      source: describeGrant(u.grant),
      ...(u.grant.binding ? { binding: u.grant.binding } : {}),
      ...(u.grant.role ? { role: u.grant.role } : {}),
      namespace: u.grant.namespace ?? "*",
      rule: u.grant.rule,
      requests: u.requests,
      status: u.status,
      ...(u.status === "partly used" ? { unused: nonEmpty(u.unused) } : {}),
    })),
    ungranted: r.ungranted.map((u) => ({ request: u.request, count: allowedCount(u) })),
    denied: r.observed.uses.filter((u) => u.denied > 0).map((u) => ({
      request: u.request,
      count: u.denied,
    })),
    proposal: { apiVersion: "v1", kind: "List", items: r.proposal },
    check: {
      requests: r.check.requests,
      distinct: r.check.distinct,
      allAllowed: r.check.notAllowed.length === 0,
      ...(r.check.notAllowed.length ? { notAllowed: r.check.notAllowed } : {}),
    },
    ...(r.applied ? { applied: r.applied } : {}),
    ...(r.grants.warnings.length ? { warnings: r.grants.warnings } : {}),
  };
}

function nonEmpty(o: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v.length));
}

interface Report {
  sa: ServiceAccountRef;
  observed: ObservedRequests;
  grants: AccountGrants;
  uses: ReturnType<typeof grantUses>;
  ungranted: RequestUsage[];
  proposal: ProposedObject[];
  check: ReturnType<typeof checkProposal>;
  applied?: ApplyResult[];
}

function resourcesCell(rule: PolicyRule): string {
  if (!rule.resources?.length) return "";
  const groups = rule.apiGroups?.length ? rule.apiGroups : [""];
  return groups.flatMap((g) => rule.resources!.map((r) => (g === "" ? r : `${r}.${g}`))).join(",");
}

function statusCell(u: ReturnType<typeof grantUses>[number]): string {
  if (u.status !== "partly used") return u.status;
  // A long list says how long it is; -o yaml has all of it.
  const parts = Object.entries(nonEmpty(u.unused)).map(([k, v]) =>
    `${k === "nonResourceURLs" ? "URLs" : k} ${
      v.length > 4 ? `${v.slice(0, 3).join(", ")} and ${v.length - 3} more` : v.join(", ")
    }`
  );
  return `partly used (unused: ${parts.join("; ")})`;
}

function checkLine(check: Report["check"]): string {
  const what = `Checked ${check.requests} observed requests (${check.distinct} distinct) against ` +
    `the proposed rules`;
  return check.notAllowed.length === 0
    ? `${what}: all allowed`
    : `${what}: ${check.notAllowed.length} not allowed (${
      check.notAllowed.map(describeRequest).join("; ")
    })`;
}

/** The report as text: every line a YAML comment, so that stdout can go to `kubectl apply -f -`. */
function reportText(r: Report): string {
  const lines: string[] = [];
  const o = r.observed;
  const allowed = o.uses.reduce((n, u) => n + allowedCount(u), 0);
  const denied = o.uses.reduce((n, u) => n + u.denied, 0);
  const span = o.first ? `, ${o.first} to ${o.last}` : "";
  lines.push(
    `Service account "${r.sa.namespace}/${r.sa.name}": ${o.requests} requests ` +
      `(${allowed} allowed, ${denied} denied) in ${o.events} ${o.source}${span}`,
  );
  lines.push(
    r.grants.from === "rbac"
      ? "Its rules, from the cluster's roles and bindings:"
      : "Its rules, from SelfSubjectRulesReviews made as it (the bindings are not known):",
  );
  lines.push(
    ...renderTable(
      [
        "SOURCE",
        "NAMESPACE",
        "RESOURCES",
        "NON-RESOURCE URLS",
        "RESOURCE NAMES",
        "VERBS",
        "REQUESTS",
        "STATUS",
      ],
      r.uses.map((u) => [
        describeGrant(u.grant),
        u.grant.namespace ?? "*",
        resourcesCell(u.grant.rule),
        `[${(u.grant.rule.nonResourceURLs ?? []).join(" ")}]`,
        `[${(u.grant.rule.resourceNames ?? []).join(" ")}]`,
        `[${u.grant.rule.verbs.join(" ")}]`,
        String(u.requests),
        statusCell(u),
      ]),
    ).trimEnd().split("\n"),
  );
  if (r.uses.length === 0) lines.push("(no rules)");
  const deniedUses = o.uses.filter((u) => u.denied > 0);
  if (deniedUses.length) {
    lines.push("", "Denied requests (left out of the proposal):");
    lines.push(
      ...renderTable(
        ["REQUEST", "COUNT"],
        deniedUses.map((u) => [describeRequest(u.request), String(u.denied)]),
      ).trimEnd().split("\n"),
    );
  }
  if (r.ungranted.length) {
    lines.push("", "Allowed then, but by no rule found now (kept in the proposal):");
    lines.push(
      ...renderTable(
        ["REQUEST", "COUNT"],
        r.ungranted.map((u) => [describeRequest(u.request), String(allowedCount(u))]),
      ).trimEnd().split("\n"),
    );
  }
  lines.push("");
  lines.push(
    r.proposal.length
      ? "The least-privilege proposal covers every allowed request above and nothing else."
      : "No allowed requests: nothing to propose.",
  );
  lines.push(checkLine(r.check));
  const text = lines.map((l) => (l ? `# ${l}` : "#")).join("\n") + "\n";
  return text + r.proposal.map((obj) => `---\n${toYaml(obj)}`).join("");
}

/** Run `scope SA --from-audit PATH`; returns the exit code. */
export async function runScopeFromAudit(
  ctx: CommandContext,
  options: ScopeFromAuditOptions & { allNamespaces?: boolean },
): Promise<number> {
  const { format, dryRun, source } = validateScopeFromAudit(options);
  // A missing file is told before anything about the cluster is.
  if ("auditLog" in source && source.auditLog !== "-") {
    try {
      await ctx.runtime.stat(source.auditLog);
    } catch (e) {
      throw fileError(`read audit events "${source.auditLog}"`, e);
    }
  }
  const config = await ctx.config();
  const sa = serviceAccountOf(options.serviceAccount, config.namespace, config.namespaceFromFlag);
  const observed = await observedRequests(ctx, sa, source);
  for (const note of observed.notes) ctx.warn(note);
  const namespaces = [
    ...new Set([
      sa.namespace,
      ...observed.uses.map((u) => u.request.namespace).filter((n): n is string => !!n),
    ]),
  ].sort();
  const grants = await accountGrants(ctx, sa, namespaces);
  for (const w of grants.warnings) ctx.warn(w);
  if (observed.requests === 0) {
    ctx.warn(
      `no requests of service account "${sa.namespace}/${sa.name}" in the ${observed.events} ` +
        `events read`,
    );
  }
  const proposal = proposeObjects(sa, allowedRequests(observed.uses));
  const report: Report = {
    sa,
    observed,
    grants,
    uses: grantUses(grants.grants, observed.uses),
    ungranted: ungrantedUses(grants.grants, observed.uses),
    proposal,
    check: checkProposal(sa, proposal, observed.uses),
  };
  const failed = report.check.notAllowed.length > 0;
  if (options.apply && !failed) {
    if (proposal.length === 0) ctx.warn("nothing to apply: no allowed requests were observed");
    report.applied = await applyObjects(await ctx.client(), proposal, dryRun);
  }
  const out = ctx.runtime.stdout;
  if (format === "json") out.write(toJson(reportDocument(report)));
  else if (format === "yaml") out.write(toYaml(reportDocument(report)));
  else {
    out.write(reportText(report));
    for (const a of report.applied ?? []) {
      out.write(`${a.kind.toLowerCase()}.rbac.authorization.k8s.io/${a.name} ${a.result}\n`);
    }
  }
  if (failed) {
    // A bug, not a property of the input: never apply rules that were seen to fall short.
    throw new CliError(
      `Cannot propose least-privilege rules for service account "${sa.namespace}/${sa.name}": ` +
        checkLine(report.check).replace(/^Checked/, "checked") +
        (options.apply ? "; nothing was applied" : ""),
    );
  }
  return 0;
}
