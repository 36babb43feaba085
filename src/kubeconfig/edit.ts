/**
 * Editing kubeconfig text without disturbing what the edit does not touch. Every edit is a
 * splice into the original text: a replaced value takes the place of the old scalar (keeping
 * its quoting style), an added key, list or entry is inserted as lines indented like its
 * neighbours (or as JSON inside a flow collection, which JSON files are), and every other byte
 * (comments, key order, quoting, blank lines, CRLF line ends) stays as it was. What cannot be
 * edited that way (aliases, merge keys, anchors other nodes refer to, duplicate keys) is refused
 * with a one-line reason rather than the whole file re-rendered.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  parseDocument,
  type Scalar,
  stringify,
  visit,
  type YAMLMap,
  type YAMLSeq,
} from "yaml";
import { CliError } from "../errors.ts";

/** A step of a path: a map key, or the entry of a named list (`users`, `clusters`, ...). */
export type PathStep = string | { name: string };

/** One change to a kubeconfig. */
export type KubeconfigChange =
  /** Set a string at a path; missing keys at its end are added. */
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
    const e = new Editor(out, file);
    out = "set" in change ? e.set(change.set, change.value) : e.upsert(change);
  }
  return out;
}

/** Where a value goes: into a map, in place of a null value, or into an empty document. */
type Slot =
  | { kind: "map"; map: YAMLMap }
  | { kind: "null"; map: YAMLMap; pair: Pair<unknown, unknown>; value: Scalar | null }
  | { kind: "document" };

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

class Editor {
  readonly text: string;
  readonly file: string;
  readonly eol: string;
  /** kubectl writes list items at their key's indentation; keep whichever layout the file has. */
  readonly indentSeq: boolean;
  readonly top: YAMLMap | null;
  /** Anchors that some alias refers to. */
  readonly referenced = new Set<string>();

