/**
 * Create, read, update, patch, delete and list for the stored resources, with the defaulting,
 * validation, conflicts, selectors and limit/continue paging of the generic registry.
 */
import { Buffer } from "node:buffer";
import { applyPatch } from "./_patch.ts";
import { groupVersion, type ResourceInfo, RESOURCES } from "./_resources.ts";
import {
  checkFields,
  matchFields,
  matchLabels,
  parseFieldSelector,
  parseLabelSelector,
} from "./_selectors.ts";
import { type ObjectStore, rfc3339 } from "./_store.ts";
import { ApiError, badRequest, conflict, invalid, notFound } from "./_status.ts";
import { toTable, wantsTable } from "./_table.ts";
import { isObject, type JsonObject, type KubeObject, str } from "./_types.ts";
import { applyDefaults, generateName, validate } from "./_validation.ts";

/** How a list is asked for. */
export interface ListOptions {
  query: URLSearchParams;
  accept?: string;
}

const NAMESPACES = RESOURCES.find((r) => r.resource === "namespaces")!;

/** A filter built from labelSelector and fieldSelector. */
export function objectFilter(
  info: ResourceInfo,
  query: URLSearchParams,
): (o: KubeObject) => boolean {
  const labels = parseLabelSelector(query.get("labelSelector") ?? "");
  const fields = parseFieldSelector(query.get("fieldSelector") ?? "");
  checkFields(info.kind, fields);
  return (o) => matchLabels(labels, o.metadata.labels) && matchFields(fields, o);
}

function continueToken(rv: string, lastKey: string): string {
  // The shape apiserver's storage encodes, so clients that peek at it see the familiar form.
  return Buffer.from(
    JSON.stringify({ v: "meta.k8s.io/v1", rv: Number(rv), start: `${lastKey}\u0000` }),
  )
    .toString("base64");
}

