/**
 * A credential of a large `usage` report as `-o json` prints it. Its `requestsMade`, most of
 * what a report weighs, is written straight from the aggregate ({@link eachRequestMade}),
 * without the records that reading it builds, and without `JSON.stringify`'s indentation,
 * which costs twice its output; the text is exactly {@link toJsonAt}'s (tested against it).
 */
import { toJsonAt, toJsonString } from "../output/printers.ts";
import { eachFieldOfKey, eachRequestMade } from "./aggregate.ts";
import type { CredentialUsage } from "./model.ts";
import type { ObservedRequest } from "./request.ts";

/** Where `requestsMade` goes in the rest of the record (a string no value can be). */
const MARK = "\u0000requestsMade\u0000";
const MARK_JSON = JSON.stringify(MARK);

/** {@link toJsonAt}`(credential, depth)`. */
export function credentialJsonAt(credential: CredentialUsage, depth: number): string {
  // The record without its requests (the getter is not read), then the requests in its place.
  const rest: Record<string, unknown> = {};
  for (const key of Object.keys(credential)) {
    rest[key] = key === "requestsMade" ? MARK : credential[key as keyof CredentialUsage];
  }
  const text = toJsonAt(rest, depth);
  // The record's own key, on its line: a value that is the mark (a user named so) sits after
  // another key, and a nested "requestsMade" key deeper.
  const line = `${newline(depth + 1)}"requestsMade": ${MARK_JSON}`;
  const at = text.indexOf(line);
  if (at === -1) return toJsonAt(credential, depth);
  const made = requestsMadeJson(credential, depth + 1);
  if (made === undefined) return toJsonAt(credential, depth);
  const value = at + line.length - MARK_JSON.length;
  return text.slice(0, value) + made + text.slice(at + line.length);
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
  // Pieces joined once: a string grown by `+=` is a tree of pieces, which writing it flattens
  // at a cost of its own, piece by piece.
  const out: string[] = [];
  let requestText = "";
  const addField = (name: string, value: string) => {
    requestText += `${requestText ? "," : ""}${requestField}${toJsonString(name)}: ${value}`;
  };
  const addString = (name: string, value: string) => addField(name, toJsonString(value));
  const visited = eachRequestMade(
    credential,
    (key, request, count, first, last, denied) => {
      requestText = "";
      if (request === undefined) eachFieldOfKey(key, addString);
      else eachFieldOf(request, depth + 3, addField);
      out.push(
        `${out.length ? "," : ""}${entry}${toJsonString(key)}: {${field}"request": ${
          requestText ? `{${requestText}${end}` : "{},"
        }${field}"count": ${count},${field}"first": ${toJsonString(first)},${field}"last": ${
          toJsonString(last)
        },${field}"denied": ${denied}${newline(depth + 1)}}`,
      );
    },
  );
  if (!visited) return undefined;
  return out.length ? `{${out.join("")}${newline(depth)}}` : "{}";
}

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
