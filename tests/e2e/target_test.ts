/**
 * The capabilities other end-to-end tests branch on must describe the target truthfully: each
 * step checks one of them against what the server actually does, on the local server and on a
 * real one (`deno task test:real`).
 */
import assert from "node:assert/strict";
import { runCli, runKubectl } from "./_cli.ts";
import {
  admin,
  claims,
  create,
  eventually,
  freshNamespace,
  legacyToken,
  tokenKubeconfig,
} from "./_cluster.ts";
import { startTarget } from "./_target.ts";

const TOKEN_SECRET = "kubernetes.io/service-account-token";

Deno.test("the target's capabilities match what its server does", async (t) => {
  const target = await startTarget();
  const caps = target.capabilities;
  const env = { KUBECONFIG: target.kubeconfig };
  try {
    const ns = await freshNamespace(target);

    await t.step("version is the server's /version", async () => {
      const version = JSON.parse(await admin(target, ["get", "--raw", "/version"]));
      assert.equal(caps.version.gitVersion, version.gitVersion);
      assert.equal(caps.version.minor, parseInt(version.minor, 10));
    });

    await t.step(
      "selfSubjectReview: kubectl auth whoami works exactly when it is there",
      async () => {
        const r = await runKubectl(["auth", "whoami"], { env });
        assert.equal(r.code === 0, caps.selfSubjectReview, r.stderr);
      },
    );

    await t.step("credentialId: bound tokens carry a jti claim", async () => {
      const r = await runCli(["create", "robot", "-n", ns], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal("jti" in claims(r.stdout), caps.credentialId);
    });

    await t.step(
      "a legacy token Secret is filled, authenticates and decodes as legacy",
      async () => {
        const { token } = await legacyToken(target, ns, "robot");
        const kubeconfig = await tokenKubeconfig(target, token);
        const who = await runCli(["whoami", "-o", "json"], { env: { KUBECONFIG: kubeconfig } });
        assert.equal(who.code, 0, who.stderr);
        const doc = JSON.parse(who.stdout);
        assert.equal(doc.userInfo.username, `system:serviceaccount:${ns}:robot`);
        assert.match(doc.authentication.method, /legacy service-account token/);
        const decoded = await runCli(["decode", token, "--verify", "-o", "json"], { env });
        assert.equal(decoded.code, 0, decoded.stderr);
        assert.equal(JSON.parse(decoded.stdout).type, "legacy-service-account");
        assert.equal(JSON.parse(decoded.stdout).verification.valid, true);
      },
    );

    await t.step("legacyTokenAutoCreated: a token Secret per service account", async () => {
      // The token controller has worked on this namespace by now (legacyToken waited for it).
      const tokenSecretsOf = async (sa: string) => {
        const list = JSON.parse(await admin(target, ["get", "secrets", "-n", ns, "-o", "json"]));
        return list.items.filter((s: { type: string; metadata: { annotations?: object } }) =>
          s.type === TOKEN_SECRET &&
          (s.metadata.annotations as Record<string, string>)?.[
              "kubernetes.io/service-account.name"
            ] === sa
        );
      };
      if (caps.legacyTokenAutoCreated) {
        target.note("the token controller creates a legacy token Secret per service account");
        await eventually(async () => assert.ok((await tokenSecretsOf("default")).length >= 1));
      } else {
        assert.equal((await tokenSecretsOf("default")).length, 0);
      }
    });

    await t.step("legacyTokenLastUsedLabel: a used legacy token is labelled", async () => {
      const { name, token } = await legacyToken(target, ns, "robot");
      const kubeconfig = await tokenKubeconfig(target, token);
      const r = await runKubectl(["get", "--raw", "/api"], { env: { KUBECONFIG: kubeconfig } });
      assert.equal(r.code, 0, r.stderr);
      const label = async () =>
        JSON.parse(await admin(target, ["get", "secret", name, "-n", ns, "-o", "json"]))
          .metadata.labels?.["kubernetes.io/legacy-token-last-used"];
      if (caps.legacyTokenLastUsedLabel) {
        await eventually(async () => assert.match(await label(), /^\d{4}-\d\d-\d\d$/));
      } else {
        target.note("no kubernetes.io/legacy-token-last-used label before 1.28");
        assert.equal(await label(), undefined);
      }
    });

    await t.step({
      name: "bootstrapTokenAuth: a bootstrap token authenticates",
      ignore: !caps.bootstrapTokenAuth,
      fn: async () => {
        const id = crypto.randomUUID().replaceAll("-", "").slice(0, 6);
        const secret = "0123456789abcdef";
        await create(target, {
          apiVersion: "v1",
          kind: "Secret",
          type: "bootstrap.kubernetes.io/token",
          metadata: { name: `bootstrap-token-${id}`, namespace: "kube-system" },
          stringData: {
            "token-id": id,
            "token-secret": secret,
            "usage-bootstrap-authentication": "true",
          },
        });
        try {
          const kubeconfig = await tokenKubeconfig(target, `${id}.${secret}`);
          const r = await runKubectl(["get", "--raw", "/api"], { env: { KUBECONFIG: kubeconfig } });
          assert.equal(r.code, 0, r.stderr);
          const who = await runCli(["whoami", "-o", "json"], { env: { KUBECONFIG: kubeconfig } });
          assert.equal(who.code, 0, who.stderr);
          assert.equal(JSON.parse(who.stdout).userInfo.username, `system:bootstrap:${id}`);
        } finally {
          await admin(target, ["delete", "secret", `bootstrap-token-${id}`, "-n", "kube-system"]);
        }
      },
    });

    await t.step({
      name: "bootstrapControllers: the token cleaner deletes an expired token",
      ignore: !caps.bootstrapControllers,
      fn: async () => {
        const id = crypto.randomUUID().replaceAll("-", "").slice(0, 6);
        const name = `bootstrap-token-${id}`;
        await create(target, {
          apiVersion: "v1",
          kind: "Secret",
          type: "bootstrap.kubernetes.io/token",
          metadata: { name, namespace: "kube-system" },
          stringData: {
            "token-id": id,
            "token-secret": "0123456789abcdef",
            expiration: "2000-01-01T00:00:00Z",
          },
        });
        await eventually(async () => {
          const r = await runKubectl(
            ["--kubeconfig", target.kubeconfig, "get", "secret", name, "-n", "kube-system"],
          );
          assert.match(r.stderr, /NotFound|not found/);
        });
      },
    });

    await t.step({
      name: "bootstrapControllers: the signer signs cluster-info for a signing token",
      ignore: !caps.bootstrapControllers,
      fn: async () => {
        const id = crypto.randomUUID().replaceAll("-", "").slice(0, 6);
        const name = `bootstrap-token-${id}`;
        await create(target, {
          apiVersion: "v1",
          kind: "Secret",
          type: "bootstrap.kubernetes.io/token",
          metadata: { name, namespace: "kube-system" },
          stringData: {
            "token-id": id,
            "token-secret": "0123456789abcdef",
            "usage-bootstrap-signing": "true",
          },
        });
        try {
          await eventually(async () => {
            const cm = JSON.parse(
              await admin(target, ["get", "cm", "cluster-info", "-n", "kube-public", "-o", "json"]),
            );
            // A detached JWS: header..signature.
            assert.match(cm.data[`jws-kubeconfig-${id}`] ?? "", /^[\w-]+\.\.[\w-]+$/);
          });
        } finally {
          await admin(target, ["delete", "secret", name, "-n", "kube-system"]);
        }
      },
    });

    await t.step(
      "authCacheSeconds: a token dies with its service account within that",
      async () => {
        await create(target, {
          apiVersion: "v1",
          kind: "ServiceAccount",
          metadata: { name: "doomed", namespace: ns },
        });
        const token = (await runCli(["create", "doomed", "-n", ns], { env })).stdout;
        const kubeconfig = await tokenKubeconfig(target, token);
        const api = () => runKubectl(["get", "--raw", "/api"], { env: { KUBECONFIG: kubeconfig } });
        assert.equal((await api()).code, 0);
        await admin(target, ["delete", "serviceaccount", "doomed", "-n", ns]);
        if (caps.authCacheSeconds) {
          target.note(`token logins are cached: waiting up to ${caps.authCacheSeconds} s`);
        }
        await eventually(async () => {
          const r = await api();
          assert.equal(r.code, 1);
          assert.match(r.stderr, /Unauthorized|must be logged in/);
        }, { timeoutMs: (caps.authCacheSeconds + 20) * 1000, intervalMs: 1000 });
      },
    );
  } finally {
    await target.close();
  }
});
