import assert from "node:assert/strict";
import { runCli, runKubectl } from "./_cli.ts";
import { admin, claims, create, freshNamespace, robotToken, tokenKubeconfig } from "./_cluster.ts";
import { startTarget } from "./_target.ts";

Deno.test("kubectl token create requests tokens with the asked claims", async (t) => {
  const target = await startTarget();
  try {
    const env = { KUBECONFIG: target.kubeconfig };
    const ns = await freshNamespace(target);

    await t.step("bare token on stdout, no newline when not a terminal", async () => {
      const r = await runKubectl(["token", "create", "robot", "-n", ns], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /\n/);
      const c = claims(r.stdout);
      assert.equal(c.sub, `system:serviceaccount:${ns}:robot`);
      const k = c["kubernetes.io"] as { namespace: string; serviceaccount: { name: string } };
      assert.equal(k.namespace, ns);
      assert.equal(k.serviceaccount.name, "robot");
    });

    await t.step("audiences and a Go-style duration", async () => {
      const r = await runCli(
        ["create", "robot", "-n", ns, "--audience", "a", "--audience", "b", "--duration", "1h30m"],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      const c = claims(r.stdout);
      assert.deepEqual(c.aud, ["a", "b"]);
      assert.equal((c.exp as number) - (c.iat as number), 5400);
    });

    await t.step("bound to a Secret, with its UID", async () => {
      const secret = await create(target, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "anchor", namespace: ns },
        type: "Opaque",
      });
      const uid = secret.items?.[0]?.metadata?.uid ?? secret.metadata?.uid;
      const r = await runCli([
        "create",
        "robot",
        "-n",
        ns,
        "--bound-object-kind",
        "Secret",
        "--bound-object-name",
        "anchor",
      ], { env });
      assert.equal(r.code, 0, r.stderr);
      const k = claims(r.stdout)["kubernetes.io"] as { secret: { name: string; uid: string } };
      assert.equal(k.secret.name, "anchor");
      assert.ok(uid, "the Secret has a UID");
      assert.equal(k.secret.uid, uid);
    });

    await t.step("bound to a Pod, with its UID", async () => {
      const created = await create(target, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "worker", namespace: ns },
        // No token volume: before 1.21 admission wants the legacy token Secret for that.
        spec: {
          serviceAccountName: "robot",
          automountServiceAccountToken: false,
          containers: [{ name: "app", image: "busybox" }],
        },
      });
      const uid = created.items?.[0]?.metadata?.uid ?? created.metadata?.uid;
      const r = await runCli(
        [
          "create",
          "robot",
          "-n",
          ns,
          "--bound-object-kind",
          "Pod",
          "--bound-object-name",
          "worker",
        ],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      const k = claims(r.stdout)["kubernetes.io"] as { pod: { name: string; uid: string } };
      assert.equal(k.pod.name, "worker");
      assert.ok(uid, "the Pod has a UID");
      assert.equal(k.pod.uid, uid);
    });

    await t.step("bound to a Node where the server allows it, else its refusal", async () => {
      const name = `e2e-node-${ns}`;
      await create(target, { apiVersion: "v1", kind: "Node", metadata: { name } });
      try {
        const r = await runCli(
          ["create", "robot", "-n", ns, "--bound-object-kind", "Node", "--bound-object-name", name],
          { env },
        );
        if (target.capabilities.nodeBoundTokens) {
          assert.equal(r.code, 0, r.stderr);
          const k = claims(r.stdout)["kubernetes.io"] as { node: { name: string } };
          assert.equal(k.node.name, name);
        } else {
          target.note("Node-bound tokens are refused before 1.31: checking the server's reason");
          assert.equal(r.code, 1);
          assert.match(r.stderr, /cannot bind token to object of type .*Node/);
          assert.equal(r.stdout, "");
        }
      } finally {
        await admin(target, ["delete", "node", name]);
      }
    });

    await t.step(
      "-o json prints the TokenRequest, -o exec-credential an ExecCredential",
      async () => {
        const j = await runCli(["create", "robot", "-n", ns, "-o", "json"], { env });
        assert.equal(j.code, 0, j.stderr);
        const tr = JSON.parse(j.stdout);
        assert.equal(tr.kind, "TokenRequest");
        assert.ok(tr.status.token);
        const e = await runCli(["create", "robot", "-n", ns, "-o", "exec-credential"], { env });
        const ec = JSON.parse(e.stdout);
        assert.equal(ec.kind, "ExecCredential");
        assert.equal(ec.apiVersion, "client.authentication.k8s.io/v1");
        assert.ok(ec.status.token);
        assert.match(ec.status.expirationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        const y = await runCli(["create", "robot", "-n", ns, "-o", "yaml"], { env });
        assert.match(y.stdout, /^apiVersion: authentication.k8s.io\/v1$/m);
      },
    );

    await t.step("a missing service account fails with the server's reason", async () => {
      const r = await runCli(["create", "nope", "-n", ns], { env });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /serviceaccounts? "nope" not found/);
      assert.equal(r.stdout, "");
    });
  } finally {
    await target.close();
  }
});

Deno.test("create says so on stderr when the server shortens the lifetime", async () => {
  const target = await startTarget({ maxTokenExpirationSeconds: 3600 });
  try {
    const max = target.capabilities.maxTokenExpirationSeconds;
    if (!max) {
      target.note("the cluster's maximum token lifetime is unknown (KUBECTL_TOKEN_E2E_TARGET)");
      return;
    }
    const r = await runCli(["create", "default", "--duration", `${max * 2}s`], {
      env: { KUBECONFIG: target.kubeconfig },
    });
    assert.equal(r.code, 0, r.stderr);
    // 1.20 shortens silently, later servers send a Warning header: either way the user is told.
    if (target.capabilities.version.minor < 24) {
      target.note("the server sends no Warning when it shortens: kubectl-token says so itself");
    }
    assert.match(r.stderr, new RegExp(`^Warning: .*(shorten|${max})`, "m"));
    const c = claims(r.stdout);
    assert.ok((c.exp as number) - (c.iat as number) <= max);
    assert.ok(!r.stderr.includes(r.stdout));
  } finally {
    await target.close();
  }
});

Deno.test("create refuses a lifetime under the server's minimum with the server's reason", async () => {
  const target = await startTarget();
  try {
    const r = await runCli(["create", "default", "--duration", "5m"], {
      env: { KUBECONFIG: target.kubeconfig },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /less than 10 minutes/);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  } finally {
    await target.close();
  }
});

Deno.test("create without permission fails with the Forbidden message and exit 1", async () => {
  const target = await startTarget();
  try {
    const ns = await freshNamespace(target);
    const token = await robotToken(target, ns);
    const r = await runCli(["create", "robot", "-n", ns], {
      env: { KUBECONFIG: await tokenKubeconfig(target, token) },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /forbidden/i);
    assert.ok(!r.stderr.includes(token));
  } finally {
    await target.close();
  }
});
