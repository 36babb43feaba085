/**
 * Who still uses each legacy token Secret: a Deployment's Pod that names four Secrets (secret
 * volume, projected source, env, envFrom) and a bare Pod. `audit` reports each Secret with its
 * Pods and the owning workload, and the projected token volume that replaces it; `revoke` by
 * selector keeps Secrets in use unless --force, and still deletes one nobody uses. Runs on the
 * local server (which has no controllers: the test creates the ReplicaSet and the Pod the
 * controllers would) and on the real 1.20 one (whose controllers make them; the Pods stay Pending
 * without a scheduler, and are consumers all the same).
 */
import assert from "node:assert/strict";
import { runCli, runKubectl } from "./_cli.ts";
import {
  admin,
  create,
  eventually,
  freshNamespace,
  legacyToken,
  robotToken,
  tokenKubeconfig,
} from "./_cluster.ts";
import { REAL_TARGET, startTarget, type Target } from "./_target.ts";
import { DAY_MS, tokenSecret } from "./_audit_seed.ts";
import { CLOCK_ENV } from "../../src/runtime.ts";

interface Consumer {
  kind: string;
  namespace: string;
  name: string;
  phase?: string;
  references: { via: string; volume?: string; container?: string; env?: string }[];
  controller?: { kind: string; name: string };
  workload?: { kind: string; name: string };
}
interface Item {
  kind: string;
  name: string;
  consumers?: Consumer[] | null;
  findings: { type: string; severity: string; reason: string; replacement?: string }[];
}

/** The Secret token controllers of servers before 1.24 made for a service account. */
async function autoToken(target: Target, ns: string, sa: string): Promise<string> {
  return await eventually(async () => {
    const out = await admin(target, ["get", "sa", sa, "-n", ns, "-o", "json"]);
    const name = JSON.parse(out).secrets?.[0]?.name;
    if (!name) throw new Error(`service account "${sa}" has no token Secret yet`);
    return name as string;
  });
}

/** The object kubectl create printed (one object is printed as itself, not as a List). */
function one(out: { items?: unknown[] }) {
  return (out.items?.[0] ?? out) as { kind: string; metadata: { name: string; uid: string } };
}

/** A Pod spec that names each Secret one way. */
function podSpec(secrets: { volume: string; projected: string; env: string; envFrom: string }) {
  return {
    serviceAccountName: "app",
    automountServiceAccountToken: false,
    imagePullSecrets: [{ name: "lonely-pull" }],
    volumes: [
      { name: "creds", secret: { secretName: secrets.volume } },
      { name: "bundle", projected: { sources: [{ secret: { name: secrets.projected } }] } },
    ],
    containers: [{
      name: "app",
      image: "busybox",
      env: [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: secrets.env, key: "token" } } }],
      envFrom: [{ secretRef: { name: secrets.envFrom } }],
    }],
  };
}

