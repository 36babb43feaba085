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

/** In-memory storage for every stored resource. */
export class ObjectStore {
  #objects = new Map<string, KubeObject>();
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
    const prefix = `${info.group}/${info.resource}/${
      info.namespaced && namespace ? `${namespace}/` : ""
    }`;
    return [...this.#objects.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, obj]) => structuredClone(obj));
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
    // A deletion is a write too: watchers see the object at the revision of its removal.
    current.metadata.resourceVersion = String(++this.#revision);
    this.#emit({ type: "DELETED", resource: info, object: structuredClone(current) });
    return structuredClone(current);
  }
}
