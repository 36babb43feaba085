/**
 * Editing kubeconfig text without disturbing what the edit does not touch. Replacing a value
 * that exists splices the new scalar into the original text, so every other byte (comments,
 * key order, quoting, blank lines) stays as it was; adding entries goes through the `yaml`
 * Document API, which keeps comments and order and re-renders in the file's own layout.
 */
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  type Node,
  parseDocument,
  type Scalar,
  stringify,
  type YAMLMap,
  type YAMLSeq,
} from "yaml";
import { CliError } from "../errors.ts";

/** A step of a path: a map key, or the entry of a named list (`users`, `clusters`, ...). */
export type PathStep = string | { name: string };

/** One change to a kubeconfig. */
export type KubeconfigChange =
  /** Set a string at a path; missing maps on the way are created. */
  | { set: PathStep[]; value: string }
  /** Add or replace the entry `name` of a named list with `value` (`{ cluster: ... }`). */
  | { upsert: "clusters" | "users" | "contexts"; name: string; value: Record<string, unknown> };

/** Apply changes to kubeconfig text (`file` names it in errors); returns the new text. */
export function editKubeconfigText(
  text: string,
  changes: KubeconfigChange[],
  file: string,
): string {
  let out = text;
  for (const change of changes) {
    out = "set" in change
      ? setString(out, change.set, change.value, file)
      : upsert(out, change, file);
  }
  return out;
}

function parse(text: string, file: string): Document {
  const doc = parseDocument(text, { keepSourceTokens: true, uniqueKeys: false });
  if (doc.errors.length > 0) {
    throw new CliError(`Cannot edit kubeconfig "${file}": it is not valid YAML`, {
      detail: doc.errors[0].message,
    });
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new CliError(`Cannot edit kubeconfig "${file}": its top level is not a map`);
  }
  return doc;
}

function isJsonText(text: string): boolean {
  return text.trimStart().startsWith("{");
}

function setString(text: string, path: PathStep[], value: string, file: string): string {
  const doc = parse(text, file);
  const node = find(doc.contents as Node | null, path);
  if (node && isScalar(node) && node.range && typeof node.source === "string") {
    const [start, end] = node.range;
    return text.slice(0, start) + renderScalar(value, node.type) + text.slice(end);
  }
  if (isJsonText(text)) return setJson(text, path, value, file);
  doc.contents ??= doc.createNode({}) as unknown as typeof doc.contents;
  let parent = doc.contents as unknown as YAMLMap;
  for (let i = 0; i < path.length - 1; i++) {
    const next = path[i + 1];
    parent = step(doc, parent, path[i], next, file);
    if (typeof next !== "string") i++;
  }
  const last = path[path.length - 1];
  if (typeof last !== "string") throw new Error("a path ends with a key");
  parent.set(last, value);
  return render(doc, text);
}

/** The node at `path`, or undefined when some step is missing. */
function find(node: Node | null, path: PathStep[]): Node | undefined {
  let current: Node | null | undefined = node;
  for (const s of path) {
    if (typeof s === "string") {
      if (!isMap(current)) return undefined;
      current = current.get(s, true) as Node | undefined;
    } else {
      if (!isSeq(current)) return undefined;
      current = current.items.find((item) => isMap(item) && item.get("name") === s.name) as
        | Node
        | undefined;
    }
    if (current === undefined || current === null) return undefined;
  }
  return current ?? undefined;
}

function step(doc: Document, parent: YAMLMap, s: PathStep, next: PathStep, file: string): YAMLMap {
  if (typeof s !== "string") throw new Error("a named entry must follow a list key");
  let child = parent.get(s, true) as Node | undefined | null;
  if (typeof next !== "string") {
    // `s` is a named list and `next` picks its entry.
    if (child === undefined || child === null || (isScalar(child) && child.value === null)) {
      child = doc.createNode([]) as YAMLSeq;
      parent.set(s, child);
    }
    if (!isSeq(child)) throw new CliError(`Cannot edit kubeconfig "${file}": "${s}" is not a list`);
    let entry = child.items.find((item) => isMap(item) && item.get("name") === next.name) as
      | YAMLMap
      | undefined;
    if (!entry) {
      entry = doc.createNode({ name: next.name }) as YAMLMap;
      child.items.push(entry);
    }
    return entry;
  }
  if (child === undefined || child === null || (isScalar(child) && child.value === null)) {
    child = doc.createNode({}) as YAMLMap;
    parent.set(s, child);
  }
  if (!isMap(child)) throw new CliError(`Cannot edit kubeconfig "${file}": "${s}" is not a map`);
  return child;
}

