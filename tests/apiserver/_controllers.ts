/**
 * The kube-controller-manager loops that token tests depend on: the service-account controller
 * (a `default` ServiceAccount in every namespace), the legacy tokens controller (fills Secrets of
 * type kubernetes.io/service-account-token, deletes them with their ServiceAccount, drops a
 * deleted one from its ServiceAccount's `secrets`, and before 1.24 keeps one for every
 * ServiceAccount), the namespace controller (deleting a namespace deletes what is in it) and the
 * garbage collector (an object whose owners are all gone is deleted: see {@link GarbageCollector}).
 */
import { Buffer } from "node:buffer";
import { legacyClaims, type SigningKey } from "./_jwt.ts";
import { type ResourceInfo, RESOURCES } from "./_resources.ts";
import type { ObjectStore, StoreEvent } from "./_store.ts";
import { isObject, type KubeObject } from "./_types.ts";
import {
  generateName,
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_TYPE,
  SERVICE_ACCOUNT_UID_ANNOTATION,
} from "./_validation.ts";

/** What the controllers need. */
export interface ControllerOptions {
  store: ObjectStore;
  key: SigningKey;
  caPem: string;
  tokenControllerDelayMs: number;
  /**
   * Play the token controller of Kubernetes before 1.24: every ServiceAccount that lists no
   * existing token Secret in its `secrets` gets a new one, named `<account>-token-<5 chars>`.
   */
  legacyTokenAutoCreation?: boolean;
}

const core = (resource: string): ResourceInfo =>
  RESOURCES.find((r) => r.group === "" && r.resource === resource)!;

/** Runs the controllers on store events until stopped. */
export class Controllers {
  readonly #o: ControllerOptions;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #unsubscribe: () => void;
  readonly #gc: GarbageCollector;

  constructor(options: ControllerOptions) {
    this.#o = options;
    this.#gc = new GarbageCollector(options.store);
    this.#unsubscribe = options.store.subscribe((e) => this.#onEvent(e));
  }

  /** Stop listening and cancel pending work, so nothing outlives the server. */
  stop(): void {
    this.#gc.stop();
    this.#unsubscribe();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  #onEvent(e: StoreEvent): void {
    const { kind } = e.resource;
    if (kind === "Namespace" && e.type === "ADDED") {
      this.#ensureDefaultServiceAccount(e.object.metadata.name!);
    }
    if (kind === "Namespace" && e.type === "DELETED") {
      this.#deleteNamespaceContents(e.object.metadata.name!);
    }
    if (kind === "ServiceAccount" && e.type === "DELETED") this.#onServiceAccountDeleted(e.object);
    if (kind === "ServiceAccount" && e.type !== "DELETED" && this.#o.legacyTokenAutoCreation) {
      const { namespace, name } = e.object.metadata;
      this.#later(() => this.#ensureReferencedToken(namespace!, name!));
    }
    if (kind === "Secret" && e.type !== "DELETED" && e.object.type === SERVICE_ACCOUNT_TOKEN_TYPE) {
      this.#scheduleTokenSecret(e.object);
    }
    if (kind === "Secret" && e.type === "DELETED" && e.object.type === SERVICE_ACCOUNT_TOKEN_TYPE) {
      const secret = e.object;
      this.#later(() => this.#removeSecretReference(secret));
    }
  }

