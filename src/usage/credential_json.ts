/**
 * A credential of a large `usage` report as `-o json` prints it. Its `requestsMade`, most of
 * what a report weighs, is written straight from the aggregate ({@link eachRequestMade}),
 * without the records that reading it builds; its source IPs, user agents and impersonated
 * users from their records without looking at each value's shape ({@link isSeenRecord}). None
 * of it goes through `JSON.stringify`'s indentation, which costs twice its output; the text is
 * exactly {@link toJsonAt}'s (tested against it).
 */
import { toJsonAt, toJsonString } from "../output/printers.ts";
import { eachFieldOfKey, eachRequestMade, isSeenRecord } from "./aggregate.ts";
import type { CredentialUsage, Seen } from "./model.ts";
import type { ObservedRequest } from "./request.ts";

/** {@link toJsonAt}`(credential, depth)`. */
export function credentialJsonAt(credential: CredentialUsage, depth: number): string {
  const member = newline(depth + 1);
  // The pieces of the whole record, joined once: a string grown by `+=` is a tree of pieces,
  // which writing it flattens at a cost of its own, piece by piece.
  const out: string[] = [];
  const record = credential as unknown as Record<string, unknown>;
  // In the order of the record's keys, as JSON.stringify goes through them.
  for (const key of Object.keys(credential)) {
    // The getter of `requestsMade` (see eachRequestMade()) is read only when the aggregate
    // cannot be.
    const json = key === "requestsMade"
      ? requestsMadeJson(credential, depth + 1) ?? valueJsonAt(credential.requestsMade, depth + 1)
      : valueJsonAt(record[key], depth + 1);
    // (JSON.stringify leaves out a member whose value it cannot print.)
    if (json !== undefined) out.push(out.length ? "," : "", member, toJsonString(key), ": ", json);
  }
  const indent = newline(depth).slice(1);
  if (out.length === 0) return `${indent}{}`;
  out[0] = `${indent}{`;
  out.push(newline(depth), "}");
  return out.join("");
}

/**
 * A member's value as {@link toJsonAt} prints it at `depth`, from its first character (the
 * member's key is before it on its line); undefined for one that JSON leaves out.
 */
function valueJsonAt(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case "string":
      return toJsonString(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (isSeenRecord(value)) return seenJsonAt(value, depth);
  return toJsonAt(value, depth).trimStart();
}

/** A record of counts and times by value ({@link isSeenRecord}) at `depth`. */
function seenJsonAt(record: Record<string, Seen>, depth: number): string {
  const entry = newline(depth + 1);
  const field = newline(depth + 2);
  const out: string[] = [];
  for (const key of Object.keys(record)) {
    const seen = record[key];
    out.push(
      `${out.length ? "," : "{"}${entry}${
        toJsonString(key)
      }: {${field}"count": ${seen.count},${field}"first": ${
        toJsonString(seen.first)
      },${field}"last": ${toJsonString(seen.last)}${entry}}`,
    );
  }
  if (out.length === 0) return "{}";
  out.push(newline(depth), "}");
  return out.join("");
}

/** Indentation: a newline and 4 spaces a level, by level. */
const NEWLINES: string[] = [];
function newline(depth: number): string {
  return NEWLINES[depth] ??= "\n" + " ".repeat(4 * depth);
}

/** The `requestsMade` value at `depth`; undefined when the aggregate cannot be read for it. */
function requestsMadeJson(credential: CredentialUsage, depth: number): string | undefined {
  const entry = newline(depth + 1);
  const field = newline(depth + 2);
  const requestField = newline(depth + 3);
  const end = newline(depth + 2) + "},";
  // The pieces of the whole value, joined once (see credentialJsonAt()).
  const out: string[] = [];
  let requestText = "";
  const addField = (name: string, json: string) => {
    requestText += `${requestText ? "," : ""}${requestField}${toJsonString(name)}: ${json}`;
  };
  const addString = (name: string, value: string) => addField(name, toJsonString(value));
  // A field of a key that needs no escape but its separators: the name and value as they are.
  const addPlain = (name: string, value: string) => {
    requestText += `${requestText ? "," : ""}${requestField}"${name}": "${value}"`;
  };
  const visited = eachRequestMade(
    credential,
    (key, request, count, first, last, denied) => {
      requestText = "";
      let keyJson: string;
      if (request !== undefined) {
        eachFieldOf(request, depth + 3, addField);
        keyJson = toJsonString(key);
      } else if (KEY_NEEDS_ESCAPE.test(key)) {
        eachFieldOfKey(key, addString);
        keyJson = toJsonString(key);
      } else {
        eachFieldOfKey(key, addPlain);
        // As JSON.stringify escapes them.
        keyJson = `"${key.replaceAll("\u0000", "\\u0000")}"`;
      }
      // Times as the tally writes them: digits and "-:.TZ", nothing to escape.
      out.push(
        `${out.length ? "," : "{"}${entry}${keyJson}: {${field}"request": ${
          requestText ? `{${requestText}${end}` : "{},"
        }${field}"count": ${count},${field}"first": "${first}",${field}"last": "${last}",${field}"denied": ${denied}${entry}}`,
      );
    },
  );
  if (!visited) return undefined;
  if (out.length === 0) return "{}";
  out.push(newline(depth), "}");
  return out.join("");
}

/** What JSON or Go escapes in a key, but its separators (see requestKeyOf()). */
// deno-lint-ignore no-control-regex
const KEY_NEEDS_ESCAPE = /["\\\x01-\x1f<>&\u2028\u2029\ud800-\udfff]/;

/** The fields of a kept request at `depth` as JSON prints them (an undefined one is left out). */
function eachFieldOf(
  request: ObservedRequest,
  depth: number,
  field: (name: string, json: string) => void,
): void {
  for (const [name, value] of Object.entries(request)) {
    if (typeof value === "string") field(name, toJsonString(value));
    // Not a string when a JSON.parse'd event had another type there: as toJsonAt prints it.
    else if (value !== undefined) field(name, toJsonAt(value, depth).trimStart());
  }
}
