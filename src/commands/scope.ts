/**
 * `kubectl token scope`: what the current credential may do in a namespace, from a
 * SelfSubjectRulesReview, with the rights that amount to more than they look marked, and a
 * verdict: read-only, broader than read-only, or cluster-admin equivalent.
 */
import { wrapApiError } from "../api/errors.ts";
import { listNamespaces } from "../api/namespaces.ts";
import { reviewRules, type RulesStatus } from "../api/rbac.ts";
import type { CommandContext } from "../context.ts";
import { parseOutputFlag, renderTable, toJson, toYaml } from "../output/printers.ts";
import { CliError, UsageError } from "../errors.ts";
import { interpretCredential } from "../credential/interpret.ts";

/** Flags of `scope`. */
export interface ScopeOptions {
  output?: string;
  /** Review every namespace (one SelfSubjectRulesReview each), like kubectl's -A. */
  allNamespaces?: boolean;
  /** `scope SA --from-audit PATH`: compare a service account's rules with what it did. */
  serviceAccount?: string;
  fromAudit?: string;
  /** With SA: the usage database instead (`--db` alone: the default one). */
  db?: string | true;
  apply?: boolean;
  dryRun?: string;
}

/** The service account the credential is, when it is one: its own token is not another's. */
export interface Self {
  namespace: string;
  name: string;
}

export type { NonResourceRule, ResourceRule, RulesStatus } from "../api/rbac.ts";

/** One row of the scope table: a resource (or URL) and what may be done to it. */
export interface ScopeRow {
  resource: string;
  nonResourceURL: string;
  resourceNames: string[];
  verbs: string[];
  risks: string[];
  /** Rights worth knowing that are not risks: "self-renewal" (tokens for itself only). */
  notes: string[];
}

/** The three verdicts. */
export type Verdict = "read-only" | "broader than read-only" | "cluster-admin equivalent";

const READ_VERBS = new Set(["get", "list", "watch"]);
// Everyone may ask who they are and what they may do (system:basic-user); that is not writing.
const SELF_REVIEWS = new Set([
  "selfsubjectaccessreviews.authorization.k8s.io",
  "selfsubjectrulesreviews.authorization.k8s.io",
  "selfsubjectreviews.authentication.k8s.io",
]);

/** The risky rights one (group, resource, verbs) grants; empty when none. */
export function risksOf(group: string, resource: string, verbs: string[]): string[] {
  const risks: string[] = [];
  const any = (...wanted: string[]) => verbs.includes("*") || wanted.some((v) => verbs.includes(v));
  const core = group === "" || group === "*";
  const isResource = (name: string) => resource === name || resource === "*";
  if (verbs.includes("*") || resource === "*" || group === "*" || resource.startsWith("*/")) {
    risks.push("wildcard");
  }
  if (core && isResource("secrets") && any("get", "list", "watch")) risks.push("reads secrets");
  if (core && isResource("serviceaccounts/token") && any("create")) {
    risks.push("creates service-account tokens");
  }
  // A wildcard verb grants these only on the resources they act on.
  const impersonable = core && ["users", "groups", "serviceaccounts", "*"].includes(resource) ||
    group === "authentication.k8s.io" || group === "*";
  const roles = (group === "rbac.authorization.k8s.io" || group === "*") &&
    ["roles", "clusterroles", "*"].includes(resource);
  if (verbs.includes("impersonate") || (verbs.includes("*") && impersonable)) {
    risks.push("impersonate");
  }
  if (verbs.includes("bind") || (verbs.includes("*") && roles)) risks.push("bind");
  if (verbs.includes("escalate") || (verbs.includes("*") && roles)) risks.push("escalate");
  if (core && (isResource("pods/exec") || resource === "*/exec") && verbs.length) {
    risks.push("pods/exec");
  }
  if (core && (isResource("nodes/proxy") || resource === "*/proxy") && verbs.length) {
    risks.push("nodes/proxy");
  }
  return risks;
}

/** What each risk and note means, for `-o wide`. */
export const RISK_MEANINGS: Record<string, string> = {
  "wildcard": "matches every verb or resource, also ones added later",
  "reads secrets": "can read Secrets, other service accounts' tokens among them",
  "creates service-account tokens": "can get tokens for other service accounts and act as them",
  "self-renewal":
    "can get new tokens for itself only (no more rights, but beyond this token's end)",
  "impersonate": "can act as other users, groups or service accounts",
  "bind": "can grant roles it does not hold",
  "escalate": "can add rights it does not hold to roles",
  "pods/exec": "can run commands in pods, with their service accounts",
  "nodes/proxy": "can use the kubelet API, exec into any pod of the node included",
};