function parseContinue(token: string): { rv: string; start: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64").toString());
    if (parsed.v !== "meta.k8s.io/v1" || typeof parsed.start !== "string") {
      throw new Error("bad version");
    }
    return { rv: String(parsed.rv), start: parsed.start };
  } catch (e) {
    throw badRequest(`continue key is not valid: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function keyOf(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : `${o.metadata.name}`;
}

/** The CRUD endpoints of every stored resource. */
export class CoreApi {
  readonly #store: ObjectStore;
  readonly #now: () => Date;

  constructor(store: ObjectStore, now: () => Date) {
    this.#store = store;
    this.#now = now;
  }

  /** GET of one object. */
  get(info: ResourceInfo, namespace: string, name: string): KubeObject {
    const obj = this.#store.get(info, namespace, name);
    if (!obj) throw notFound(info.group, info.resource, name);
    return obj;
  }

  /** GET of one object as the client asked: the object, or a one-row Table. */
  read(info: ResourceInfo, namespace: string, name: string, options: ListOptions): JsonObject {
    const obj = this.get(info, namespace, name);
    if (!wantsTable(options.accept)) return obj;
    const meta = { resourceVersion: obj.metadata.resourceVersion };
    return toTable(info.kind, [obj], this.#now(), meta, options.query.get("includeObject"));
  }

  /** GET of a collection: a typed List, or a Table when the Accept header asks for one. */
  list(info: ResourceInfo, namespace: string, options: ListOptions): JsonObject {
    const filter = objectFilter(info, options.query);
    let rv = this.#store.resourceVersion;
    let after: string | undefined;
    const token = options.query.get("continue");
    if (token) {
      const parsed = parseContinue(token);
      rv = parsed.rv;
      // The key ends in NUL so the next page starts strictly after it.
      after = parsed.start.endsWith("\u0000") ? parsed.start.slice(0, -1) : parsed.start;
    }
    const limit = Number(options.query.get("limit") ?? "0");
    const page = this.#store.page(info, namespace || undefined, {
      after,
      filter,
      limit: limit > 0 ? limit : 0,
    });
    const items = page.items;
    const metadata: JsonObject = { resourceVersion: rv };
    if (page.more) {
      metadata.continue = continueToken(rv, keyOf(items[items.length - 1]));
      // Only an unfiltered list knows how many items are left, as with etcd's count.
      if (!options.query.get("labelSelector") && !options.query.get("fieldSelector")) {
        metadata.remainingItemCount = page.remaining;
      }
    }
    if (wantsTable(options.accept)) {
      return toTable(info.kind, items, this.#now(), metadata, options.query.get("includeObject"));
    }
    return {
      kind: `${info.kind}List`,
      apiVersion: groupVersion(info.group, info.version),
      metadata,
      // Items of a typed list carry no apiVersion/kind on the wire.
      items: items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
    };
  }

  #prepare(info: ResourceInfo, namespace: string, body: JsonObject): KubeObject {
    const obj = structuredClone(body) as KubeObject;
    obj.apiVersion = groupVersion(info.group, info.version);
    obj.kind = info.kind;
    obj.metadata = isObject(obj.metadata) ? obj.metadata : {};
    if (info.namespaced) {
      if (obj.metadata.namespace && obj.metadata.namespace !== namespace) {
        throw badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
      obj.metadata.namespace = namespace;
    } else {
      delete obj.metadata.namespace;
    }
    return obj;
  }

  /** POST: create, 201 with the stored object. `dryRun=All` validates without storing. */
  create(
    info: ResourceInfo,
    namespace: string,
    body: JsonObject,
    query: URLSearchParams,
  ): KubeObject {
    const obj = this.#prepare(info, namespace, body);
    for (const field of ["uid", "resourceVersion", "creationTimestamp", "deletionTimestamp"]) {
      delete obj.metadata[field];
    }
    if (!obj.metadata.name && obj.metadata.generateName) {
      obj.metadata.name = generateName(obj.metadata.generateName);
    }
    applyDefaults(info, obj);
    const errors = validate(info, obj);
    if (errors.length) throw invalid(info.group, info.kind, obj.metadata.name ?? "", errors);
    if (info.namespaced && !this.#store.get(NAMESPACES, undefined, namespace)) {
      throw notFound("", "namespaces", namespace);
    }
    if (query.get("dryRun") === "All") {
      if (this.#store.get(info, namespace, obj.metadata.name!)) {
        return this.#store.create(info, obj); // throws AlreadyExists
      }
      obj.metadata.uid = crypto.randomUUID();
      obj.metadata.creationTimestamp = rfc3339(this.#now());
      return obj;
    }
    return this.#store.create(info, obj);
  }

  #replace(info: ResourceInfo, current: KubeObject, next: KubeObject): KubeObject {
    const errors = validate(info, next, current);
    if (errors.length) throw invalid(info.group, info.kind, next.metadata.name ?? "", errors);
    next.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
    if (!next.metadata.deletionTimestamp) delete next.metadata.deletionTimestamp;
    // An object waiting on finalizers goes once the last one is removed.
    if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) {
      this.#store.remove(info, current.metadata.namespace, current.metadata.name!);
      return next;
    }
    return this.#store.update(info, next);
  }

  /** PUT: replace, honouring a resourceVersion precondition when the body carries one. */
  update(info: ResourceInfo, namespace: string, name: string, body: JsonObject): KubeObject {
    const next = this.#prepare(info, namespace, body);
    if (next.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${
          next.metadata.name ?? ""
        }) does not match the name on the URL (${name})`,
      );
    }
    const current = this.get(info, namespace, name);
    const rv = next.metadata.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) {
      throw conflict(
        info.group,
        info.resource,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    }
    if (info.kind === "Secret") applyDefaults(info, next);
    if (info.kind === "Namespace") next.status = current.status;
    return this.#replace(info, current, next);
  }

  /** PATCH: merge, strategic-merge (as merge) or JSON patch. */
  patch(
    info: ResourceInfo,
    namespace: string,
    name: string,
    contentType: string,
    body: unknown,
  ): KubeObject {
    const current = this.get(info, namespace, name);
    const patched = applyPatch(current, contentType, body);
    if (!isObject(patched)) throw badRequest("patch did not produce an object");
    const next = this.#prepare(info, namespace, patched);
    if (next.metadata.name !== name) {
      throw badRequest("metadata.name: Invalid value: the name cannot be changed by a patch");
    }
    const rv = next.metadata.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) {
      throw conflict(
        info.group,
        info.resource,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    }
    if (info.kind === "Secret") applyDefaults(info, next);
    return this.#replace(info, current, next);
  }

  /**
   * DELETE of one object. Pods and namespaces answer with the object, other kinds with a
   * Success Status, as their registries do; objects with finalizers only get a deletionTimestamp.
   */
  delete(info: ResourceInfo, namespace: string, name: string, options: JsonObject): JsonObject {
    const current = this.get(info, namespace, name);
    const preconditions = isObject(options.preconditions) ? options.preconditions : {};
    const uid = str(preconditions.uid);
    if (uid && uid !== current.metadata.uid) {
      throw conflict(
        info.group,
        info.resource,
        name,
        `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    const rv = str(preconditions.resourceVersion);
    if (rv && rv !== current.metadata.resourceVersion) {
      throw conflict(
        info.group,
        info.resource,
        name,
        `Precondition failed: ResourceVersion in precondition: ${rv}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
      );
    }
    if (current.metadata.finalizers?.length) {
      current.metadata.deletionTimestamp ??= rfc3339(this.#now());
      return this.#store.update(info, current);
    }
    this.#store.remove(info, namespace, name);
    if (info.kind === "Namespace") {
      // The real namespace lingers as Terminating while its contents go; here they go at once.
      current.metadata.deletionTimestamp = rfc3339(this.#now());
      current.status = { phase: "Terminating" };
      return current;
    }
    if (info.kind === "Pod") return current;
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: {
        name,
        ...(info.group ? { group: info.group } : {}),
        kind: info.resource,
        uid: current.metadata.uid,
      },
    };
  }

  /** DELETE of a collection: removes what the selectors match, answers with the removed items. */
  deleteCollection(info: ResourceInfo, namespace: string, query: URLSearchParams): JsonObject {
    const filter = objectFilter(info, query);
    const removed = this.#store.list(info, namespace || undefined).filter(filter);
    for (const o of removed) this.#store.remove(info, o.metadata.namespace, o.metadata.name!);
    return {
      kind: `${info.kind}List`,
      apiVersion: groupVersion(info.group, info.version),
      metadata: { resourceVersion: this.#store.resourceVersion },
      items: removed.map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
    };
  }
}

/** Reject a path that names a namespace for a cluster-scoped resource or none for a named one. */
export function checkScope(
  info: ResourceInfo,
  namespace: string,
  name: string,
  verb: string,
): void {
  if (!info.namespaced && namespace && info.kind !== "Namespace") {
    throw new ApiError(404, "NotFound", "the server could not find the requested resource", {});
  }
  const collectionVerb = verb === "list" || verb === "watch" || verb === "deletecollection";
  if (info.namespaced && !namespace && !collectionVerb) {
    throw new ApiError(404, "NotFound", "the server could not find the requested resource", {});
  }
  if (!name && !collectionVerb && verb !== "create") {
    throw new ApiError(
      405,
      "MethodNotAllowed",
      "the server does not allow this method on the requested resource",
      {},
    );
  }
}
