/**
 * The request an audit event records, in the terms RBAC authorizes: verb, API group, resource
 * and subresource, namespace and name, or a non-resource URL. `usage` counts these per
 * credential, and `scope --from-audit` derives least-privilege rules from them.
 */
import type { AuditEvent } from "./event.ts";

/** One authorizable request (authorizer.Attributes, as far as an audit event records it). */
export interface ObservedRequest {
  /** Kubernetes verb (get, list, watch, create, update, patch, delete, deletecollection, impersonate, ...), or the lower-case HTTP method of a non-resource request. */
  verb: string;
  /** The API group, "" for the core group; absent for a non-resource request. */
  apiGroup?: string;
  /** The resource, e.g. "pods"; absent for a non-resource request. */
  resource?: string;
  subresource?: string;
  /** Absent for cluster-scoped resources and for requests across all namespaces. */
  namespace?: string;
  name?: string;
  /** The path of a non-resource request, e.g. "/version", "/healthz". */
  nonResourceURL?: string;
}

/** The request an event records; undefined when the event names no verb. */
export function observedRequestOf(event: AuditEvent): ObservedRequest | undefined {
  const verb = event.verb;
  if (typeof verb !== "string" || verb === "") return undefined;
  const ref = event.objectRef;
  if (ref && typeof ref.resource === "string" && ref.resource !== "") {
    const request: ObservedRequest = { verb, apiGroup: ref.apiGroup ?? "", resource: ref.resource };
    if (ref.subresource) request.subresource = ref.subresource;
    if (ref.namespace) request.namespace = ref.namespace;
    if (ref.name) request.name = ref.name;
    return request;
  }
  const uri = event.requestURI;
  if (typeof uri !== "string" || !uri.startsWith("/")) return undefined;
  const q = uri.indexOf("?");
  return { verb, nonResourceURL: q === -1 ? uri : uri.slice(0, q) };
}

/** A stable key for counting equal requests. */
export function requestKey(r: ObservedRequest): string {
  return r.nonResourceURL !== undefined ? `${r.verb} ${r.nonResourceURL}` : [
    r.verb,
    r.apiGroup ?? "",
    r.resource ?? "",
    r.subresource ?? "",
    r.namespace ?? "",
    r.name ?? "",
  ]
    .join("\u0000");
}
