import assert from "node:assert/strict";
import type { OwnedObject, PodLike } from "../../src/api/pods.ts";
import {
  ConsumerIndex,
  consumersPhrase,
  podSecretReferences,
  projectedVolumeSnippet,
  resolveWorkloads,
  type SecretConsumer,
  withConsumers,
  workloadOf,
} from "../../src/audit/consumers.ts";
import { auditSecret } from "../../src/audit/findings.ts";

function pod(name: string, spec: PodLike["spec"], extra: Partial<PodLike> = {}): PodLike {
  return { metadata: { name, namespace: "ns", ...extra.metadata }, spec, status: extra.status };
}

const controller = (kind: string, name: string) => ({
  apiVersion: "apps/v1",
  kind,
  name,
  uid: `${name}-uid`,
  controller: true,
});

Deno.test("podSecretReferences() finds every way a Pod names a Secret", async (t) => {
  const cases: [string, PodLike["spec"], Record<string, unknown[]>][] = [
    ["secret volume", { volumes: [{ name: "v", secret: { secretName: "s" } }] }, {
      s: [{ via: "volume", volume: "v" }],
    }],
    [
      "projected source",
      {
        volumes: [{
          name: "p",
          projected: { sources: [{ secret: { name: "a" } }, { secret: { name: "b" } }] },
        }],
      },
      { a: [{ via: "projected", volume: "p" }], b: [{ via: "projected", volume: "p" }] },
    ],
    [
      "env secretKeyRef in containers, initContainers and ephemeralContainers",
      {
        initContainers: [{
          name: "i",
          env: [{ name: "A", valueFrom: { secretKeyRef: { name: "s" } } }],
        }],
        containers: [{
          name: "c",
          env: [{ name: "B", valueFrom: { secretKeyRef: { name: "s" } } }],
        }],
        ephemeralContainers: [{
          name: "e",
          env: [{ name: "C", valueFrom: { secretKeyRef: { name: "t" } } }],
        }],
      },
      {
        s: [{ via: "env", container: "i", env: "A" }, { via: "env", container: "c", env: "B" }],
        t: [{ via: "env", container: "e", env: "C" }],
      },
    ],
    [
      "envFrom secretRef",
      { containers: [{ name: "c", envFrom: [{ secretRef: { name: "s" } }] }] },
      {
        s: [{ via: "envFrom", container: "c" }],
      },
    ],
    [
      "a reference twice is one reference",
      {
        containers: [{
          name: "c",
          envFrom: [{ secretRef: { name: "s" } }, { secretRef: { name: "s" } }],
        }],
      },
      { s: [{ via: "envFrom", container: "c" }] },
    ],
    [
      "what names no Secret: configMaps, plain env, empty names, no spec",
      {
        volumes: [
          { name: "cm", projected: { sources: [{}] } },
          { name: "empty", secret: {} },
        ],
        containers: [{
          name: "c",
          env: [{ name: "X" }, { name: "Y", valueFrom: {} }],
          envFrom: [{}],
        }],
      },
      {},
    ],
    ["no spec at all", undefined, {}],
  ];
  for (const [name, spec, want] of cases) {
    await t.step(name, () => {
      assert.deepEqual(Object.fromEntries(podSecretReferences(pod("p", spec))), want);
    });
  }
  await t.step("imagePullSecrets are not a use of a token", () => {
    const spec = { imagePullSecrets: [{ name: "s" }] } as PodLike["spec"];
    assert.deepEqual([...podSecretReferences(pod("p", spec)).keys()], []);
  });
});

Deno.test("ConsumerIndex maps Secrets to their Pods per namespace, with phase and controller", () => {
  const index = new ConsumerIndex();
  index.add([
    pod("web-1", { volumes: [{ name: "v", secret: { secretName: "tok" } }] }, {
      metadata: {
        ownerReferences: [{ kind: "Other", name: "x" }, controller("ReplicaSet", "web-5d")],
      },
      status: { phase: "Running" },
    }),
  ]);
  index.add([
    {
      ...pod("other-ns", { volumes: [{ name: "v", secret: { secretName: "tok" } }] }),
      metadata: { name: "o", namespace: "elsewhere" },
    },
    pod("done", { containers: [{ name: "c", envFrom: [{ secretRef: { name: "tok" } }] }] }, {
      status: { phase: "Succeeded" },
    }),
  ]);
  const users = index.of("ns", "tok");
  assert.deepEqual(users.map((c) => [c.name, c.phase, c.controller]), [
    ["web-1", "Running", { kind: "ReplicaSet", name: "web-5d" }],
    ["done", "Succeeded", undefined],
  ]);
  assert.deepEqual(index.of("elsewhere", "tok").map((c) => c.name), ["o"]);
  assert.deepEqual(index.of("ns", "missing"), []);
});

