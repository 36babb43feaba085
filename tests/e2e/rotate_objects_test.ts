import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { runCli, runKubectl } from "./_cli.ts";
import { admin, claims, create, freshNamespace, tokenKubeconfig } from "./_cluster.ts";
import { startTarget } from "./_target.ts";

Deno.test("rotate secret waits for the token controller and can delete the old Secret", async (t) => {
  const target = await startTarget({ tokenControllerDelayMs: 700 });
  try {
    const ns = await freshNamespace(target);
    const env = { KUBECONFIG: target.kubeconfig };
    await create(target, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "robot-token",
        namespace: ns,
        annotations: { "kubernetes.io/service-account.name": "robot" },
      },
      type: "kubernetes.io/service-account-token",
    });

    await t.step("--dry-run creates nothing", async () => {
      const r = await runCli(["rotate", "secret", "robot-token", "-n", ns, "--dry-run"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Would create a new token Secret for service account/);
    });

    await t.step(
      "prints the new name once the token is filled; --delete-old removes the old",
      async () => {
        const r = await runCli(
          ["rotate", "secret", "robot-token", "-n", ns, "--delete-old", "--grace", "1s"],
          { env },
        );
        assert.equal(r.code, 0, r.stderr);
        const name = r.stdout.trim();
        assert.match(name, /^robot-token-[a-z0-9]+$/);
        assert.match(r.stderr, /Secret ".*robot-token" deleted/);
        const get = await runCli(["create", "robot", "-n", ns], { env });
        assert.equal(get.code, 0);
        const data = await admin(target, [
          "get",
          "secret",
          name,
          "-n",
          ns,
          "-o",
          "jsonpath={.data.token}",
        ]);
        const token = Buffer.from(data, "base64").toString();
        assert.equal(claims(token).sub, `system:serviceaccount:${ns}:robot`);
        const old = await runKubectl(
          ["--kubeconfig", target.kubeconfig, "get", "secret", "robot-token", "-n", ns],
        );
        assert.equal(old.code, 1, "the old Secret is gone");
        assert.match(old.stderr, /NotFound|not found/);
      },
    );

    await t.step("a Secret of another type is refused", async () => {
      await create(target, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "plain", namespace: ns },
        type: "Opaque",
      });
      const r = await runCli(["rotate", "secret", "plain", "-n", ns], { env });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /is of type "Opaque", not "kubernetes.io\/service-account-token"/);
    });
  } finally {
    await target.close();
  }
});

Deno.test("rotate bootstrap creates a token like the old one and deletes the old on request", async () => {
  const target = await startTarget();
  try {
    const oldId = crypto.randomUUID().replaceAll("-", "").slice(0, 6);
    const expiration = new Date(Date.now() + 2 * 3600_000).toISOString().replace(/\.\d+Z$/, "Z");
    await create(target, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: `bootstrap-token-${oldId}`, namespace: "kube-system" },
      type: "bootstrap.kubernetes.io/token",
      stringData: {
        "token-id": oldId,
        "token-secret": "0123456789abcdef",
        "usage-bootstrap-authentication": "true",
        "usage-bootstrap-signing": "true",
        "auth-extra-groups": "system:bootstrappers:workers",
        description: "join workers",
        expiration,
      },
    });
    const env = { KUBECONFIG: target.kubeconfig };
    const r = await runCli(["rotate", "bootstrap", oldId, "--delete-old"], { env });
    assert.equal(r.code, 0, r.stderr);
    const token = r.stdout.trim();
    assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const id = token.slice(0, 6);
    const secret = JSON.parse(
      await admin(target, [
        "get",
        "secret",
        `bootstrap-token-${id}`,
        "-n",
        "kube-system",
        "-o",
        "json",
      ]),
    );
    const data = secret.data as Record<string, string>;
    const text = (k: string) => Buffer.from(data[k], "base64").toString();
    assert.equal(text("token-secret"), token.slice(7));
    assert.equal(text("auth-extra-groups"), "system:bootstrappers:workers");
    assert.equal(text("description"), "join workers");
    assert.equal(text("usage-bootstrap-signing"), "true");
    const ttl = Date.parse(text("expiration")) - Date.now();
    assert.ok(ttl > 3600_000 && ttl <= 2 * 3600_000 + 60_000, `TTL ${ttl}`);
    const old = await runKubectl(
      [
        "--kubeconfig",
        target.kubeconfig,
        "get",
        "secret",
        `bootstrap-token-${oldId}`,
        "-n",
        "kube-system",
      ],
    );
    assert.match(old.stderr, /NotFound|not found/);
    // The new token authenticates as its bootstrap user.
    const who = await runCli(
      ["whoami", "-o", "json", "--kubeconfig", await tokenKubeconfig(target, token)],
    );
    assert.equal(who.code, 0, who.stderr);
    assert.equal(JSON.parse(who.stdout).userInfo.username, `system:bootstrap:${id}`);
    await admin(target, ["delete", "secret", `bootstrap-token-${id}`, "-n", "kube-system"]);
  } finally {
    await target.close();
  }
});
