/** PATCH bodies: JSON merge patch (RFC 7386) and JSON patch (RFC 6902). */
import { ApiError, badRequest, unsupportedMediaType } from "./_status.ts";
import { isObject } from "./_types.ts";

/** RFC 7386: objects merge key by key, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) {
    throw badRequest(`the server rejected our request due to an error in our request`);
  }
  return path.slice(1).split("/").map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function parentOf(doc: unknown, tokens: string[]): [unknown, string] {
  let node = doc;
  for (const token of tokens.slice(0, -1)) {
    node = Array.isArray(node) ? node[Number(token)] : isObject(node) ? node[token] : undefined;
    if (node === undefined) {
      throw badRequest(`doc is missing path: "/${tokens.join("/")}": missing value`);
    }
  }
  return [node, tokens[tokens.length - 1]];
}

/** RFC 6902 operations add, remove, replace and test (what kubectl and clients send). */
export function jsonPatch(doc: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw badRequest("json patch must be an array of operations");
  let out = structuredClone(doc);
  for (const op of operations) {
    if (!isObject(op) || typeof op.path !== "string") {
      throw badRequest("invalid json patch operation");
    }
    const tokens = pointer(op.path);
    if (tokens.length === 0) {
      if (op.op === "add" || op.op === "replace") out = structuredClone(op.value);
      continue;
    }
    const [parent, last] = parentOf(out, tokens);
    const missing = () => badRequest(`doc is missing path: "${op.path}": missing value`);
    switch (op.op) {
      case "add":
        if (Array.isArray(parent)) {
          parent.splice(last === "-" ? parent.length : Number(last), 0, structuredClone(op.value));
        } else if (isObject(parent)) parent[last] = structuredClone(op.value);
        else throw missing();
        break;
      case "replace":
        if (Array.isArray(parent) && Number(last) < parent.length) {
          parent[Number(last)] = structuredClone(op.value);
        } else if (isObject(parent) && last in parent) parent[last] = structuredClone(op.value);
        else throw missing();
        break;
      case "remove":
        if (Array.isArray(parent) && Number(last) < parent.length) parent.splice(Number(last), 1);
        else if (isObject(parent) && last in parent) delete parent[last];
        else throw missing();
        break;
      case "test": {
        const actual = Array.isArray(parent)
          ? parent[Number(last)]
          : isObject(parent)
          ? parent[last]
          : undefined;
        if (JSON.stringify(actual) !== JSON.stringify(op.value)) {
          throw new ApiError(
            422,
            "Invalid",
            `the server rejected our request due to an error in our request: testing value ${op.path} failed`,
          );
        }
        break;
      }
      default:
        throw badRequest(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return out;
}

/** Apply a PATCH body by its content type. Strategic merge is treated as a merge patch. */
export function applyPatch(doc: unknown, contentType: string, body: unknown): unknown {
  const type = contentType.split(";")[0].trim();
  switch (type) {
    case "application/merge-patch+json":
    // Strategic merge differs only for lists with merge keys, which these kinds rarely patch.
    case "application/strategic-merge-patch+json":
      return mergePatch(doc, body);
    case "application/json-patch+json":
      return jsonPatch(doc, body);
    default:
      throw unsupportedMediaType(contentType);
  }
}
