/**
 * The resources this server serves and the discovery documents that describe them (the plain
 * APIVersions / APIGroupList / APIResourceList forms; kubectl falls back to them when a server
 * answers its aggregated-discovery Accept header with application/json).
 */

/** One served resource or subresource. */
export interface ResourceInfo {
  group: string;
  version: string;
  /** Plural name, or "parent/sub" for a subresource. */
  resource: string;
  kind: string;
  singular: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  /** Objects of this resource live in the store (CRUD); otherwise it is a create-only review. */
  stored: boolean;
  /** For a subresource served from another group's types (serviceaccounts/token). */
  subresourceGroupVersion?: { group: string; version: string };
}

const CRUD = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/** Every resource the server knows, in discovery order. */
export const RESOURCES: ResourceInfo[] = [
  {
    group: "",
    version: "v1",
    resource: "namespaces",
    kind: "Namespace",
    singular: "namespace",
    namespaced: false,
    verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
    shortNames: ["ns"],
    stored: true,
  },
  {
    group: "",
    version: "v1",
    resource: "nodes",
    kind: "Node",
    singular: "node",
    namespaced: false,
    verbs: CRUD,
    shortNames: ["no"],
    stored: true,
  },
  {
    group: "",
    version: "v1",
    resource: "pods",
    kind: "Pod",
    singular: "pod",
    namespaced: true,
    verbs: CRUD,
    shortNames: ["po"],
    categories: ["all"],
    stored: true,
  },
  {
    group: "",
    version: "v1",
    resource: "secrets",
    kind: "Secret",
    singular: "secret",
    namespaced: true,
    verbs: CRUD,
    stored: true,
  },
  {
    group: "",
    version: "v1",
    resource: "serviceaccounts",
    kind: "ServiceAccount",
    singular: "serviceaccount",
    namespaced: true,
    verbs: CRUD,
    shortNames: ["sa"],
    stored: true,
  },
  {
    group: "",
    version: "v1",
    resource: "serviceaccounts/token",
    kind: "TokenRequest",
    singular: "",
    namespaced: true,
    verbs: ["create"],
    stored: false,
    subresourceGroupVersion: { group: "authentication.k8s.io", version: "v1" },
  },
  // Stored only: no controller turns a Deployment into ReplicaSets or a ReplicaSet into Pods
  // (tests create the Pods, with their ownerReferences, themselves).
  ...[
    ["deployments", "Deployment", ["deploy"]],
    ["replicasets", "ReplicaSet", ["rs"]],
  ].map(([resource, kind, shortNames]) => ({
    group: "apps",
    version: "v1",
    resource: resource as string,
    kind: kind as string,
    singular: (kind as string).toLowerCase(),
    namespaced: true,
    verbs: CRUD,
    shortNames: shortNames as string[],
    categories: ["all"],
    stored: true,
  })),
  ...["v1", "v1beta1", "v1alpha1"].map((version) => ({
    group: "authentication.k8s.io",
    version,
    resource: "selfsubjectreviews",
    kind: "SelfSubjectReview",
    singular: "selfsubjectreview",
    namespaced: false,
    verbs: ["create"],
    stored: false,
  })),
  {
    group: "authentication.k8s.io",
    version: "v1",
    resource: "tokenreviews",
    kind: "TokenReview",
    singular: "tokenreview",
    namespaced: false,
    verbs: ["create"],
    stored: false,
  },
  {
    group: "authorization.k8s.io",
    version: "v1",
    resource: "selfsubjectaccessreviews",
    kind: "SelfSubjectAccessReview",
    singular: "selfsubjectaccessreview",
    namespaced: false,
    verbs: ["create"],
    stored: false,
  },
  {
    group: "authorization.k8s.io",
    version: "v1",
    resource: "selfsubjectrulesreviews",
    kind: "SelfSubjectRulesReview",
    singular: "selfsubjectrulesreview",
    namespaced: false,
    verbs: ["create"],
    stored: false,
  },
  ...[
    ["clusterrolebindings", "ClusterRoleBinding", false],
    ["clusterroles", "ClusterRole", false],
    ["rolebindings", "RoleBinding", true],
    ["roles", "Role", true],
  ].map(([resource, kind, namespaced]) => ({
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: resource as string,
    kind: kind as string,
    singular: (kind as string).toLowerCase(),
    namespaced: namespaced as boolean,
    verbs: CRUD,
    stored: true,
  })),
];