Deno.test("audit names the Pods and workloads that use each legacy token, and revoke keeps those Secrets", async (t) => {
  const target = await startTarget();
  try {
    const ns = await freshNamespace(target, "consumers");
    await create(target, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "app", namespace: ns },
    });
    // On 1.20 the token controller's own Secret is the one Pods mounted (the example).
    const volume = target.capabilities.legacyTokenAutoCreated
      ? await autoToken(target, ns, "app")
      : (await legacyToken(target, ns, "app", "app-token-vol")).name;
    const secrets = {
      volume,
      projected: (await legacyToken(target, ns, "app", "app-token-proj")).name,
      env: (await legacyToken(target, ns, "app", "app-token-env")).name,
      envFrom: (await legacyToken(target, ns, "app", "app-token-envfrom")).name,
    };
    const lonely = (await legacyToken(target, ns, "app", "lonely-pull")).name;
    const spec = podSpec(secrets);
    const labels = { app: "web" };
    const deployment = one(
      await create(target, {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", namespace: ns },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec },
        },
      }),
    );
    if (target.kind === "local") {
      // What the deployment and replicaset controllers would do.
      const owner = (o: { kind: string; metadata: { name: string; uid: string } }) => [{
        apiVersion: "apps/v1",
        kind: o.kind,
        name: o.metadata.name,
        uid: o.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      }];
      const rs = one(
        await create(target, {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          metadata: {
            name: "web-5d8f9c",
            namespace: ns,
            labels,
            ownerReferences: owner(deployment),
          },
          spec: {
            replicas: 1,
            selector: { matchLabels: labels },
            template: { metadata: { labels }, spec },
          },
        }),
      );
      await create(target, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "web-5d8f9c-x2v4q", namespace: ns, labels, ownerReferences: owner(rs) },
        spec,
      });
    } else target.note("the Deployment's controllers create its ReplicaSet and Pod");
    await create(target, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "solo", namespace: ns },
      spec: {
        serviceAccountName: "app",
        automountServiceAccountToken: false,
        volumes: [{ name: "creds", secret: { secretName: secrets.volume } }],
        containers: [{ name: "app", image: "busybox" }],
      },
    });
    const audit = async () => {
      const r = await runCli(["audit", "-n", ns, "--kind", "secret", "-o", "json"], {
        env: { KUBECONFIG: target.kubeconfig },
      });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).items as Item[];
    };
    const item = (items: Item[], name: string) => {
      const found = items.find((i) => i.kind === "Secret" && i.name === name);
      assert.ok(found, `Secret "${name}" is audited`);
      return found;
    };
    const webPod = (i: Item) => (i.consumers ?? []).find((c) => c.name.startsWith("web-"));
    // The real server's controllers create the Pod a moment after the Deployment.
    const items = await eventually(async () => {
      const items = await audit();
      assert.ok(webPod(item(items, secrets.envFrom)), "the Deployment's Pod is listed");
      return items;
    }, { timeoutMs: 60_000, intervalMs: 1000 });

    await t.step(
      "-o json: each way of naming the Secret, with the Pod, its phase and workload",
      () => {
        for (
          const [name, via] of [
            [secrets.volume, "volume"],
            [secrets.projected, "projected"],
            [secrets.env, "env"],
            [secrets.envFrom, "envFrom"],
          ]
        ) {
          const pod = webPod(item(items, name));
          assert.ok(pod, `Secret "${name}" has the Deployment's Pod as consumer`);
          assert.equal(pod.kind, "Pod");
          assert.equal(pod.namespace, ns);
          assert.equal(pod.phase, "Pending");
          assert.deepEqual(pod.references.map((r) => r.via), [via]);
          assert.equal(pod.controller?.kind, "ReplicaSet");
          assert.deepEqual(pod.workload, { kind: "Deployment", name: "web" });
          const inUse = item(items, name).findings.find((f) => f.type === "in-use");
          assert.ok(inUse, `Secret "${name}" has an in-use finding`);
          assert.equal(inUse.severity, "info");
          assert.match(inUse.reason, /^used by (pod\/solo, )?pod\/web-\S+ \(deployment\/web\); /);
          assert.match(
            inUse.replacement ?? "",
            /- serviceAccountToken:\n +expirationSeconds: 3600\n +path: token\n/,
          );
          assert.match(inUse.replacement ?? "", /name: kube-root-ca\.crt\n/);
          assert.match(inUse.replacement ?? "", /fieldPath: metadata\.namespace\n/);
          assert.ok((inUse.replacement ?? "").includes("\n  serviceAccountName: app\n"));
        }
        const env = webPod(item(items, secrets.env))!.references[0];
        assert.deepEqual(env, { via: "env", container: "app", env: "TOKEN" });
        // The volume keeps its name, so the containers' volumeMounts need no change.
        assert.ok(
          item(items, secrets.volume).findings.find((f) => f.type === "in-use")!.replacement!
            .includes("\n  - name: creds\n    projected:\n"),
        );
        const solo = item(items, secrets.volume).consumers?.find((c) => c.name === "solo");
        assert.ok(solo, "the bare Pod is a consumer too");
        assert.equal(solo.workload, undefined);
        assert.deepEqual(solo.references, [{ via: "volume", volume: "creds" }]);
        // An image pull secret is not a use of a token.
        assert.deepEqual(item(items, lonely).consumers, []);
        assert.ok(item(items, lonely).findings.every((f) => f.type !== "in-use"));
      },
    );

    await t.step("-o wide: the CONSUMERS column", async () => {
      const r = await runCli(["audit", "-n", ns, "--kind", "secret", "-o", "wide"], {
        env: { KUBECONFIG: target.kubeconfig },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^NAMESPACE\s.*\sDESCRIPTION\s+CONSUMERS\s+REASONS\n/);
      const row = (name: string) => r.stdout.split("\n").find((l) => l.includes(` ${name} `)) ?? "";
      assert.match(row(secrets.envFrom), /\spod\/web-\S+ \(deployment\/web\)\s/);
      assert.match(row(secrets.volume), /pod\/solo/);
      assert.match(row(lonely), /\s<none>\s+a Secret-based token/);
    });

    await t.step(
      "--chunk-size 1: the Pods are read in pages, with the same consumers",
      async () => {
        const r = await runCli(
          ["audit", "-n", ns, "--kind", "secret", "-o", "json", "--chunk-size", "1"],
          { env: { KUBECONFIG: target.kubeconfig } },
        );
        assert.equal(r.code, 0, r.stderr);
        const paged = JSON.parse(r.stdout).items as Item[];
        for (const name of Object.values(secrets)) {
          assert.deepEqual(item(paged, name).consumers, item(items, name).consumers);
        }
        const pages = (await target.requests()).filter((q) =>
          q.method === "GET" && q.path === `/api/v1/namespaces/${ns}/pods` &&
          q.query.limit === "1"
        );
        assert.deepEqual(
          pages.map((q) => Boolean(q.query.continue)),
          [false, true],
          "two Pods, one a page",
        );
      },
    );

    await t.step("kubectl lists the workloads the audit names", async () => {
      const out = await admin(target, ["get", "rs,deploy", "-n", ns]);
      assert.match(out, /^replicaset\.apps\/web-\S+\s+1\s/m);
      assert.match(out, /^deployment\.apps\/web\s+0\/1\s/m);
    });

    // The local server stores no ConfigMaps: kube-root-ca.crt is checked on a real one.
    await t.step({
      name: "the replacement's CA ConfigMap exists in the namespace",
      ignore: target.kind === "local",
      fn: async () => {
        // The root-CA publisher (on by default from 1.20) creates it in every namespace.
        const cm = await eventually(async () =>
          JSON.parse(
            await admin(target, ["get", "configmap", "kube-root-ca.crt", "-n", ns, "-o", "json"]),
          )
        );
        assert.match(cm.data["ca.crt"], /^-----BEGIN CERTIFICATE-----/);
      },
    });

    // Every Secret here is older than 90 days by this clock; none has recorded use.
    const later = {
      KUBECONFIG: target.kubeconfig,
      [CLOCK_ENV]: new Date(Date.now() + 200 * DAY_MS).toISOString(),
    };
    const exists = async (name: string) =>
      (await runKubectl(["--kubeconfig", target.kubeconfig, "get", "secret", name, "-n", ns]))
        .code === 0;

    await t.step(
      "revoke --unused-for keeps the Secrets in use and deletes the unused one",
      async () => {
        const r = await runCli(["revoke", "-n", ns, "--unused-for", "90d", "--yes"], {
          env: later,
        });
        assert.equal(r.code, 0, r.stderr);
        for (const name of Object.values(secrets)) {
          assert.match(
            r.stderr,
            new RegExp(
              `^Skipping Secret "${ns}/${name}": used by pod/\\S+.* \\(--force deletes it anyway\\)$`,
              "m",
            ),
          );
          assert.ok(await exists(name), `Secret "${name}" is kept`);
        }
        assert.match(r.stdout, new RegExp(`secret "${ns}/${lonely}" deleted\\n`));
        assert.equal(await exists(lonely), false);
      },
    );

    await t.step("revoke --unused-for --force deletes them", async () => {
      const r = await runCli(["revoke", "-n", ns, "--unused-for", "90d", "--force", "--yes"], {
        env: later,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /Skipping/);
      for (const name of Object.values(secrets)) {
        assert.match(r.stdout, new RegExp(`secret "${ns}/${name}" deleted\\n`));
      }
    });
  } finally {
    await target.close();
  }
});

