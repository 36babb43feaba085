/** Path parsing into request attributes, after apiserver's RequestInfoFactory. */

/** What a request is about; non-resource requests only have path and verb. */
export interface RequestInfo {
  resourceRequest: boolean;
  path: string;
  verb: string;
  apiPrefix: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

// Subresources of a namespace that are not resources in their own right.
const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

/** Parse a request the way kube-apiserver does before authorizing it. */
export function parseRequestInfo(
  method: string,
  path: string,
  query: URLSearchParams,
): RequestInfo {
  const info: RequestInfo = {
    resourceRequest: false,
    path,
    verb: method.toLowerCase(),
    apiPrefix: "",
    apiGroup: "",
    apiVersion: "",
    namespace: "",
    resource: "",
    subresource: "",
    name: "",
  };
  let parts = path.replace(/^\/+|\/+$/g, "").split("/").filter((p) => p !== "");
  const prefix = parts[0];
  if (prefix !== "api" && prefix !== "apis") return info;
  info.apiPrefix = prefix;
  parts = parts.slice(1);
  if (prefix === "apis") {
    if (parts.length < 1) return info;
    info.apiGroup = parts[0];
    parts = parts.slice(1);
  }
  if (parts.length < 1) return info;
  info.apiVersion = parts[0];
  parts = parts.slice(1);
  if (parts.length < 1) return info;

  info.resourceRequest = true;
  if (parts[0] === "namespaces" && parts.length > 1) {
    info.namespace = parts[1];
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2])) parts = parts.slice(2);
  }
  info.resource = parts[0] ?? "";
  info.name = parts[1] ?? "";
  info.subresource = parts[2] ?? "";

  switch (method) {
    case "POST":
      info.verb = "create";
      break;
    case "GET":
    case "HEAD": {
      const watch = query.get("watch");
      info.verb = watch === "true" || watch === "1" ? "watch" : info.name ? "get" : "list";
      break;
    }
    case "PUT":
      info.verb = "update";
      break;
    case "PATCH":
      info.verb = "patch";
      break;
    case "DELETE":
      info.verb = info.name ? "delete" : "deletecollection";
      break;
  }
  // A list or watch narrowed to one name by fieldSelector is authorized as that name.
  if ((info.verb === "list" || info.verb === "watch") && !info.name) {
    const m = /(?:^|,)metadata\.name==?([^,]+)/.exec(query.get("fieldSelector") ?? "");
    if (m) info.name = m[1];
  }
  return info;
}