/** "v1" or "group/version". */
export function groupVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** Split an apiVersion into group and version. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf("/");
  return i < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/**
 * Which group/versions (or single resources, as "group/version/resource") are switched off;
 * shared by routing and discovery.
 */
export class ApiVersions {
  #disabled = new Set<string>();

  /** Replace the set of disabled group/versions and group/version/resources. */
  setDisabled(versions: string[]): void {
    this.#disabled = new Set(versions);
  }

  /** Whether a group/version is served. The core v1 API cannot be switched off. */
  enabled(group: string, version: string): boolean {
    return group === "" || !this.#disabled.has(groupVersion(group, version));
  }

  /** Whether one resource is served: its group/version is, and it is not switched off itself. */
  #served(r: ResourceInfo): boolean {
    if (!this.enabled(r.group, r.version)) return false;
    const top = r.resource.split("/")[0];
    return r.group === "" || !this.#disabled.has(`${groupVersion(r.group, r.version)}/${top}`);
  }

  /** The resource served at group/version/resource (resource may be "parent/sub"). */
  find(group: string, version: string, resource: string): ResourceInfo | undefined {
    const r = RESOURCES.find((r) =>
      r.group === group && r.version === version && r.resource === resource
    );
    return r && this.#served(r) ? r : undefined;
  }

  /** The stored resource for an apiVersion and kind, ignoring switches (for the store API). */
  forKind(apiVersion: string, kind: string): ResourceInfo | undefined {
    const { group, version } = splitApiVersion(apiVersion);
    return RESOURCES.find((r) =>
      r.stored && r.group === group && r.version === version && r.kind === kind
    );
  }

  #groups(): { name: string; versions: string[] }[] {
    const out: { name: string; versions: string[] }[] = [];
    for (const r of RESOURCES) {
      if (!r.group || !this.#served(r)) continue;
      let g = out.find((x) => x.name === r.group);
      if (!g) out.push(g = { name: r.group, versions: [] });
      if (!g.versions.includes(r.version)) g.versions.push(r.version);
    }
    return out;
  }

  /** GET /api. */
  coreVersions(serverAddress: string): Record<string, unknown> {
    return {
      kind: "APIVersions",
      versions: ["v1"],
      serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
    };
  }

  /** GET /apis. */
  groupList(): Record<string, unknown> {
    return {
      kind: "APIGroupList",
      apiVersion: "v1",
      groups: this.#groups().map((g) => this.#group(g.name, g.versions)),
    };
  }

  #group(name: string, versions: string[]): Record<string, unknown> {
    const list = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
    return { name, versions: list, preferredVersion: list[0] };
  }

  /** GET /apis/<group>, or undefined when no version of it is served. */
  group(name: string): Record<string, unknown> | undefined {
    const g = this.#groups().find((x) => x.name === name);
    return g
      ? { kind: "APIGroup", apiVersion: "v1", ...this.#group(g.name, g.versions) }
      : undefined;
  }

  /** GET /api/v1 or /apis/<group>/<version>, or undefined when not served. */
  resourceList(group: string, version: string): Record<string, unknown> | undefined {
    const all = RESOURCES.filter((r) => r.group === group && r.version === version);
    if (!all.length || !this.enabled(group, version)) return undefined;
    const resources = all.filter((r) => this.#served(r));
    return {
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion: groupVersion(group, version),
      resources: resources.map((r) => {
        const doc: Record<string, unknown> = {
          name: r.resource,
          singularName: r.singular,
          namespaced: r.namespaced,
        };
        if (r.subresourceGroupVersion) {
          doc.group = r.subresourceGroupVersion.group;
          doc.version = r.subresourceGroupVersion.version;
        }
        doc.kind = r.kind;
        doc.verbs = r.verbs;
        if (r.shortNames) doc.shortNames = r.shortNames;
        if (r.categories) doc.categories = r.categories;
        return doc;
      }),
    };
  }
}