Deno.test("workloadOf() follows a ReplicaSet to its Deployment and a Job to its CronJob", async (t) => {
  const owned = (kind: string, name: string): OwnedObject => ({
    metadata: { name: "x", ownerReferences: [controller(kind, name)] },
  });
  const cases: [string, { kind: string; name: string }, OwnedObject | undefined, unknown][] = [
    [
      "ReplicaSet of a Deployment",
      { kind: "ReplicaSet", name: "web-5d" },
      owned("Deployment", "web"),
      { kind: "Deployment", name: "web" },
    ],
    ["ReplicaSet that could not be read", { kind: "ReplicaSet", name: "web-5d" }, undefined, {
      kind: "ReplicaSet",
      name: "web-5d",
    }],
    ["ReplicaSet without owner", { kind: "ReplicaSet", name: "rs" }, { metadata: { name: "rs" } }, {
      kind: "ReplicaSet",
      name: "rs",
    }],
    ["Job of a CronJob", { kind: "Job", name: "nightly-1" }, owned("CronJob", "nightly"), {
      kind: "CronJob",
      name: "nightly",
    }],
    ["Job owned by something else", { kind: "Job", name: "j" }, owned("Deployment", "d"), {
      kind: "Job",
      name: "j",
    }],
    ["StatefulSet directly", { kind: "StatefulSet", name: "db" }, undefined, {
      kind: "StatefulSet",
      name: "db",
    }],
  ];
  for (const [name, ref, owner, want] of cases) {
    await t.step(name, () => assert.deepEqual(workloadOf(ref, owner), want));
  }
});

Deno.test("resolveWorkloads() reads each ReplicaSet once and nothing for other kinds", async () => {
  const consumer = (name: string, kind?: string, owner?: string): SecretConsumer => ({
    kind: "Pod",
    namespace: "ns",
    name,
    references: [],
    controller: kind ? { kind, name: owner! } : undefined,
  });
  const consumers = [
    consumer("a", "ReplicaSet", "web-5d"),
    consumer("b", "ReplicaSet", "web-5d"),
    consumer("c", "DaemonSet", "agent"),
    consumer("d"),
    consumer("e", "ReplicaSet", "gone"),
  ];
  const reads: string[] = [];
  await resolveWorkloads(consumers, (kind, ns, name) => {
    reads.push(`${kind} ${ns}/${name}`);
    return Promise.resolve(
      name === "web-5d"
        ? { metadata: { name, ownerReferences: [controller("Deployment", "web")] } }
        : undefined,
    );
  });
  assert.deepEqual(reads, ["ReplicaSet ns/web-5d", "ReplicaSet ns/gone"]);
  assert.deepEqual(consumers.map((c) => c.workload), [
    { kind: "Deployment", name: "web" },
    { kind: "Deployment", name: "web" },
    { kind: "DaemonSet", name: "agent" },
    undefined,
    { kind: "ReplicaSet", name: "gone" },
  ]);
  assert.equal(
    consumersPhrase(consumers),
    "pod/a (deployment/web), pod/b (deployment/web), pod/c (daemonset/agent) and 2 more",
  );
});

function tokenItem(labels: Record<string, string> = {}) {
  return auditSecret(
    {
      metadata: {
        name: "tok",
        namespace: "ns",
        labels,
        annotations: { "kubernetes.io/service-account.name": "app" },
        creationTimestamp: "2026-01-01T00:00:00Z",
      },
      type: "kubernetes.io/service-account-token",
    },
    { uid: "u" },
    { now: new Date("2026-12-02T00:00:01Z"), unusedForMs: 90 * 86_400_000 },
  );
}

