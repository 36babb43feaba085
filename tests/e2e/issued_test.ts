import assert from "node:assert/strict";
import { runCli, runKubectl } from "./_cli.ts";
import {
  admin,
  create,
  eventually,
  freshNamespace,
  kubectlUser,
  robotToken,
  tokenKubeconfig,
} from "./_cluster.ts";
import { startTarget } from "./_target.ts";

const TYPE = "kubectl-token.io/issued-token";

Deno.test("kubectl token create --revocable issues a listed token that revoke issued ends alone", async (t) => {
  const target = await startTarget();
  try {
    const env = { KUBECONFIG: target.kubeconfig };
    const ns = await freshNamespace(target, "issued");
    const works = async (jwt: string) =>
      (await runCli(["whoami"], { env: { KUBECONFIG: await tokenKubeconfig(target, jwt) } }))
        .code === 0;
    const { authCacheSeconds } = target.capabilities;
    const issue = async (purpose: string) => {
      const r = await runCli(
        ["create", "robot", "-n", ns, "--revocable", "--purpose", purpose, "--duration", "1h"],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      const m =
        /^issued token "(robot-issued-[a-z0-9]{5})" in namespace "([^"]+)" \(revoke it with: kubectl token revoke issued \1 -n \2\)\n$/
          .exec(r.stderr);
      assert.ok(m, r.stderr);
      assert.equal(m[2], ns);
      assert.ok(!r.stderr.includes(r.stdout));
      return { token: r.stdout, id: m[1] };
    };
    const secretOf = async (id: string) =>
      JSON.parse(await admin(target, ["get", "secret", id, "-n", ns, "-o", "json"]));
    // The requester recorded is who whoami says the admin is (from the server, or else from the
    // client certificate on servers without SelfSubjectReview).
    const who = await runCli(["whoami", "-o", "json"], { env });
    assert.equal(who.code, 0, who.stderr);
    const requester: string = JSON.parse(who.stdout).userInfo.username;
    if (target.capabilities.selfSubjectReview) {
      assert.equal(requester, await kubectlUser(target, ["--kubeconfig", target.kubeconfig]));
    }

    const first = await issue("nightly backup");
    const second = await issue("release pipeline");

    await t.step("the token authenticates and is bound to its registry Secret", async () => {
      assert.ok(await works(first.token));
      const secret = await secretOf(first.id);
      const sa = JSON.parse(await admin(target, ["get", "sa", "robot", "-n", ns, "-o", "json"]));
      assert.equal(secret.type, TYPE);
      assert.equal(secret.data, undefined);
      assert.deepEqual(secret.metadata.ownerReferences, [{
        apiVersion: "v1",
        kind: "ServiceAccount",
        name: "robot",
        uid: sa.metadata.uid,
      }]);
      const a = secret.metadata.annotations;
      assert.equal(a["kubectl-token.io/purpose"], "nightly backup");
      assert.equal(a["kubectl-token.io/requester"], requester);
      assert.match(a["kubectl-token.io/fingerprint"], /^[0-9a-f]{12}$/);
      assert.ok(!JSON.stringify(secret).includes(first.token));
      assert.equal(secret.metadata.labels["kubectl-token.io/service-account"], "robot");
      const payload = JSON.parse(
        atob(first.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")),
      );
      assert.deepEqual(payload["kubernetes.io"].secret, {
        name: first.id,
        uid: secret.metadata.uid,
      });
      assert.equal(
        a["kubectl-token.io/expires-at"],
        new Date(payload.exp * 1000).toISOString().replace(/\.000Z$/, "Z"),
      );
      if (target.capabilities.credentialId) assert.equal(a["kubectl-token.io/jti"], payload.jti);
      else {
        assert.equal(a["kubectl-token.io/jti"], undefined);
        target.note("no jti claim before 1.29: the registry records none");
      }
    });

    await t.step("issued lists both tokens with their purpose and state", async () => {
      const r = await runCli(["issued", "-n", ns], { env });
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split("\n");
      assert.match(
        lines[0],
        /^ID\s+SERVICE ACCOUNT\s+REQUESTER\s+PURPOSE\s+AUDIENCES\s+AGE\s+EXPIRES\s+STATE$/,
      );
      assert.equal(lines.length, 3);
      for (const [entry, purpose] of [[first, "nightly backup"], [second, "release pipeline"]]) {
        const line = lines.find((l) => l.startsWith(`${(entry as { id: string }).id} `));
        assert.ok(line, r.stdout);
        assert.match(
          line,
          new RegExp(`\\s+robot\\s+${requester}\\s+${purpose}\\s+.*\\s+in 5\\dm\\s+active$`),
        );
      }
      const json = await runCli(["issued", "-A", "-o", "json"], { env });
      assert.equal(json.code, 0, json.stderr);
      const items = JSON.parse(json.stdout).items.filter((i: { namespace: string }) =>
        i.namespace === ns
      );
      assert.deepEqual(items.map((i: { id: string }) => i.id).sort(), [first.id, second.id].sort());
      assert.ok(!json.stdout.includes(first.token));
    });

    await t.step("revoke issued refuses without confirmation and deletes nothing", async () => {
      const r = await runCli(["revoke", "issued", first.id, "-n", ns], { env });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Refusing to delete without confirmation/);
      assert.equal((await secretOf(first.id)).metadata.name, first.id);
    });

    await t.step(
      "revoke issued ends that token, proven by TokenReview; the other works",
      async () => {
        const r = await runCli(
          ["revoke", "issued", first.id, "-n", ns, "--yes", "--token-file", "-"],
          { env, stdin: first.token },
        );
        assert.equal(r.code, 0, r.stderr);
        assert.match(
          r.stdout,
          new RegExp(
            `^issued token "${ns}/${first.id}" of service account "robot" \\(fingerprint [0-9a-f]{12}\\) revoked\\n` +
              `TokenReview: the token is refused \\(checked \\d+s after revoking\\)\\n$`,
          ),
        );
        assert.ok(!r.stdout.includes(first.token) && !r.stderr.includes(first.token));
        // A real request, too (the server may have cached the login for a few seconds).
        await eventually(async () => assert.equal(await works(first.token), false), {
          timeoutMs: (authCacheSeconds + 20) * 1000,
          intervalMs: 1000,
        });
        assert.ok(await works(second.token));
        const list = await runCli(["issued", "-n", ns, "-o", "json"], { env });
        assert.deepEqual(JSON.parse(list.stdout).items.map((i: { id: string }) => i.id), [
          second.id,
        ]);
      },
    );

    await t.step(
      "revoke issued without the token says how long the server may accept it",
      async () => {
        const r = await runCli(["revoke", "issued", second.id, "-n", ns, "--yes"], { env });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /revoked\nThe API server may still accept it for up to ~10s/);
        await eventually(async () => assert.equal(await works(second.token), false), {
          timeoutMs: (authCacheSeconds + 20) * 1000,
          intervalMs: 1000,
        });
        const again = await runCli(["revoke", "issued", second.id, "-n", ns, "--yes"], { env });
        assert.equal(again.code, 1);
        assert.match(
          again.stderr,
          new RegExp(
            `error: Cannot revoke issued token "${ns}/${second.id}": it is not in the registry`,
          ),
        );
      },
    );

    await t.step("without the right to create Secrets, no token is issued", async () => {
      await create(target, {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "token-requester", namespace: ns },
        rules: [
          { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get"] },
          { apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"] },
        ],
      });
      await create(target, {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "token-requester", namespace: ns },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "token-requester" },
        subjects: [{ kind: "ServiceAccount", name: "robot", namespace: ns }],
      });
      const robot = await tokenKubeconfig(target, await robotToken(target, ns), ns);
      await eventually(async () => {
        const plain = await runCli(["create", "robot"], { env: { KUBECONFIG: robot } });
        assert.equal(plain.code, 0, plain.stderr);
      });
      const r = await runCli(["create", "robot", "--revocable"], { env: { KUBECONFIG: robot } });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.match(
        r.stderr,
        new RegExp(
          `^error: Cannot create revocable token for service account "${ns}/robot": you may not ` +
            `create Secrets in namespace "${ns}" \\(the registry entry needs the "create" right on "secrets"\\): `,
        ),
      );
      const left = await runKubectl([
        "--kubeconfig",
        target.kubeconfig,
        "get",
        "secrets",
        "-n",
        ns,
        "--field-selector",
        `type=${TYPE}`,
        "-o",
        "name",
      ]);
      assert.equal(left.code, 0, left.stderr);
      assert.equal(left.stdout, "");
    });
  } finally {
    await target.close();
  }
});