/**
 * Rows of the table, one per resource (and its names) or URL, verbs merged. With `self` (the
 * service account the credential is) and the reviewed `namespace`, creating tokens only for
 * itself is "self-renewal", a note rather than a risk.
 */
export function scopeRows(
  status: RulesStatus,
  options: { self?: Self; namespace?: string } = {},
): ScopeRow[] {
  const rows = new Map<string, ScopeRow>();
  for (const rule of status.resourceRules ?? []) {
    const groups = rule.apiGroups?.length ? rule.apiGroups : [""];
    for (const group of groups) {
      for (const resource of rule.resources ?? []) {
        const name = group === "" ? resource : `${resource}.${group}`;
        const names = [...(rule.resourceNames ?? [])].sort();
        const key = `${name}\u0000${names.join(",")}`;
        const row = rows.get(key) ?? {
          resource: name,
          nonResourceURL: "",
          resourceNames: names,
          verbs: [],
          risks: [],
          notes: [],
        };
        for (const v of rule.verbs) if (!row.verbs.includes(v)) row.verbs.push(v);
        const self = options.self;
        const ownOnly = self !== undefined && options.namespace === self.namespace &&
          names.length > 0 && names.every((n) => n === self.name);
        for (const r of risksOf(group, resource, rule.verbs)) {
          if (r === "creates service-account tokens" && ownOnly) {
            if (!row.notes.includes("self-renewal")) row.notes.push("self-renewal");
          } else if (!row.risks.includes(r)) row.risks.push(r);
        }
        rows.set(key, row);
      }
    }
  }
  for (const rule of status.nonResourceRules ?? []) {
    for (const url of rule.nonResourceURLs ?? []) {
      const key = `\u0001${url}`;
      const row = rows.get(key) ??
        { resource: "", nonResourceURL: url, resourceNames: [], verbs: [], risks: [], notes: [] };
      for (const v of rule.verbs) if (!row.verbs.includes(v)) row.verbs.push(v);
      if ((url === "*" || rule.verbs.includes("*")) && !row.risks.includes("wildcard")) {
        row.risks.push("wildcard");
      }
      rows.set(key, row);
    }
  }
  // kubectl auth can-i --list sorts by resource; URLs after resources.
  return [...rows.values()].sort((a, b) =>
    (a.resource === "" ? 1 : 0) - (b.resource === "" ? 1 : 0) ||
    a.resource.localeCompare(b.resource) || a.nonResourceURL.localeCompare(b.nonResourceURL)
  );
}

/** The verdict over all rules. */
export function verdictOf(status: RulesStatus, rows: ScopeRow[]): Verdict {
  const all = (status.resourceRules ?? []).some((r) =>
    r.verbs.includes("*") && (r.apiGroups ?? []).includes("*") &&
    (r.resources ?? []).includes("*") && !(r.resourceNames ?? []).length
  );
  if (all) return "cluster-admin equivalent";
  for (const row of rows) {
    if (row.risks.length) return "broader than read-only";
    if (row.resource !== "" && SELF_REVIEWS.has(row.resource)) continue;
    // Tokens for itself add no rights: graded like asking what it may do.
    if (row.notes.includes("self-renewal") && row.verbs.every((v) => v === "create")) continue;
    const readVerbs = row.resource === "" ? new Set(["get", "head"]) : READ_VERBS;
    if (row.verbs.some((v) => !readVerbs.has(v))) return "broader than read-only";
  }
  return "read-only";
}

/** The review of one namespace. */
interface NamespaceScope {
  namespace: string;
  status: RulesStatus;
  rows: ScopeRow[];
  verdict: Verdict;
  risks: string[];
}