Deno.test("withConsumers() adds the in-use finding with the projected token volume", () => {
  const users: SecretConsumer[] = [{
    kind: "Pod",
    namespace: "ns",
    name: "web-1",
    references: [{ via: "env", container: "c", env: "T" }, { via: "volume", volume: "creds" }],
    workload: { kind: "Deployment", name: "web" },
  }];
  const item = withConsumers(tokenItem(), users);
  assert.equal(item.consumers, users);
  const inUse = item.findings.find((f) => f.type === "in-use");
  assert.equal(inUse?.severity, "info");
  assert.match(
    inUse!.reason,
    /^used by pod\/web-1 \(deployment\/web\); replace it with a projected/,
  );
  assert.equal(inUse!.replacement, projectedVolumeSnippet(item, users));
  assert.equal(
    inUse!.replacement,
    `# Replaces Secret "ns/tok" in the Pod template of Deployment "web".
# The kubelet renews the token before it expires; read it from the file each time.
# Environment variables cannot renew: read the token from <mountPath>/token instead.
spec:
  serviceAccountName: app
  volumes:
  - name: creds
    projected:
      defaultMode: 420
      sources:
      - serviceAccountToken:
          expirationSeconds: 3600
          path: token
      - configMap:
          name: kube-root-ca.crt
          items:
          - key: ca.crt
            path: ca.crt
      - downwardAPI:
          items:
          - path: namespace
            fieldRef:
              apiVersion: v1
              fieldPath: metadata.namespace
`,
  );
});

Deno.test("projectedVolumeSnippet() says how to mount it and what it replaces", async (t) => {
  const secret = { namespace: "ns", name: "tok", serviceAccount: "" };
  const user = (references: SecretConsumer["references"]): SecretConsumer[] => [{
    kind: "Pod",
    namespace: "ns",
    name: "solo",
    references,
  }];
  await t.step("env only: a new volume, and where to mount it", () => {
    const text = projectedVolumeSnippet(secret, user([{ via: "envFrom", container: "c" }]));
    assert.match(text, /^# Replaces Secret "ns\/tok" in Pod "solo"\.\n/);
    assert.match(text, /\n# Mount it in each container: volumeMounts: \[\{name: kube-api-access,/);
    assert.match(text, /\n# Environment variables cannot renew/);
    assert.ok(
      text.includes("\n  serviceAccountName: default\n  volumes:\n  - name: kube-api-access\n"),
    );
  });
  await t.step("a projected source: the source is replaced", () => {
    const text = projectedVolumeSnippet(secret, user([{ via: "projected", volume: "bundle" }]));
    assert.match(text, /\n# In a projected volume, this serviceAccountToken source replaces/);
    assert.doesNotMatch(text, /Environment variables/);
  });
  await t.step("a secret volume keeps its name and mounts", () => {
    const text = projectedVolumeSnippet(secret, user([{ via: "volume", volume: "creds" }]));
    assert.doesNotMatch(text, /Mount it|projected volume,|Environment/);
    assert.ok(text.includes("\n  - name: creds\n"));
  });
});

Deno.test("withConsumers() without Pods: a used token points outside the cluster, an unused one stays as it was", async (t) => {
  await t.step("recorded use, no Pod: kubectl token kubeconfig --exec", () => {
    const item = withConsumers(
      tokenItem({ "kubernetes.io/legacy-token-last-used": "2026-11-30" }),
      [],
    );
    const longLived = item.findings.find((f) => f.type === "long-lived")!;
    assert.equal(longLived.replacement, "kubectl token kubeconfig ns/app --exec");
    assert.match(longLived.reason, /no Pod uses it, so it is used from outside the cluster/);
    assert.ok(item.findings.every((f) => f.type !== "in-use"));
  });
  await t.step("no use, no Pod: no replacement", () => {
    const before = tokenItem();
    const item = withConsumers(tokenItem(), []);
    assert.deepEqual(item.findings, before.findings);
    assert.deepEqual(item.consumers, []);
  });
  await t.step("unknown consumers: recorded as unknown, no finding added", () => {
    const before = tokenItem({ "kubernetes.io/legacy-token-last-used": "2026-11-30" });
    const item = withConsumers(
      tokenItem({ "kubernetes.io/legacy-token-last-used": "2026-11-30" }),
      "unknown",
    );
    assert.equal(item.consumers, "unknown");
    assert.deepEqual(item.findings, before.findings);
  });
});