  /** Run `fn` after the controller delay, outside the request that caused it (as upstream). */
  #later(fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, this.#o.tokenControllerDelayMs);
    this.#timers.add(timer);
  }

  /** Upstream removeSecretReference: a deleted token Secret leaves its account's `secrets`. */
  #removeSecretReference(secret: KubeObject): void {
    const a = secret.metadata.annotations ?? {};
    const namespace = secret.metadata.namespace!;
    const sa = this.#o.store.get(
      core("serviceaccounts"),
      namespace,
      a[SERVICE_ACCOUNT_NAME_ANNOTATION] ?? "",
    );
    if (!sa) return;
    const uid = a[SERVICE_ACCOUNT_UID_ANNOTATION];
    if (uid && uid !== sa.metadata.uid) return;
    const refs = Array.isArray(sa.secrets) ? sa.secrets as { name?: string }[] : [];
    if (!refs.some((r) => r.name === secret.metadata.name)) return;
    sa.secrets = refs.filter((r) => r.name !== secret.metadata.name);
    this.#o.store.update(core("serviceaccounts"), sa);
  }

  /** Upstream ensureReferencedToken (before 1.24): a listed, existing token Secret, or a new one. */
  #ensureReferencedToken(namespace: string, name: string): void {
    const sa = this.#o.store.get(core("serviceaccounts"), namespace, name);
    if (!sa) return;
    const refs = Array.isArray(sa.secrets) ? sa.secrets as { name?: string }[] : [];
    const listed = refs.some((r) => {
      const secret = r.name && this.#o.store.get(core("secrets"), namespace, r.name);
      return secret && secret.type === SERVICE_ACCOUNT_TOKEN_TYPE &&
        secret.metadata.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION] === name;
    });
    if (listed) return;
    const secretName = generateName(`${name}-token-`);
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const claims = legacyClaims(namespace, { name, uid: sa.metadata.uid! }, secretName);
    this.#o.store.create(core("secrets"), {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: secretName,
        namespace,
        annotations: {
          [SERVICE_ACCOUNT_NAME_ANNOTATION]: name,
          [SERVICE_ACCOUNT_UID_ANNOTATION]: sa.metadata.uid!,
        },
      },
      type: SERVICE_ACCOUNT_TOKEN_TYPE,
      data: {
        token: b64(this.#o.key.sign(claims)),
        namespace: b64(namespace),
        "ca.crt": b64(this.#o.caPem),
      },
    });
    sa.secrets = [...refs, { name: secretName }];
    this.#o.store.update(core("serviceaccounts"), sa);
  }

  #ensureDefaultServiceAccount(namespace: string): void {
    const sa = core("serviceaccounts");
    if (this.#o.store.get(sa, namespace, "default")) return;
    this.#o.store.create(sa, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "default", namespace },
    });
  }

  #deleteNamespaceContents(namespace: string): void {
    for (const info of RESOURCES) {
      if (!info.stored || !info.namespaced) continue;
      for (const obj of this.#o.store.list(info, namespace)) {
        this.#o.store.remove(info, namespace, obj.metadata.name!);
      }
    }
  }

  #onServiceAccountDeleted(sa: KubeObject): void {
    const namespace = sa.metadata.namespace!;
    // Token Secrets go with their ServiceAccount.
    for (const secret of this.#o.store.list(core("secrets"), namespace)) {
      const a = secret.metadata.annotations ?? {};
      if (
        secret.type !== SERVICE_ACCOUNT_TOKEN_TYPE ||
        a[SERVICE_ACCOUNT_NAME_ANNOTATION] !== sa.metadata.name
      ) continue;
      const uid = a[SERVICE_ACCOUNT_UID_ANNOTATION];
      if (uid && uid !== sa.metadata.uid) continue;
      this.#o.store.remove(core("secrets"), namespace, secret.metadata.name!);
    }
    // The service-account controller puts `default` back while its namespace lives.
    if (
      sa.metadata.name === "default" && this.#o.store.get(core("namespaces"), undefined, namespace)
    ) {
      this.#ensureDefaultServiceAccount(namespace);
    }
  }

  #scheduleTokenSecret(secret: KubeObject): void {
    const data = isObject(secret.data) ? secret.data : {};
    if (data.token && data["ca.crt"] && data.namespace) return;
    const ref = {
      namespace: secret.metadata.namespace!,
      name: secret.metadata.name!,
      uid: secret.metadata.uid,
    };
    const delay = this.#o.tokenControllerDelayMs;
    if (delay <= 0) {
      this.#syncTokenSecret(ref);
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#syncTokenSecret(ref);
    }, delay);
    this.#timers.add(timer);
  }

  #syncTokenSecret(ref: { namespace: string; name: string; uid?: string }): void {
    const secrets = core("secrets");
    const secret = this.#o.store.get(secrets, ref.namespace, ref.name);
    if (!secret || secret.metadata.uid !== ref.uid) return;
    const annotations = secret.metadata.annotations ?? {};
    const saName = annotations[SERVICE_ACCOUNT_NAME_ANNOTATION] ?? "";
    const sa = this.#o.store.get(core("serviceaccounts"), ref.namespace, saName);
    const wantedUid = annotations[SERVICE_ACCOUNT_UID_ANNOTATION];
    if (!sa || (wantedUid && wantedUid !== sa.metadata.uid)) {
      // Upstream deletes a token Secret whose ServiceAccount does not exist (or was recreated).
      this.#o.store.remove(secrets, ref.namespace, ref.name);
      return;
    }
    const data = (isObject(secret.data) ? secret.data : {}) as Record<string, string>;
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    data["ca.crt"] ||= b64(this.#o.caPem);
    data.namespace ||= b64(ref.namespace);
    if (!data.token) {
      const claims = legacyClaims(ref.namespace, { name: saName, uid: sa.metadata.uid! }, ref.name);
      data.token = b64(this.#o.key.sign(claims));
    }
    secret.data = data;
    secret.metadata.annotations = {
      ...annotations,
      [SERVICE_ACCOUNT_UID_ANNOTATION]: sa.metadata.uid!,
    };
    this.#o.store.update(secrets, secret);
  }
}