  constructor(text: string, file: string) {
    this.text = text;
    this.file = file;
    this.eol = /\r\n/.test(text) ? "\r\n" : "\n";
    const list = /^([ \t]*)[^\s#-][^\n]*:[ \t]*\r?\n([ \t]*)-[ \t]/m.exec(text);
    this.indentSeq = list !== null && list[2].length > list[1].length;
    const doc = parseDocument(text, { keepSourceTokens: true, uniqueKeys: false });
    if (doc.errors.length > 0) {
      throw new CliError(`Cannot edit kubeconfig "${file}": it is not valid YAML`, {
        detail: doc.errors[0].message.split("\n")[0],
      });
    }
    if (doc.contents !== null && !isMap(doc.contents)) {
      this.fail("its top level is not a map");
    }
    this.top = doc.contents as YAMLMap | null;
    visit(doc, {
      Alias: (_, node) => {
        this.referenced.add(node.source);
      },
    });
  }

  fail(detail: string): never {
    throw new CliError(`Cannot edit kubeconfig "${this.file}": ${detail}`);
  }

  /** Set a string at `path`: splice over the old scalar, or add the missing keys. */
  set(path: PathStep[], value: string): string {
    if (this.top === null) return this.insert({ kind: "document" }, nest(path, value, this));
    let map: YAMLMap = this.top;
    let where = "";
    this.checkMap(map, where);
    for (let i = 0; i < path.length; i++) {
      const key = path[i];
      if (typeof key !== "string") throw new Error("a named entry must follow a list key");
      const pair = this.pairOf(map, key);
      const at = join(where, key);
      if (!pair) return this.insert({ kind: "map", map }, nest(path.slice(i), value, this));
      const node = pair.value as Node | null;
      this.checkNode(node, at);
      if (i === path.length - 1) {
        if (isScalar(node) && node.value !== null) return this.replaceScalar(node, value, at);
        if (node === null || (isScalar(node) && node.value === null)) {
          return this.replaceScalar(node as Scalar | null, value, at, pair);
        }
        return this.fail(`"${at}" is not a string`);
      }
      const next = path[i + 1];
      if (node === null || (isScalar(node) && node.value === null)) {
        const slot: Slot = { kind: "null", map, pair, value: node as Scalar | null };
        const rest = path.slice(i + 1);
        if (typeof next !== "string") {
          const entry = { name: next.name, ...nest(rest.slice(1), value, this) };
          return this.insert(slot, { [key]: [entry] });
        }
        return this.insert(slot, { [key]: nest(rest, value, this) });
      }
      if (typeof next !== "string") {
        if (!isSeq(node)) return this.fail(`"${at}" is not a list`);
        const found = this.entry(node, next.name, at);
        if (!found) return this.fail(`"${at}" has no entry named "${next.name}"`);
        map = found.map;
        where = `${at}[${found.index}]`;
        this.checkNode(map, where);
        this.checkMap(map, where);
        i++;
        continue;
      }
      if (!isMap(node)) return this.fail(`"${at}" is not a map`);
      map = node;
      where = at;
      this.checkMap(map, where);
    }
    throw new Error("unreachable: an empty path");
  }

  /** Add or replace the entry `name` of a top-level named list. */
  upsert(change: Extract<KubeconfigChange, { upsert: string }>): string {
    const list = change.upsert;
    const entry = { name: change.name, ...change.value } as Json;
    if (this.top === null) {
      return this.insert({ kind: "document" }, {
        apiVersion: "v1",
        kind: "Config",
        [list]: [entry],
      });
    }
    this.checkMap(this.top, "");
    const pair = this.pairOf(this.top, list);
    if (!pair) return this.insert({ kind: "map", map: this.top }, { [list]: [entry] });
    const node = pair.value as Node | null;
    this.checkNode(node, list);
    if (node === null || (isScalar(node) && node.value === null)) {
      return this.insert({ kind: "null", map: this.top, pair, value: node as Scalar | null }, {
        [list]: [entry],
      });
    }
    if (!isSeq(node)) return this.fail(`"${list}" is not a list`);
    if (node.items.length === 0 && this.top.flow !== true) {
      // `users: []`: becomes a block list, like the rest of a block file.
      return this.insert({ kind: "null", map: this.top, pair, value: null }, {
        [list]: [entry],
      }, node.range![1]);
    }
    const found = this.entry(node, change.name, list);
    if (found) this.checkReplaceable(found.map, `${list}[${found.index}]`);
    if (node.flow === true) {
      const json = JSON.stringify(entry);
      if (found) {
        const [start, end] = (found.map as Node).range!;
        return this.splice(start, end, json);
      }
      if (node.items.length === 0) {
        const close = node.range![1] - 1;
        return this.splice(close, close, json);
      }
      const last = node.items[node.items.length - 1] as Node;
      return this.splice(last.range![1], last.range![1], `, ${json}`);
    }
    const first = node.items[0] as Node;
    const contentColumn = this.column(first.range![0]);
    const body = this.block(entry, contentColumn).slice(contentColumn);
    if (found) {
      const range = (found.map as Node).range!;
      return this.splice(range[0], this.lineAfter(range[2]), body);
    }
    const at = this.lineAfter(node.range![2]);
    const prefix = at > 0 && this.text[at - 1] !== "\n" ? this.eol : "";
    return this.splice(at, at, prefix + " ".repeat(this.column(node.range![0])) + "- " + body);
  }

  /** Put `value` (a map of one or more keys) where `slot` says, as lines or as flow JSON. */
  insert(slot: Slot, value: Record<string, Json>, removeTo?: number): string {
    if (slot.kind === "document") {
      const at = this.text.length;
      const prefix = at > 0 && !this.text.endsWith("\n") ? this.eol : "";
      return this.splice(at, at, prefix + this.block(value, 0));
    }
    if (slot.kind === "map") {
      const map = slot.map;
      if (map.flow === true) {
        const pairs = flowPairs(value);
        if (map.items.length === 0) {
          const close = map.range![1] - 1;
          return this.splice(close, close, pairs);
        }
        const last = map.items[map.items.length - 1];
        const end = ((last.value ?? last.key) as Node).range![1];
        return this.splice(end, end, `, ${pairs}`);
      }
      const column = this.column((map.items[0].key as Node).range![0]);
      const last = map.items[map.items.length - 1];
      const end = ((last.value ?? last.key) as Node).range![2];
      const at = this.lineAfter(end);
      const prefix = at > 0 && this.text[at - 1] !== "\n" ? this.eol : "";
      return this.splice(at, at, prefix + this.block(value, column));
    }
    // A null value (`users: null`, `users: ~`, `users:`, `users: []`) replaced by the new one.
    const [key] = Object.keys(value);
    const keyNode = slot.pair.key as Node;
    if (slot.map.flow === true) {
      const v = slot.value;
      if (!v?.range || v.range[0] === v.range[1]) {
        return this.fail(`"${key}" has an empty value in a flow mapping`);
      }
      return this.splice(v.range[0], v.range[1], JSON.stringify(value[key]));
    }
    const column = this.column(keyNode.range![0]);
    const lines = this.block(value, column);
    const below = lines.slice(lines.indexOf("\n") + 1);
    const colon = this.text.indexOf(":", keyNode.range![1]);
    const valueEnd = removeTo ?? (slot.value?.source ? slot.value.range![1] : colon + 1);
    const at = this.lineAfter(valueEnd);
    const prefix = at > 0 && this.text[at - 1] !== "\n" ? this.eol : "";
    const head = this.text.slice(0, colon + 1) + this.text.slice(valueEnd, at);
    return head + prefix + below + this.text.slice(at);
  }

  replaceScalar(
    node: Scalar | null,
    value: string,
    at: string,
    pair?: Pair<unknown, unknown>,
  ): string {
    if (node?.anchor && this.referenced.has(node.anchor)) {
      this.fail(`"${at}" carries the YAML anchor "&${node.anchor}" that aliases refer to`);
    }
    const range = node?.range;
    if (!node || !range || range[0] === range[1]) {
      // `token:` with nothing after it: the value goes after the colon.
      const keyEnd = (pair!.key as Node).range![1];
      const colon = this.text.indexOf(":", keyEnd);
      return this.splice(colon + 1, colon + 1, ` ${renderScalar(value, "PLAIN")}`);
    }
    const [start, end] = range;
    if (node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED") {
      return this.replaceBlockScalar(start, end, value, at);
    }
    return this.splice(start, end, renderScalar(value, node.type));
  }

  /**
   * A `|-` or `>-` scalar keeps its header and indentation, and only its content lines change;
   * the lines after it stay where they are.
   */
  replaceBlockScalar(start: number, end: number, value: string, at: string): string {
    const headerEnd = this.text.indexOf("\n", start);
    const header = this.text.slice(start, headerEnd).replace(/\r$/, "");
    const indicators = /^[|>]([-+1-9]*)/.exec(header)?.[1] ?? "";
    if (!indicators.includes("-")) {
      this.fail(`"${at}" is a block scalar ("${header[0]}") that keeps a final line break`);
    }
    if (/[\r\n]/.test(value) || /^\s/.test(value)) {
      this.fail(`"${at}" is a block scalar and the new value does not fit on one line`);
    }
    const content = this.text.slice(headerEnd + 1, end);
    const indent = /^([ ]*)\S/m.exec(content)?.[1];
    if (indent === undefined) this.fail(`"${at}" is an empty block scalar`);
    // Only the content lines change; blank lines after them belong to the layout.
    let cut = 0;
    for (const m of content.matchAll(/[^\n]*\n?/g)) {
      if (m[0] === "") break;
      if (/\S/.test(m[0])) cut = m.index + m[0].length;
    }
    const eol = content.slice(0, cut).endsWith("\n") ? this.eol : "";
    return this.splice(headerEnd + 1, headerEnd + 1 + cut, `${indent}${value}${eol}`);
  }

  /** The entry of `seq` whose name is `name`; refuses duplicate names and name keys. */
  entry(seq: YAMLSeq, name: string, at: string): { map: YAMLMap; index: number } | undefined {
    let found: { map: YAMLMap; index: number } | undefined;
    for (const [index, item] of seq.items.entries()) {
      if (!isMap(item)) continue;
      const names = item.items.filter((p) => keyOf(p) === "name");
      if (names.length > 1) {
        this.fail(
          `duplicate key "name" in ${at}[${index}] at line ${this.line(names[1].key as Node)}`,
        );
      }
      const value = names[0]?.value;
      if (!isScalar(value) || String(value.value) !== name) continue;
      if (found) {
        this.fail(`duplicate name "${name}" in "${at}" at line ${this.line(item)}`);
      }
      found = { map: item, index };
    }
    return found;
  }

  /** Refuse maps whose keys a YAML reader could resolve differently from what we edit. */
  checkMap(map: YAMLMap, where: string): void {
    const seen = new Set<string>();
    for (const pair of map.items) {
      const key = keyOf(pair);
      if (key === "<<") {
        this.fail(`${where ? `"${where}"` : "the top level"} uses a YAML merge key ("<<")`);
      }
      if (seen.has(key)) {
        this.fail(
          `duplicate key "${key}"${where ? ` in ${where}` : ""} at line ${
            this.line(pair.key as Node)
          }`,
        );
      }
      seen.add(key);
    }
  }

  /** Refuse aliases on the path, and anchored nodes others refer to (an edit would change them too). */
  checkNode(node: Node | null, at: string): void {
    if (isAlias(node)) this.fail(`"${at}" is a YAML alias ("*${node.source}")`);
    if (node && "anchor" in node && node.anchor && this.referenced.has(node.anchor)) {
      this.fail(`"${at}" carries the YAML anchor "&${node.anchor}" that aliases refer to`);
    }
  }

  /** An entry replaced as a whole must hold no anchor that an alias elsewhere refers to. */
  checkReplaceable(node: Node, at: string): void {
    visit(node, (_, n) => {
      const anchor = (n as { anchor?: string }).anchor;
      if (anchor && this.referenced.has(anchor)) {
        this.fail(`"${at}" holds the YAML anchor "&${anchor}" that aliases refer to`);
      }
    });
  }

  pairOf(map: YAMLMap, key: string): Pair<unknown, unknown> | undefined {
    return map.items.find((p) => keyOf(p) === key);
  }

  /** `value` as block YAML lines, each indented by `column`, with the file's line ends. */
  block(value: Json, column: number): string {
    // YAML 1.1 quoting (kubectl reads 1.1: `yes` is a boolean); lineWidth 0: never fold.
    const lines = stringify(value, {
      version: "1.1",
      indentSeq: this.indentSeq,
      lineWidth: 0,
      minContentWidth: 0,
    }).replace(/\n$/, "").split("\n");
    return lines.map((l) => (l === "" ? "" : " ".repeat(column) + l)).join(this.eol) + this.eol;
  }

  column(offset: number): number {
    return offset - (this.text.lastIndexOf("\n", offset - 1) + 1);
  }

  line(node: Node): number {
    const offset = node.range?.[0] ?? 0;
    let n = 1;
    for (
      let i = this.text.indexOf("\n");
      i !== -1 && i < offset;
      i = this.text.indexOf("\n", i + 1)
    ) {
      n++;
    }
    return n;
  }

  /** The start of the line after `offset`, or `offset` itself when a line starts there. */
  lineAfter(offset: number): number {
    if (offset === 0 || this.text[offset - 1] === "\n") return offset;
    const nl = this.text.indexOf("\n", offset);
    return nl === -1 ? this.text.length : nl + 1;
  }

  splice(start: number, end: number, insert: string): string {
    return this.text.slice(0, start) + insert + this.text.slice(end);
  }
}

function keyOf(pair: Pair<unknown, unknown>): string {
  const key = pair.key;
  return isScalar(key) ? String(key.value) : String(key);
}

function join(where: string, key: string): string {
  return where ? `${where}.${key}` : key;
}

/** `{a: {b: value}}` for the path `[a, b]`. */
function nest(path: PathStep[], value: string, e: Editor): Record<string, Json> {
  let out: Json = value;
  for (let i = path.length - 1; i >= 0; i--) {
    const s = path[i];
    if (typeof s !== "string") e.fail(`a list entry named "${s.name}" would have to be created`);
    out = { [s]: out };
  }
  return out as Record<string, Json>;
}

function flowPairs(value: Record<string, Json>): string {
  return Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`)
    .join(", ");
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
