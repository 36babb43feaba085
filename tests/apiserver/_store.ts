/**
 * The object store: what etcd is to a kube-apiserver. Objects are kept by resource, namespace and
 * name, every write bumps one cluster-wide resourceVersion, and listeners (the controllers and
 * watches) hear each change synchronously, after it is applied.
 */
import type { ResourceInfo } from "./_resources.ts";
import { alreadyExists, notFound } from "./_status.ts";
import type { KubeObject } from "./_types.ts";

/** A change to one object, as a watch stream reports it. */
export interface StoreEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  resource: ResourceInfo;
  object: KubeObject;
}

/** Format a time the way metav1.Time marshals: RFC 3339 in UTC, whole seconds. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

function keyOf(info: ResourceInfo, namespace: string | undefined, name: string): string {
  // The etcd key layout, so sorting by key gives a real server's list order.
  return `${info.group}/${info.resource}/${info.namespaced ? namespace ?? "" : ""}/${name}`;
}

/** One page of a list, from {@link ObjectStore.page}. */
export interface StorePage {
  /** Copies of the matching objects, in key order. */
  items: KubeObject[];
  /** Whether more matching objects follow the page. */
  more: boolean;
  /** Objects of the resource after the page, counted regardless of the filter. */
  remaining: number;
}

function lowerBound(keys: string[], target: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** In-memory storage for every stored resource. */
export class ObjectStore {
  #objects = new Map<string, KubeObject>();
  // Every key in etcd order, rebuilt after a create or delete: lists of tens of thousands of
  // objects then cost a binary search and the page itself, not a sort and a copy of everything.
  #sorted?: string[];
  #revision = 0;
  #listeners = new Set<(event: StoreEvent) => void>();
  #now: () => Date;

  constructor(now: () => Date) {
    this.#now = now;
  }

  /** The latest resourceVersion, as lists report it. */
  get resourceVersion(): string {
    return String(this.#revision);
  }

  /** Subscribe to changes; returns the unsubscribe function. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: StoreEvent): void {
    for (const listener of [...this.#listeners]) listener(event);
  }

  /** One object, as a copy. */
  get(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.#objects.get(keyOf(info, namespace, name));
    return obj && structuredClone(obj);
  }

  /** All objects of a resource, optionally in one namespace, in etcd key order, as copies. */
  list(info: ResourceInfo, namespace?: string): KubeObject[] {
    const [start, end] = this.#range(info, namespace);
    const keys = this.#keys();
    const out: KubeObject[] = [];
    for (let i = start; i < end; i++) out.push(structuredClone(this.#objects.get(keys[i])!));
    return out;
  }

  /**
   * Up to `limit` (0: all) objects of a resource that pass `filter`, in key order, starting after
   * the list key `after` (`namespace/name`, or `name` for cluster-scoped resources). Only the
   * objects on the page are copied; `filter` sees the stored objects and must not change them.
   */
  page(
    info: ResourceInfo,
    namespace: string | undefined,
    options: { after?: string; filter: (o: KubeObject) => boolean; limit: number },
  ): StorePage {
    const [first, end] = this.#range(info, namespace);
    const keys = this.#keys();
    let i = first;
    if (options.after !== undefined) {
      const base = `${info.group}/${info.resource}/${info.namespaced ? "" : "/"}`;
      // The first key strictly after `after`.
      i = Math.max(first, lowerBound(keys, `${base}${options.after}\u0000`));
    }
    const items: KubeObject[] = [];
    let more = false;
    let last = i;
    for (; i < end; i++) {
      const obj = this.#objects.get(keys[i])!;
      if (!options.filter(obj)) continue;
      if (options.limit > 0 && items.length === options.limit) {
        more = true;
        break;
      }
      items.push(structuredClone(obj));
      last = i + 1;
    }
    return { items, more, remaining: more ? end - last : 0 };
  }

  #keys(): string[] {
    this.#sorted ??= [...this.#objects.keys()].sort();
    return this.#sorted;
  }

  /** The index range of a resource's keys (in one namespace when given). */
  #range(info: ResourceInfo, namespace?: string): [number, number] {
    const prefix = `${info.group}/${info.resource}/${
      info.namespaced && namespace ? `${namespace}/` : ""
    }`;
    // The smallest string after every string that starts with the prefix ("/" + 1 is "0").
    const upper = prefix.slice(0, -1) +
      String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    const keys = this.#keys();
    return [lowerBound(keys, prefix), lowerBound(keys, upper)];
  }

  /** Store a new object, filling uid, resourceVersion and creationTimestamp; 409 if it exists. */
  create(info: ResourceInfo, input: KubeObject): KubeObject {
    const name = input.metadata.name ?? "";
    const namespace = info.namespaced ? input.metadata.namespace : undefined;
    const key = keyOf(info, namespace, name);
    if (this.#objects.has(key)) throw alreadyExists(info.group, info.resource, name);
    const obj = structuredClone(input);
    obj.metadata.uid = crypto.randomUUID();
    obj.metadata.resourceVersion = String(++this.#revision);
    obj.metadata.creationTimestamp = rfc3339(this.#now());
    if (!info.namespaced) delete obj.metadata.namespace;
    this.#objects.set(key, obj);
    this.#sorted = undefined;
    this.#emit({ type: "ADDED", resource: info, object: structuredClone(obj) });
    return structuredClone(obj);
  }

  /** Replace an existing object (keeping its uid and creationTimestamp); 404 if it is gone. */
  update(info: ResourceInfo, input: KubeObject): KubeObject {
    const name = input.metadata.name ?? "";
    const key = keyOf(info, input.metadata.namespace, name);
    const current = this.#objects.get(key);
    if (!current) throw notFound(info.group, info.resource, name);
    const obj = structuredClone(input);
    obj.metadata.uid = current.metadata.uid;
    obj.metadata.creationTimestamp = current.metadata.creationTimestamp;
    obj.metadata.resourceVersion = String(++this.#revision);
    if (!info.namespaced) delete obj.metadata.namespace;
    this.#objects.set(key, obj);
    this.#emit({ type: "MODIFIED", resource: info, object: structuredClone(obj) });
    return structuredClone(obj);
  }

  /** Remove an object; returns what was removed, or undefined when there was nothing. */
  remove(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = keyOf(info, namespace, name);
    const current = this.#objects.get(key);
    if (!current) return undefined;
    this.#objects.delete(key);
    this.#sorted = undefined;
    // A deletion is a write too: watchers see the object at the revision of its removal.
    current.metadata.resourceVersion = String(++this.#revision);
    this.#emit({ type: "DELETED", resource: info, object: structuredClone(current) });
    return structuredClone(current);
  }
}