Deno.test("when the Pods cannot be listed, consumers are unknown and no selector deletes the Secret", async (t) => {
  const target = await startTarget();
  try {
    const ns = await freshNamespace(target, "consumers-rbac");
    const { name } = await legacyToken(target, ns, "robot", "robot-legacy");
    const rbac = {
      apiVersion: "v1",
      kind: "List",
      items: [{
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "no-pods", namespace: ns },
        rules: [{ apiGroups: [""], resources: ["secrets", "serviceaccounts"], verbs: ["list"] }],
      }, {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "no-pods", namespace: ns },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "no-pods" },
        subjects: [{ kind: "ServiceAccount", name: "robot", namespace: ns }],
      }],
    };
    await admin(target, ["create", "--validate=false", "-f", "-"], JSON.stringify(rbac));
    const kubeconfig = await tokenKubeconfig(target, await robotToken(target, ns), ns);
    const warning = new RegExp(
      `^Warning: cannot list pods in namespace "${ns}": .*forbidden.*; ` +
        `the consumers of the token Secrets are unknown$`,
      "m",
    );

    await t.step(
      "audit warns, and -o json has consumers: null and the list as incomplete",
      async () => {
        // The Role reaches the authorizer's cache a moment after it is created.
        const r = await eventually(async () => {
          const r = await runCli(["audit", "-o", "json"], { env: { KUBECONFIG: kubeconfig } });
          assert.equal(r.code, 0, r.stderr);
          assert.ok(JSON.parse(r.stdout).items.some((i: Item) => i.name === name), r.stderr);
          return r;
        });
        assert.match(r.stderr, warning);
        assert.equal(r.stderr.match(/Warning:/g)?.length, 1, r.stderr);
        const doc = JSON.parse(r.stdout);
        const secret = (doc.items as Item[]).find((i) => i.name === name)!;
        assert.equal(secret.consumers, null);
        assert.ok(secret.findings.every((f) => f.type !== "in-use"));
        assert.deepEqual(
          doc.summary.incomplete.map((l: { resource: string }) => l.resource),
          ["pods"],
        );
        const wide = await runCli(["audit", "-o", "wide", "--kind", "secret"], {
          env: { KUBECONFIG: kubeconfig },
        });
        assert.match(
          wide.stdout,
          new RegExp(`\\s${name}\\s.*\\s<unknown>\\s+a Secret-based token`),
        );
      },
    );

    await t.step("revoke --unused-for --force skips it", async () => {
      const later = new Date(Date.now() + 200 * DAY_MS).toISOString();
      const r = await runCli(["revoke", "--unused-for", "90d", "--force", "--yes"], {
        env: { KUBECONFIG: kubeconfig, [CLOCK_ENV]: later },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, warning);
      assert.match(
        r.stderr,
        new RegExp(
          `^Skipping Secret "${ns}/${name}": its consumers are unknown \\(the Pods could not be ` +
            `listed\\); revoke secret ${name} -n ${ns} deletes it by name$`,
          "m",
        ),
      );
      assert.match(r.stderr, /Nothing to revoke: no object matches the selectors/);
      await admin(target, ["get", "secret", name, "-n", ns]);
    });
  } finally {
    await target.close();
  }
});

