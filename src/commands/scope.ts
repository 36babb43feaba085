/**
 * `kubectl token scope`: what the current credential may do in a namespace, from a
 * SelfSubjectRulesReview, with the rights that amount to more than they look marked, and a
 * verdict: read-only, broader than read-only, or cluster-admin equivalent.
 */
import { ApiError } from "../api/errors.ts";
import type { CommandContext } from "../cli/context.ts";
import { parseOutputFlag, renderTable, toJson, toYaml } from "../output/printers.ts";

/** Flags of `scope`. */
export interface ScopeOptions {
  output?: string;
}

/** A resource rule as SelfSubjectRulesReview returns it. */
export interface ResourceRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
}

/** A non-resource rule as SelfSubjectRulesReview returns it. */
export interface NonResourceRule {
  verbs: string[];
  nonResourceURLs?: string[];
}

/** The status of a SelfSubjectRulesReview. */
export interface RulesStatus {
  resourceRules?: ResourceRule[];
  nonResourceRules?: NonResourceRule[];
  incomplete?: boolean;
  evaluationError?: string;
}

/** One row of the scope table: a resource (or URL) and what may be done to it. */
export interface ScopeRow {
  resource: string;
  nonResourceURL: string;
  resourceNames: string[];
  verbs: string[];
  risks: string[];
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

/** Rows of the table, one per resource (and its names) or URL, verbs merged. */
export function scopeRows(status: RulesStatus): ScopeRow[] {
  const rows = new Map<string, ScopeRow>();
  for (const rule of status.resourceRules ?? []) {
    const groups = rule.apiGroups?.length ? rule.apiGroups : [""];
    for (const group of groups) {
      for (const resource of rule.resources ?? []) {
        const name = group === "" ? resource : `${resource}.${group}`;
        const names = [...(rule.resourceNames ?? [])].sort();
        const key = `${name}\u0000${names.join(",")}`;
        const row = rows.get(key) ??
          { resource: name, nonResourceURL: "", resourceNames: names, verbs: [], risks: [] };
        for (const v of rule.verbs) if (!row.verbs.includes(v)) row.verbs.push(v);
        for (const r of risksOf(group, resource, rule.verbs)) {
          if (!row.risks.includes(r)) row.risks.push(r);
        }
        rows.set(key, row);
      }
    }
  }
  for (const rule of status.nonResourceRules ?? []) {
    for (const url of rule.nonResourceURLs ?? []) {
      const key = `\u0001${url}`;
      const row = rows.get(key) ??
        { resource: "", nonResourceURL: url, resourceNames: [], verbs: [], risks: [] };
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
    const readVerbs = row.resource === "" ? new Set(["get", "head"]) : READ_VERBS;
    if (row.verbs.some((v) => !readVerbs.has(v))) return "broader than read-only";
  }
  return "read-only";
}

/** Ask the server and print; returns the exit code. */
export async function runScope(ctx: CommandContext, options: ScopeOptions): Promise<number> {
  const format = parseOutputFlag(options.output, ["json", "yaml"], "table");
  const config = await ctx.config();
  const client = await ctx.client();
  const namespace = config.namespace;
  let status: RulesStatus;
  try {
    const res = await client.post<{ status?: RulesStatus }>(
      "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
      {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectRulesReview",
        spec: { namespace },
      },
    );
    status = res.body.status ?? {};
  } catch (e) {
    if (e instanceof ApiError) {
      e.message =
        `Cannot review the rules of the credential in namespace "${namespace}": ${e.message}`;
    }
    throw e;
  }
  const rows = scopeRows(status);
  const verdict = verdictOf(status, rows);
  const risky = [...new Set(rows.flatMap((r) => r.risks))];
  const out = ctx.runtime.stdout;
  if (format !== "table") {
    const doc = {
      apiVersion: "kubectl-token.dev/v1alpha1",
      kind: "TokenScope",
      namespace,
      verdict,
      risks: risky,
      incomplete: Boolean(status.incomplete),
      ...(status.evaluationError ? { evaluationError: status.evaluationError } : {}),
      rules: rows.map((r) => ({
        ...(r.resource ? { resource: r.resource } : { nonResourceURL: r.nonResourceURL }),
        ...(r.resourceNames.length ? { resourceNames: r.resourceNames } : {}),
        verbs: r.verbs,
        risks: r.risks,
      })),
    };
    out.write(format === "json" ? toJson(doc) : toYaml(doc));
    return 0;
  }
  out.write(renderTable(
    ["RESOURCES", "NON-RESOURCE URLS", "RESOURCE NAMES", "VERBS", "RISK"],
    rows.map((r) => [
      r.resource,
      r.nonResourceURL ? `[${r.nonResourceURL}]` : "[]",
      `[${r.resourceNames.join(" ")}]`,
      `[${r.verbs.join(" ")}]`,
      r.risks.length ? `! ${r.risks.join(", ")}` : "",
    ]),
  ));
  out.write(
    `\nVerdict in namespace "${namespace}": ${verdict}` +
      (risky.length ? ` (risky: ${risky.join(", ")})` : "") + "\n",
  );
  if (status.incomplete) {
    ctx.warn(
      "the server says the list is incomplete" +
        (status.evaluationError ? `: ${status.evaluationError}` : "") +
        "; the credential may be able to do more",
    );
  }
  return 0;
}
