/** Printers for `-o json`, `-o yaml` and tables, shaped like kubectl's own output. */

import { UsageError } from "../errors.ts";
import { emitYaml } from "./_yaml_emitter.ts";
import { escapeControls } from "./redact.ts";

/**
 * Formats a value like kubectl's `-o json`: Go's `json.MarshalIndent` with four spaces, HTML
 * characters escaped as `\u003c`, and a trailing newline.
 */
export function toJson(value: unknown): string {
  return goEscaped(JSON.stringify(value, null, 4) ?? "null") + "\n";
}

/**
 * {@link toJson} of a value that sits `depth` levels deep in a document, as that document's
 * `toJson` prints it: each line indented by 4 spaces a level, no newline at the end. One pass,
 * for the items of a large document printed one at a time.
 */
export function toJsonAt(value: unknown, depth: number): string {
  let nested: unknown = value ?? null;
  for (let i = 0; i < depth; i++) nested = [nested];
  const text = JSON.stringify(nested, null, 4);
  // The value's lines, without the `depth` lines of brackets before and after them.
  let from = 0;
  let to = text.length;
  for (let i = 0; i < depth; i++) {
    from = text.indexOf("\n", from) + 1;
    to = text.lastIndexOf("\n", to - 1);
  }
  return goEscaped(text.slice(from, to));
}

/**
 * A string as {@link toJson} prints it (quoted, JSON escapes and Go's HTML escapes): the
 * characters themselves when none needs an escape, which is the common case and cheaper.
 */
export function toJsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? goEscaped(JSON.stringify(s)) : `"${s}"`;
}

/** What JSON or Go escapes in a string (surrogates: JSON.stringify escapes the lone ones). */
// deno-lint-ignore no-control-regex
const NEEDS_ESCAPE = /["\\\x00-\x1f<>&\u2028\u2029\ud800-\udfff]/;

/** Go's HTML escapes; these characters only ever occur inside JSON strings, so replacing them is safe. */
function goEscaped(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (ch) => GO_JSON_ESCAPES[ch]);
}

const GO_JSON_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/**
 * Formats a value like kubectl's `-o yaml` (JSON re-encoded by go-yaml): two-space indent,
 * sequences not indented under their key, YAML 1.1 look-alikes such as "yes" or "1.0" quoted,
 * keys in the order given, and a trailing newline.
 */
export function toYaml(value: unknown): string {
  // kubectl goes through JSON first; doing the same drops undefined and applies toJSON().
  const text = JSON.stringify(value);
  return emitYaml(text === undefined ? null : JSON.parse(text));
}

/**
 * Lays out rows like kubectl's tables (Go's tabwriter with a minimum cell width of 6 and 3
 * spaces of padding): upper-case headers, aligned columns, no trailing spaces.
 */
export function renderTable(headers: string[], rows: string[][]): string {
  // Cells hold server data (names, user info): control characters are shown escaped.
  const lines = [
    headers.map((h) => h.toUpperCase()),
    ...rows.map((row) => row.map(escapeControls)),
  ];
  const columns = Math.max(...lines.map((line) => line.length));
  if (columns === 0) return "";
  const widths: number[] = [];
  for (let c = 0; c < columns - 1; c++) {
    const widest = Math.max(...lines.map((line) => textWidth(line[c] ?? "")));
    widths.push(Math.max(widest + TABLE_PADDING, TABLE_MIN_WIDTH));
  }
  return lines.map((line) => {
    const cells = line.map((cell, c) =>
      c < columns - 1 ? cell + " ".repeat(widths[c] - textWidth(cell)) : cell
    );
    return cells.join("").trimEnd() + "\n";
  }).join("");
}

const TABLE_MIN_WIDTH = 6;
const TABLE_PADDING = 3;

function textWidth(text: string): number {
  return [...text].length;
}

/**
 * Checks an `-o/--output` value against the formats a command supports; an absent or empty
 * value gives `fallback`. Throws a UsageError listing the allowed formats.
 */
export function parseOutputFlag(
  value: string | undefined,
  allowed: readonly string[],
  fallback: string,
): string {
  if (value === undefined || value === "") return fallback;
  if (allowed.includes(value)) return value;
  throw new UsageError(
    `Invalid value "${value}" for flag -o/--output: allowed formats are ${allowed.join(", ")}`,
  );
}