// The real token controller deletes a Secret whose service account is gone at once: orphaned
// token Secrets do not last there, so this runs on the local server only.
Deno.test(
  "revoke --orphaned -A keeps an orphaned Secret a Pod mounts, and deletes it with --force",
  {
    ignore: REAL_TARGET,
  },
  async () => {
    const target = await startTarget();
    try {
      const server = target.local;
      if (!server) throw new Error("no local server (the test is ignored on a real one)");
      const ns = await freshNamespace(target, "consumers-orphan");
      tokenSecret(server, ns, "ghost-mounted", { sa: "ghost" });
      tokenSecret(server, ns, "ghost-unused", { sa: "ghost" });
      await create(target, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "runner", namespace: ns },
        spec: {
          volumes: [{ name: "t", secret: { secretName: "ghost-mounted" } }],
          containers: [{ name: "c", image: "busybox" }],
        },
      });
      const env = { KUBECONFIG: target.kubeconfig };
      const names = () => server.store.list("v1", "Secret", ns).map((s) => s.metadata.name).sort();
      const r = await runCli(["revoke", "--orphaned", "-A", "--yes"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^Skipping Secret "${ns}/ghost-mounted": used by pod/runner \\(--force deletes it anyway\\)$`,
          "m",
        ),
      );
      assert.match(r.stdout, new RegExp(`secret "${ns}/ghost-unused" deleted\\n`));
      assert.deepEqual(names().filter((n) => n?.startsWith("ghost")), ["ghost-mounted"]);
      const forced = await runCli(["revoke", "--orphaned", "-A", "--force", "--yes"], { env });
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(forced.stdout, new RegExp(`secret "${ns}/ghost-mounted" deleted\\n`));
      assert.deepEqual(names().filter((n) => n?.startsWith("ghost")), []);
    } finally {
      await target.close();
    }
  },
);
