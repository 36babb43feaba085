/** Label and field selectors as list requests carry them (`labelSelector`, `fieldSelector`). */
import { badRequest } from "./_status.ts";
import type { KubeObject } from "./_types.ts";

type Requirement =
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!" };

/** Split on commas that are not inside parentheses. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of selector) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      terms.push(current);
      current = "";
    } else current += ch;
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t !== "");
}

/** Parse a label selector; throws a 400 ApiError with the apimachinery-like message when invalid. */
export function parseLabelSelector(selector: string): Requirement[] {
  return splitTerms(selector).map((term) => {
    let m = /^([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m) {
      const values = m[3].split(",").map((v) => v.trim()).filter((v) => v !== "");
      return { key: m[1], op: m[2] as "in" | "notin", values };
    }
    m = /^([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)$/.exec(term);
    if (m) return { key: m[1], op: m[2] === "!=" ? "!=" : "=", value: m[3] };
    m = /^!\s*([^\s!=(),]+)$/.exec(term);
    if (m) return { key: m[1], op: "!" };
    m = /^([^\s!=(),]+)$/.exec(term);
    if (m) return { key: m[1], op: "exists" };
    throw badRequest(`unable to parse requirement: found '${term}', expected: identifier`);
  });
}

/** Whether a label set satisfies every requirement. */
export function matchLabels(
  requirements: Requirement[],
  labels: Record<string, string> = {},
): boolean {
  return requirements.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    const value = labels[r.key];
    switch (r.op) {
      case "=":
        return has && value === r.value;
      case "!=":
        return !has || value !== r.value;
      case "in":
        return has && r.values.includes(value);
      case "notin":
        return !has || !r.values.includes(value);
      case "exists":
        return has;
      case "!":
        return !has;
    }
  });
}

/** One field selector term. */
export interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

/** Parse a field selector; only `=`, `==` and `!=` exist for fields. */
export function parseFieldSelector(selector: string): FieldRequirement[] {
  return splitTerms(selector).map((term) => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    return { field: m[1].trim(), op: m[2] === "!=" ? "!=" : "=", value: m[3].trim() };
  });
}

/** Fields each kind can be selected on, beyond metadata.name and metadata.namespace. */
const FIELDS: Record<string, Record<string, (o: KubeObject) => string | undefined>> = {
  Secret: { type: (o) => o.type as string | undefined },
  Pod: {
    "spec.nodeName": (o) => (o.spec as { nodeName?: string } | undefined)?.nodeName,
    "spec.serviceAccountName": (o) =>
      (o.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName,
    "status.phase": (o) => (o.status as { phase?: string } | undefined)?.phase,
  },
  Namespace: { "status.phase": (o) => (o.status as { phase?: string } | undefined)?.phase },
  ServiceAccount: {},
  Node: {
    "spec.unschedulable": (o) =>
      String(Boolean((o.spec as { unschedulable?: boolean })?.unschedulable)),
  },
};

/** Check that every field is selectable for the kind; throws 400 like a real server otherwise. */
export function checkFields(kind: string, requirements: FieldRequirement[]): void {
  for (const r of requirements) {
    if (r.field === "metadata.name" || r.field === "metadata.namespace") continue;
    if (!FIELDS[kind]?.[r.field]) {
      throw badRequest(`field label not supported: ${r.field}`);
    }
  }
}

/** Whether an object satisfies every field requirement. */
export function matchFields(requirements: FieldRequirement[], obj: KubeObject): boolean {
  return requirements.every((r) => {
    let actual: string | undefined;
    if (r.field === "metadata.name") actual = obj.metadata.name;
    else if (r.field === "metadata.namespace") actual = obj.metadata.namespace;
    else actual = FIELDS[obj.kind]?.[r.field]?.(obj);
    actual ??= "";
    return r.op === "=" ? actual === r.value : actual !== r.value;
  });
}