/** Ask the server and print; returns the exit code. */
export async function runScope(ctx: CommandContext, options: ScopeOptions): Promise<number> {
  if (options.serviceAccount !== undefined) {
    const { runScopeFromAudit } = await import("./_scope_from_audit.ts");
    return runScopeFromAudit(ctx, { ...options, serviceAccount: options.serviceAccount });
  }
  for (
    const [flag, set] of [
      ["--from-audit", options.fromAudit !== undefined],
      ["--db", options.db !== undefined],
      ["--apply", options.apply],
      ["--dry-run", options.dryRun !== undefined],
    ] as const
  ) {
    if (set) {
      throw new UsageError(
        `Flag ${flag} needs a service account: scope SA --from-audit PATH`,
      );
    }
  }
  const format = parseOutputFlag(options.output, ["wide", "json", "yaml"], "table");
  const config = await ctx.config();
  const client = await ctx.client();
  const credential = await ctx.credential();
  const who = await interpretCredential(credential, {
    now: ctx.runtime.now(),
    impersonate: config.impersonate,
  });
  const self = serviceAccountOf(who.user?.username);
  const namespaces = options.allNamespaces ? await namespaceNames(ctx) : [config.namespace];
  const scopes: NamespaceScope[] = [];
  for (const namespace of namespaces) {
    let status: RulesStatus;
    try {
      status = await reviewRules(client, namespace);
    } catch (e) {
      throw wrapApiError(
        e,
        `Cannot review the rules of the credential in namespace "${namespace}"`,
      );
    }
    const rows = scopeRows(status, { self, namespace });
    const verdict = verdictOf(status, rows);
    scopes.push({
      namespace,
      status,
      rows,
      verdict,
      risks: [...new Set(rows.flatMap((r) => r.risks))],
    });
  }
  const out = ctx.runtime.stdout;
  if (format === "json" || format === "yaml") {
    const docs = scopes.map(scopeDocument);
    const doc = options.allNamespaces
      ? { apiVersion: "v1", kind: "List", items: docs, metadata: {} }
      : docs[0];
    out.write(format === "json" ? toJson(doc) : toYaml(doc));
    return 0;
  }
  const wide = format === "wide";
  const all = Boolean(options.allNamespaces);
  const headers = [
    ...(all ? ["NAMESPACE"] : []),
    "RESOURCES",
    "NON-RESOURCE URLS",
    "RESOURCE NAMES",
    "VERBS",
    "RISK",
    ...(wide ? ["WHY"] : []),
  ];
  out.write(renderTable(
    headers,
    scopes.flatMap((scope) =>
      scope.rows.map((r) => [
        ...(all ? [scope.namespace] : []),
        r.resource,
        r.nonResourceURL ? `[${r.nonResourceURL}]` : "[]",
        `[${r.resourceNames.join(" ")}]`,
        `[${r.verbs.join(" ")}]`,
        riskCell(r),
        ...(wide ? [[...r.risks, ...r.notes].map((k) => RISK_MEANINGS[k] ?? k).join("; ")] : []),
      ])
    ),
  ));
  out.write("\n");
  for (const scope of scopes) {
    out.write(
      `Verdict in namespace "${scope.namespace}": ${scope.verdict}` +
        (scope.risks.length ? ` (risky: ${scope.risks.join(", ")})` : "") + "\n",
    );
  }
  for (const scope of scopes.filter((s) => s.status.incomplete)) {
    ctx.warn(
      `the server says the list for namespace "${scope.namespace}" is incomplete` +
        (scope.status.evaluationError ? `: ${scope.status.evaluationError}` : "") +
        "; the credential may be able to do more",
    );
  }
  return 0;
}

function riskCell(row: ScopeRow): string {
  const parts = [];
  if (row.risks.length) parts.push(`! ${row.risks.join(", ")}`);
  if (row.notes.length) parts.push(row.notes.join(", "));
  return parts.join("; ");
}

function scopeDocument(scope: NamespaceScope): Record<string, unknown> {
  const { status, rows } = scope;
  return {
    apiVersion: "kubectl-token.dev/v1alpha1",
    kind: "TokenScope",
    namespace: scope.namespace,
    verdict: scope.verdict,
    risks: scope.risks,
    incomplete: Boolean(status.incomplete),
    ...(status.evaluationError ? { evaluationError: status.evaluationError } : {}),
    rules: rows.map((r) => ({
      ...(r.resource ? { resource: r.resource } : { nonResourceURL: r.nonResourceURL }),
      ...(r.resourceNames.length ? { resourceNames: r.resourceNames } : {}),
      verbs: r.verbs,
      risks: r.risks,
      ...(r.notes.length ? { notes: r.notes } : {}),
    })),
  };
}

// -A: every namespace the credential may list, as kubectl's -A needs list on namespaces too.
async function namespaceNames(ctx: CommandContext): Promise<string[]> {
  const client = await ctx.client();
  let list;
  try {
    list = await listNamespaces(client);
  } catch (e) {
    throw wrapApiError(e, "Cannot list namespaces for --all-namespaces", {
      hint: "name one with -n",
    });
  }
  const names = list.map((n) => n.metadata?.name ?? "").filter((n) => n);
  if (names.length === 0) throw new CliError("Cannot review all namespaces: there are none");
  return names.sort();
}

function serviceAccountOf(username: string | undefined): Self | undefined {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username ?? "");
  return m ? { namespace: m[1], name: m[2] } : undefined;
}
