/**
 * Impersonation as kube-apiserver does it (k8s.io/apiserver/pkg/endpoints/filters/
 * impersonation.go): the `Impersonate-User`, `-Group`, `-Uid` and `-Extra-<key>` headers, each
 * authorized with the verb "impersonate" for the acting user, then the request runs as the
 * impersonated user. A service-account username gets its fixed groups when no group is asked
 * for, and every user but anonymous gets system:authenticated.
 */
import type { Attributes, RbacAuthorizer } from "./_rbac.ts";
import { forbiddenMessage } from "./_rbac.ts";
import { ApiError, forbidden } from "./_status.ts";
import type { UserInfo } from "./_types.ts";

/** The impersonation headers of one request. */
export interface ImpersonationHeaders {
  user?: string;
  groups: string[];
  uid?: string;
  extra: Record<string, string[]>;
}

/** Read the headers from Node's raw header list (repeated headers stay apart). */
export function impersonationHeaders(raw: string[]): ImpersonationHeaders | undefined {
  const h: ImpersonationHeaders = { groups: [], extra: {} };
  let any = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const value = raw[i + 1];
    if (!name.startsWith("impersonate-")) continue;
    any = true;
    if (name === "impersonate-user") h.user = value;
    else if (name === "impersonate-group") h.groups.push(value);
    else if (name === "impersonate-uid") h.uid = value;
    else if (name.startsWith("impersonate-extra-")) {
      const key = decodeURIComponent(name.slice("impersonate-extra-".length));
      (h.extra[key] ??= []).push(value);
    }
  }
  return any ? h : undefined;
}

const SA_PREFIX = "system:serviceaccount:";

/** The user a request runs as after impersonation, or an ApiError (403, or 500 as upstream). */
export function impersonate(
  acting: UserInfo,
  h: ImpersonationHeaders,
  rbac: RbacAuthorizer,
): UserInfo {
  if (h.user === undefined) {
    // Upstream answers this with an internal error.
    throw new ApiError(
      500,
      "InternalError",
      "Internal error occurred: requested impersonation of groups, uid or extra without " +
        "impersonating a user",
    );
  }
  const check = (a: Omit<Attributes, "user" | "verb" | "resourceRequest" | "path">) => {
    const attrs: Attributes = {
      user: acting,
      verb: "impersonate",
      resourceRequest: true,
      path: "",
      ...a,
    };
    if (!rbac.authorize(attrs).allowed) {
      throw forbidden(a.apiGroup, a.resource, a.name, forbiddenMessage(attrs));
    }
  };
  const core = { apiGroup: "", apiVersion: "v1", subresource: "" };
  let groups = [...h.groups];
  const sa = h.user.startsWith(SA_PREFIX) ? h.user.slice(SA_PREFIX.length).split(":") : [];
  if (sa.length === 2 && sa[0] && sa[1]) {
    check({ ...core, namespace: sa[0], resource: "serviceaccounts", name: sa[1] });
    if (h.groups.length === 0) {
      groups = ["system:serviceaccounts", `system:serviceaccounts:${sa[0]}`];
    }
  } else {
    check({ ...core, namespace: "", resource: "users", name: h.user });
  }
  for (const group of h.groups) check({ ...core, namespace: "", resource: "groups", name: group });
  const auth = { apiGroup: "authentication.k8s.io", apiVersion: "v1", namespace: "" };
  for (const [key, values] of Object.entries(h.extra)) {
    for (const value of values) {
      check({ ...auth, resource: "userextras", subresource: key, name: value });
    }
  }
  if (h.uid !== undefined) check({ ...auth, resource: "uids", subresource: "", name: h.uid });
  if (h.user === "system:anonymous") {
    if (!groups.includes("system:unauthenticated")) groups.push("system:unauthenticated");
  } else if (!groups.includes("system:authenticated")) {
    groups.push("system:authenticated");
  }
  const user: UserInfo = { username: h.user, groups };
  if (h.uid !== undefined) user.uid = h.uid;
  if (Object.keys(h.extra).length > 0) user.extra = h.extra;
  return user;
}