/** How long after an owner's deletion its dependents go (the real collector: about a second). */
export const GC_DELAY_MS = 100;

interface OwnerReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
}

interface Dependent {
  info: ResourceInfo;
  namespace?: string;
  name: string;
  owners: string[];
}

/**
 * kube-controller-manager's garbage collector, for the case tokens depend on: once an object is
 * deleted, each object that names it (by UID) in `ownerReferences` is checked after
 * {@link GC_DELAY_MS}; one whose owners are all absent (not found, or found with another UID) is
 * deleted, and one that keeps a live owner only loses the dangling references. That is the
 * background propagation a plain `kubectl delete` asks for; Orphan and Foreground deletion
 * (DeleteOptions.propagationPolicy) are not played: no test here asks for them.
 */
export class GarbageCollector {
  readonly #store: ObjectStore;
  readonly #unsubscribe: () => void;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  // Owner UID -> the keys of the objects that name it; key -> what the dependent names.
  readonly #byOwner = new Map<string, Set<string>>();
  readonly #dependents = new Map<string, Dependent>();

  constructor(store: ObjectStore) {
    this.#store = store;
    this.#unsubscribe = store.subscribe((e) => this.#onEvent(e));
  }

  /** Stop listening and cancel pending collections. */
  stop(): void {
    this.#unsubscribe();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  #onEvent(e: StoreEvent): void {
    const meta = e.object.metadata;
    const key = `${e.resource.group}/${e.resource.resource}/${meta.namespace ?? ""}/${meta.name}`;
    this.#forget(key);
    if (e.type !== "DELETED") {
      const refs = ownerReferences(e.object);
      if (refs.length === 0) return;
      const owners = refs.map((r) => r.uid!);
      this.#dependents.set(key, {
        info: e.resource,
        namespace: meta.namespace,
        name: meta.name!,
        owners,
      });
      for (const uid of owners) {
        const keys = this.#byOwner.get(uid) ?? new Set();
        keys.add(key);
        this.#byOwner.set(uid, keys);
      }
      return;
    }
    const dependents = meta.uid ? this.#byOwner.get(meta.uid) : undefined;
    if (!dependents?.size) return;
    const keys = [...dependents];
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      for (const k of keys) this.#collect(k);
    }, GC_DELAY_MS);
    this.#timers.add(timer);
  }

  #forget(key: string): void {
    const old = this.#dependents.get(key);
    if (!old) return;
    this.#dependents.delete(key);
    for (const uid of old.owners) {
      const keys = this.#byOwner.get(uid);
      keys?.delete(key);
      if (keys?.size === 0) this.#byOwner.delete(uid);
    }
  }

  /** Upstream attemptToDeleteItem: delete when no owner is left, else drop the dangling ones. */
  #collect(key: string): void {
    const dep = this.#dependents.get(key);
    if (!dep) return;
    const obj = this.#store.get(dep.info, dep.namespace, dep.name);
    if (!obj) return;
    const refs = ownerReferences(obj);
    const live = refs.filter((r) => this.#ownerExists(r, dep.namespace));
    if (live.length === 0) {
      this.#store.remove(dep.info, dep.namespace, dep.name);
    } else if (live.length < refs.length) {
      obj.metadata.ownerReferences = live;
      this.#store.update(dep.info, obj);
    }
  }

  /** An owner is there when an object of its kind and name has its UID (namespaced: alongside). */
  #ownerExists(ref: OwnerReference, namespace: string | undefined): boolean {
    const group = ref.apiVersion?.includes("/") ? ref.apiVersion.split("/")[0] : "";
    const info = RESOURCES.find((r) =>
      r.stored && r.group === group && r.kind === ref.kind && !r.resource.includes("/")
    );
    // An owner of a kind this server does not store cannot be looked up: upstream would keep
    // waiting for its informer, so the dependent stays.
    if (!info) return true;
    const owner = this.#store.get(info, info.namespaced ? namespace : undefined, ref.name ?? "");
    return owner?.metadata.uid === ref.uid;
  }
}

function ownerReferences(obj: KubeObject): OwnerReference[] {
  const refs = (obj.metadata as { ownerReferences?: unknown }).ownerReferences;
  return Array.isArray(refs)
    ? refs.filter((r): r is OwnerReference => isObject(r) && typeof r.uid === "string")
    : [];
}