function upsert(
  text: string,
  change: Extract<KubeconfigChange, { upsert: string }>,
  file: string,
): string {
  if (isJsonText(text)) {
    const obj = parseJson(text, file);
    const list = Array.isArray(obj[change.upsert]) ? obj[change.upsert] as unknown[] : [];
    const entry = { name: change.name, ...change.value };
    const index = list.findIndex((e) => (e as { name?: unknown })?.name === change.name);
    if (index >= 0) list[index] = entry;
    else list.push(entry);
    obj[change.upsert] = list;
    return renderJson(obj, text);
  }
  const doc = parse(text, file);
  const entryValue = { name: change.name, ...change.value };
  const existing = isMap(doc.contents) ? doc.contents.get(change.upsert, true) : undefined;
  if (isSeq(existing) && existing.flow !== true && existing.range && existing.items.length > 0) {
    return spliceEntry(text, existing, change.name, entryValue);
  }
  if (doc.contents === null) {
    doc.contents = doc.createNode({
      apiVersion: "v1",
      kind: "Config",
    }) as unknown as typeof doc.contents;
  }
  const top = doc.contents as unknown as YAMLMap;
  let list = top.get(change.upsert, true) as Node | undefined | null;
  if (list === undefined || list === null || (isScalar(list) && list.value === null)) {
    list = doc.createNode([]) as YAMLSeq;
    top.set(change.upsert, list);
  }
  if (!isSeq(list)) {
    throw new CliError(`Cannot edit kubeconfig "${file}": "${change.upsert}" is not a list`);
  }
  const entry = doc.createNode(entryValue) as YAMLMap;
  const index = list.items.findIndex((item) => isMap(item) && item.get("name") === change.name);
  if (index >= 0) list.items[index] = entry;
  else list.items.push(entry);
  return render(doc, text);
}

/**
 * Replace or append an entry of a block list as text: the rendered entry goes where the old one
 * was (or after the last one), indented like its neighbours; nothing else moves.
 */
function spliceEntry(
  text: string,
  seq: YAMLSeq,
  name: string,
  value: Record<string, unknown>,
): string {
  const lineStart = (offset: number) => text.lastIndexOf("\n", offset - 1) + 1;
  const first = seq.items[0] as Node;
  const contentColumn = first.range![0] - lineStart(first.range![0]);
  const dashColumn = seq.range![0] - lineStart(seq.range![0]);
  const lines = stringify(value, { indentSeq: false, lineWidth: 0, minContentWidth: 0 })
    .replace(/\n$/, "").split("\n");
  const body =
    lines.map((line, i) => (i === 0 || line === "" ? "" : " ".repeat(contentColumn)) + line)
      .join("\n") + "\n";
  const item = seq.items.find((i) => isMap(i) && i.get("name") === name) as Node | undefined;
  if (item?.range) return text.slice(0, item.range[0]) + body + text.slice(item.range[2]);
  const end = seq.range![2];
  const before = end > 0 && text[end - 1] !== "\n" ? "\n" : "";
  return text.slice(0, end) + before + " ".repeat(dashColumn) + "- " + body + text.slice(end);
}

function render(doc: Document, original: string): string {
  // kubectl writes list items at their key's indentation ("users:\n- name: ..."); keep whichever
  // layout the file uses. lineWidth 0: never fold long values (certificates, tokens).
  const indentSeq = original === "" ? false : !/^[^\s#-][^\n]*:[ \t]*\r?\n-[ \t]/m.test(original);
  return doc.toString({ indentSeq, lineWidth: 0, minContentWidth: 0 });
}

function renderScalar(value: string, type: Scalar["type"]): string {
  if (type === "QUOTE_SINGLE") return `'${value.replace(/'/g, "''")}'`;
  if (type === "PLAIN" && isPlainSafe(value)) return value;
  return JSON.stringify(value);
}

/** Characters a plain YAML scalar can hold without being read as something else. */
function isPlainSafe(value: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9._\/+=-]*$/.test(value) &&
    !/^(true|false|yes|no|on|off|null|y|n)$/i.test(value);
}

function setJson(text: string, path: PathStep[], value: string, file: string): string {
  const obj = parseJson(text, file);
  let parent: Record<string, unknown> = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const s = path[i];
    const next = path[i + 1];
    if (typeof s !== "string") throw new Error("a named entry must follow a list key");
    if (typeof next !== "string") {
      const list = Array.isArray(parent[s]) ? parent[s] as Record<string, unknown>[] : [];
      parent[s] = list;
      let entry = list.find((e) => e?.name === next.name);
      if (!entry) list.push(entry = { name: next.name });
      parent = entry;
      i++;
      continue;
    }
    const child = parent[s];
    if (typeof child !== "object" || child === null || Array.isArray(child)) parent[s] = {};
    parent = parent[s] as Record<string, unknown>;
  }
  parent[path[path.length - 1] as string] = value;
  return renderJson(obj, text);
}

function parseJson(text: string, file: string): Record<string, unknown> {
  try {
    const obj = JSON.parse(text);
    if (typeof obj === "object" && obj !== null && !Array.isArray(obj)) return obj;
  } catch { /* reported below */ }
  throw new CliError(`Cannot edit kubeconfig "${file}": it is not a valid JSON object`);
}

function renderJson(obj: unknown, original: string): string {
  const indent = /^\{\r?\n([ \t]+)"/.exec(original)?.[1] ?? (original.includes("\n") ? "  " : "");
  return JSON.stringify(obj, null, indent) + (original.endsWith("\n") ? "\n" : "");
}
