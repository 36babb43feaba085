import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { runCli } from "./_cli.ts";
import { claims, create, freshNamespace } from "./_cluster.ts";
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
        if (target.local) {
          const secret = target.local.store.get("v1", "Secret", ns, name)!;
          const token = Buffer.from((secret.data as Record<string, string>).token, "base64")
            .toString();
          assert.equal(claims(token).sub, `system:serviceaccount:${ns}:robot`);
          assert.equal(target.local.store.get("v1", "Secret", ns, "robot-token"), undefined);
        }
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
    if (!target.local) return; // seeds kube-system directly
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const expiration = new Date(Date.now() + 2 * 3600_000).toISOString().replace(/\.\d+Z$/, "Z");
    target.local.store.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "bootstrap-token-abcdef", namespace: "kube-system" },
      type: "bootstrap.kubernetes.io/token",
      data: {
        "token-id": b64("abcdef"),
        "token-secret": b64("0123456789abcdef"),
        "usage-bootstrap-authentication": b64("true"),
        "usage-bootstrap-signing": b64("true"),
        "auth-extra-groups": b64("system:bootstrappers:workers"),
        description: b64("join workers"),
        expiration: b64(expiration),
      },
    });
    const env = { KUBECONFIG: target.kubeconfig };
    const r = await runCli(["rotate", "bootstrap", "abcdef", "--delete-old"], { env });
    assert.equal(r.code, 0, r.stderr);
    const token = r.stdout.trim();
    assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const id = token.slice(0, 6);
    const secret = target.local.store.get("v1", "Secret", "kube-system", `bootstrap-token-${id}`)!;
    const data = secret.data as Record<string, string>;
    const text = (k: string) => Buffer.from(data[k], "base64").toString();
    assert.equal(text("token-secret"), token.slice(7));
    assert.equal(text("auth-extra-groups"), "system:bootstrappers:workers");
    assert.equal(text("description"), "join workers");
    assert.equal(text("usage-bootstrap-signing"), "true");
    const ttl = Date.parse(text("expiration")) - Date.now();
    assert.ok(ttl > 3600_000 && ttl <= 2 * 3600_000 + 60_000, `TTL ${ttl}`);
    assert.equal(
      target.local.store.get("v1", "Secret", "kube-system", "bootstrap-token-abcdef"),
      undefined,
    );
    // The new token authenticates as its bootstrap user.
    const who = await runCli(
      ["whoami", "-o", "json", "--kubeconfig", await target.local.writeKubeconfig("bt", { token })],
    );
    assert.equal(JSON.parse(who.stdout).userInfo.username, `system:bootstrap:${id}`);
  } finally {
    await target.close();
  }
});
