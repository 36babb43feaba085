/**
 * Who uses a Secret: the Pods that name it in a secret volume, a projected volume source, or a
 * container's `env`/`envFrom`, and the workload that owns each Pod. Pure, except
 * {@link resolveWorkloads}, which reads owners through the function it is given.
 * (`spec.imagePullSecrets` is not a use of a token: it names registry credentials.)
 */
import type { ContainerLike, OwnedObject, OwnerReference, PodLike } from "../api/pods.ts";
import type { SecretTokenItem } from "./findings.ts";

/** How a Pod names the Secret. */
export interface SecretReference {
  via: "volume" | "projected" | "env" | "envFrom";
  /** The volume's name (volume, projected). */
  volume?: string;
  /** The container's name (env, envFrom). */
  container?: string;
  /** The variable's name (env). */
  env?: string;
}

/** An object named by kind and name (in the consumer's namespace). */
export interface WorkloadRef {
  kind: string;
  name: string;
}

/** A Pod that uses a Secret. */
export interface SecretConsumer {
  kind: "Pod";
  namespace: string;
  name: string;
  /** `status.phase`: Pending, Running, Succeeded, Failed or Unknown. */
  phase?: string;
  serviceAccount?: string;
  references: SecretReference[];
  /** The Pod's controller as its ownerReference names it (a ReplicaSet, a Job, ...). */
  controller?: WorkloadRef;
  /** The workload to change: the controller's own controller where it could be read. */
  workload?: WorkloadRef;
}

/** The references of one Pod, by Secret name, in the order they appear. */
export function podSecretReferences(pod: PodLike): Map<string, SecretReference[]> {
  const refs = new Map<string, SecretReference[]>();
  const add = (secret: string | undefined, ref: SecretReference) => {
    if (!secret) return;
    const list = refs.get(secret) ?? [];
    if (!list.some((r) => JSON.stringify(r) === JSON.stringify(ref))) list.push(ref);
    refs.set(secret, list);
  };
  for (const v of pod.spec?.volumes ?? []) {
    add(v.secret?.secretName, { via: "volume", volume: v.name });
    for (const s of v.projected?.sources ?? []) {
      add(s.secret?.name, { via: "projected", volume: v.name });
    }
  }
  const containers: ContainerLike[] = [
    ...(pod.spec?.initContainers ?? []),
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.ephemeralContainers ?? []),
  ];
  for (const c of containers) {
    for (const e of c.env ?? []) {
      add(e.valueFrom?.secretKeyRef?.name, { via: "env", container: c.name, env: e.name });
    }
    for (const e of c.envFrom ?? []) {
      add(e.secretRef?.name, { via: "envFrom", container: c.name });
    }
  }
  return refs;
}

/** The controller among an object's owner references, if any. */
export function controllerOf(obj: OwnedObject | PodLike): WorkloadRef | undefined {
  const refs: OwnerReference[] = obj.metadata?.ownerReferences ?? [];
  const ref = refs.find((r) => r.controller) ?? undefined;
  return ref?.kind && ref.name ? { kind: ref.kind, name: ref.name } : undefined;
}

/** "namespace/name", the key of a Secret in a {@link ConsumerIndex}. */
export function secretKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Secret "namespace/name" -> the Pods that use it; fed page by page. */
export class ConsumerIndex {
  #bySecret = new Map<string, SecretConsumer[]>();

  /** Record the Secrets each Pod of a page uses. */
  add(pods: PodLike[]): void {
    for (const pod of pods) {
      const namespace = pod.metadata?.namespace ?? "";
      for (const [secret, references] of podSecretReferences(pod)) {
        const key = secretKey(namespace, secret);
        const list = this.#bySecret.get(key) ?? [];
        list.push({
          kind: "Pod",
          namespace,
          name: pod.metadata?.name ?? "",
          phase: pod.status?.phase,
          serviceAccount: pod.spec?.serviceAccountName,
          references,
          controller: controllerOf(pod),
        });
        this.#bySecret.set(key, list);
      }
    }
  }

  /** The Pods that use Secret `namespace/name` (empty when none). */
  of(namespace: string, name: string): SecretConsumer[] {
    return this.#bySecret.get(secretKey(namespace, name)) ?? [];
  }
}

/** The owner kinds whose own controller is the workload to report, and what that one is. */
const OWNED_BY: Record<string, string> = { ReplicaSet: "Deployment", Job: "CronJob" };

/**
 * The workload to report for a Pod's controller: a ReplicaSet's Deployment, a Job's CronJob, when
 * `owner` (the controller as read) names one; otherwise the controller itself (a StatefulSet,
 * DaemonSet, a ReplicaSet without Deployment or one that could not be read).
 */
export function workloadOf(controller: WorkloadRef, owner: OwnedObject | undefined): WorkloadRef {
  const parent = owner ? controllerOf(owner) : undefined;
  return parent && parent.kind === OWNED_BY[controller.kind] ? parent : controller;
}

/**
 * Fill in `workload` for each consumer, reading ReplicaSets and Jobs through `read` (undefined
 * when one cannot be read) once each.
 */
