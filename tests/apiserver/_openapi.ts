/**
 * A skeleton of the OpenAPI v3 documents. kubectl create/apply -f download /openapi/v3 to learn
 * whether the server validates fields itself (a `fieldValidation` query parameter on the PATCH
 * operation of the kind); when it does, kubectl sends fieldValidation=Strict and skips
 * client-side schema validation. No schemas are served, so `kubectl explain` finds nothing.
 */
import { createHash } from "node:crypto";
import { type ApiVersions, RESOURCES } from "./_resources.ts";

function servedGroupVersions(
  versions: ApiVersions,
): { group: string; version: string; path: string }[] {
  const out: { group: string; version: string; path: string }[] = [];
  for (const r of RESOURCES) {
    if (!r.stored || !versions.enabled(r.group, r.version)) continue;
    const path = r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`;
    if (!out.some((g) => g.path === path)) out.push({ group: r.group, version: r.version, path });
  }
  return out;
}

/** The document for one group/version, keyed like "api/v1" or "apis/<group>/<version>". */
function groupVersionDocument(group: string, version: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const parameter = {
    name: "fieldValidation",
    in: "query",
    schema: { type: "string", uniqueItems: true },
  };
  for (const r of RESOURCES) {
    if (!r.stored || r.group !== group || r.version !== version) continue;
    const base = `/${r.group ? `apis/${r.group}` : "api"}/${r.version}`;
    const collection = r.namespaced
      ? `${base}/namespaces/{namespace}/${r.resource}`
      : `${base}/${r.resource}`;
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    const op = (action: string) => ({
      operationId: `${action}${r.kind}`,
      parameters: [parameter],
      responses: { "200": { description: "OK" } },
      "x-kubernetes-action": action,
      "x-kubernetes-group-version-kind": gvk,
    });
    paths[collection] = { post: op("post") };
    paths[`${collection}/{name}`] = { put: op("put"), patch: op("patch") };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.0" },
    paths,
    components: { schemas: {} },
  };
}

/** GET /openapi/v3 or /openapi/v3/<group-version path>; undefined when not served. */
export function openApiV3(
  versions: ApiVersions,
  subPath: string,
): Record<string, unknown> | undefined {
  const served = servedGroupVersions(versions);
  if (subPath === "") {
    const paths: Record<string, unknown> = {};
    for (const g of served) {
      const hash = createHash("sha512")
        .update(JSON.stringify(groupVersionDocument(g.group, g.version)))
        .digest("hex")
        .toUpperCase();
      paths[g.path] = { serverRelativeURL: `/openapi/v3/${g.path}?hash=${hash}` };
    }
    return { paths };
  }
  const found = served.find((g) => g.path === subPath);
  return found ? groupVersionDocument(found.group, found.version) : undefined;
}
