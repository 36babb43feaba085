/**
 * The kube-controller-manager loops that token tests depend on: the service-account controller
 * (a `default` ServiceAccount in every namespace), the legacy tokens controller (fills Secrets of
 * type kubernetes.io/service-account-token, deletes them with their ServiceAccount, drops a
 * deleted one from its ServiceAccount's `secrets`, and before 1.24 keeps one for every
 * ServiceAccount) and the namespace controller (deleting a namespace deletes what is in it).
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

  constructor(options: ControllerOptions) {
    this.#o = options;
    this.#unsubscribe = options.store.subscribe((e) => this.#onEvent(e));
  }

  /** Stop listening and cancel pending work, so nothing outlives the server. */
  stop(): void {
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