export async function resolveWorkloads(
  consumers: SecretConsumer[],
  read: (kind: string, namespace: string, name: string) => Promise<OwnedObject | undefined>,
  cache: Map<string, Promise<OwnedObject | undefined>> = new Map(),
): Promise<void> {
  for (const c of consumers) {
    if (!c.controller || c.workload) continue;
    const { kind, name } = c.controller;
    if (!(kind in OWNED_BY)) {
      c.workload = c.controller;
      continue;
    }
    const key = `${kind}/${c.namespace}/${name}`;
    let owner = cache.get(key);
    if (!owner) cache.set(key, owner = read(kind, c.namespace, name));
    c.workload = workloadOf(c.controller, await owner);
  }
}

/** "pod/web-7d9c (deployment/web)": one consumer, kubectl-style. */
export function consumerLabel(c: SecretConsumer): string {
  const w = c.workload ?? c.controller;
  return `pod/${c.name}${w ? ` (${w.kind.toLowerCase()}/${w.name})` : ""}`;
}

/** Up to three consumers, then how many more: "pod/a (deployment/web), pod/b and 2 more". */
export function consumersPhrase(consumers: SecretConsumer[]): string {
  const shown = consumers.slice(0, 3).map(consumerLabel).join(", ");
  return consumers.length > 3 ? `${shown} and ${consumers.length - 3} more` : shown;
}

/**
 * The YAML to put in the Pod (template) instead of the Secret: a projected service-account token
 * volume like the one Kubernetes mounts by default (token, the cluster CA from the
 * kube-root-ca.crt ConfigMap, and the namespace), under the volume name the Pods used, so
 * existing volumeMounts keep working.
 */
export function projectedVolumeSnippet(
  secret: { namespace: string; name: string; serviceAccount: string },
  consumers: SecretConsumer[],
): string {
  const refs = consumers.flatMap((c) => c.references);
  const mounted = refs.find((r) => r.via === "volume")?.volume;
  const volume = mounted ?? "kube-api-access";
  const targets = [
    ...new Set(consumers.map((c) => {
      const w = c.workload ?? c.controller;
      return w ? `the Pod template of ${w.kind} "${w.name}"` : `Pod "${c.name}"`;
    })),
  ];
  const lines = [
    `# Replaces Secret "${secret.namespace}/${secret.name}" in ${targets.join(", ")}.`,
    "# The kubelet renews the token before it expires; read it from the file each time.",
  ];
  if (!mounted) {
    lines.push(
      `# Mount it in each container: volumeMounts: [{name: ${volume}, mountPath: ` +
        "/var/run/secrets/tokens, readOnly: true}]",
    );
  }
  if (refs.some((r) => r.via === "projected")) {
    lines.push("# In a projected volume, this serviceAccountToken source replaces the secret one.");
  }
  if (refs.some((r) => r.via === "env" || r.via === "envFrom")) {
    lines.push(
      "# Environment variables cannot renew: read the token from <mountPath>/token instead.",
    );
  }
  lines.push(
    "spec:",
    `  serviceAccountName: ${secret.serviceAccount || "default"}`,
    "  volumes:",
    `  - name: ${volume}`,
    "    projected:",
    "      defaultMode: 420",
    "      sources:",
    "      - serviceAccountToken:",
    "          expirationSeconds: 3600",
    "          path: token",
    "      - configMap:",
    "          name: kube-root-ca.crt",
    "          items:",
    "          - key: ca.crt",
    "            path: ca.crt",
    "      - downwardAPI:",
    "          items:",
    "          - path: namespace",
    "            fieldRef:",
    "              apiVersion: v1",
    "              fieldPath: metadata.namespace",
  );
  return lines.join("\n") + "\n";
}

/**
 * Record a legacy token Secret's consumers on its item, with what replaces the Secret: for Pods a
 * projected token volume (an "in-use" finding whose replacement is the YAML), and for a token with
 * recorded use but no Pod using it (so used from outside the cluster) a kubeconfig whose token
 * renews itself, added to the "long-lived" finding.
 */
export function withConsumers(
  item: SecretTokenItem,
  consumers: SecretConsumer[] | "unknown",
): SecretTokenItem {
  item.consumers = consumers;
  if (consumers === "unknown") return item;
  if (consumers.length > 0) {
    item.findings.push({
      type: "in-use",
      severity: "info",
      reason: `used by ${consumersPhrase(consumers)}; replace it with a projected ` +
        `service-account token volume (-o yaml shows it)`,
      replacement: projectedVolumeSnippet(item, consumers),
    });
  } else if (item.lastUsed) {
    const longLived = item.findings.find((f) => f.type === "long-lived");
    const command = `kubectl token kubeconfig ${item.namespace}/${item.serviceAccount} --exec`;
    if (longLived) {
      longLived.reason += `; no Pod uses it, so it is used from outside the cluster: ` +
        `give that user ${command}`;
      longLived.replacement = command;
    }
  }
  return item;
}
