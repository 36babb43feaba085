import assert from "node:assert/strict";
import { join } from "node:path";
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

    const decoded = async (token: string) => {
      const r = await runCli(["decode", "-"], { env, stdin: token });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };

    await t.step("decode shows the registry ID and state of a revocable token", async () => {
      assert.match(
        await decoded(first.token),
        new RegExp(`\nRegistry ID:\\s+${first.id} \\(active\\)\n`),
      );
      const json = await runCli(["decode", "-", "-o", "json"], { env, stdin: first.token });
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(JSON.parse(json.stdout).registry, {
        id: first.id,
        namespace: ns,
        state: "active",
      });
      // Without a cluster, decode still decodes (and says nothing about the registry).
      const offline = await runCli(["decode", "-"], {
        env: { KUBECONFIG: "/nonexistent/kubeconfig" },
        stdin: first.token,
      });
      assert.equal(offline.code, 0, offline.stderr);
      assert.doesNotMatch(offline.stdout, /Registry/);
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
        assert.match(
          await decoded(first.token),
          new RegExp(`\nRegistry ID:\\s+${first.id} \\(revoked\\)\n`),
        );
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

    await t.step("a refused TokenRequest leaves no registry entry behind", async () => {
      await create(target, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "writer", namespace: ns },
      });
      await create(target, {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "secret-writer", namespace: ns },
        rules: [
          { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get"] },
          { apiGroups: [""], resources: ["secrets"], verbs: ["create", "delete"] },
        ],
      });
      await create(target, {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "secret-writer", namespace: ns },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "secret-writer" },
        subjects: [{ kind: "ServiceAccount", name: "writer", namespace: ns }],
      });
      const made = await runCli(["create", "writer", "-n", ns, "--duration", "1h"], { env });
      assert.equal(made.code, 0, made.stderr);
      const writer = await tokenKubeconfig(target, made.stdout, ns);
      const r = await eventually(async () => {
        const r = await runCli(["create", "robot", "--revocable"], { env: { KUBECONFIG: writer } });
        assert.match(r.stderr, /Cannot request token for service account/);
        return r;
      });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.match(
        r.stderr,
        new RegExp(`^error: Cannot request token for service account "${ns}/robot": `),
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

Deno.test("kubectl token issued filters, revoke issued --selector, kubeconfig --revocable, --prune", async (t) => {
  const target = await startTarget();
  try {
    const env = { KUBECONFIG: target.kubeconfig };
    const ns = await freshNamespace(target, "issued");
    await create(target, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "helper", namespace: ns },
    });
    const dir = await Deno.makeTempDir({ prefix: "kubectl-token-issued-" });
    const works = async (kubeconfig: string) =>
      (await runCli(["whoami"], { env: { KUBECONFIG: kubeconfig } })).code === 0;
    const { authCacheSeconds } = target.capabilities;
    const idOf = (stderr: string) => {
      const m = /^issued token "([^"]+)" in namespace "/m.exec(stderr);
      assert.ok(m, stderr);
      return m[1];
    };
    const ids = async (...args: string[]) => {
      const r = await runCli(["issued", "-n", ns, "-o", "json", ...args], { env });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).items.map((i: { id: string }) => i.id).sort();
    };

    const robotFile = join(dir, "robot.kubeconfig");
    const kc = await runCli([
      "kubeconfig",
      `${ns}/robot`,
      "--duration",
      "1h",
      "--revocable",
      "--purpose",
      "contractor",
      "--output-file",
      robotFile,
    ], { env });
    assert.equal(kc.code, 0, kc.stderr);
    const robotId = idOf(kc.stderr);
    const helper = await runCli(
      ["create", "helper", "-n", ns, "--revocable", "--duration", "1h", "-o", "json"],
      { env },
    );
    assert.equal(helper.code, 0, helper.stderr);
    const helperId = idOf(helper.stderr);
    const tr = JSON.parse(helper.stdout);
    const helperFile = await tokenKubeconfig(target, tr.status.token);

    await t.step(
      "kubeconfig --revocable writes a working kubeconfig whose token is listed",
      async () => {
        assert.ok(await works(robotFile));
        assert.equal(tr.metadata.annotations["kubectl-token.io/issued-id"], helperId);
        assert.deepEqual(await ids(), [robotId, helperId].sort());
        const wide = await runCli(["issued", "-n", ns, "-o", "wide"], { env });
        assert.equal(wide.code, 0, wide.stderr);
        assert.match(wide.stdout, /\s+STATE\s+ISSUED\s+FINGERPRINT\s+JTI\n/);
        assert.match(wide.stdout, new RegExp(`${robotId}\\s+robot\\s+\\S+\\s+contractor\\s`));
      },
    );

    await t.step("issued filters by service account and requester", async () => {
      assert.deepEqual(await ids("--service-account", "helper"), [helperId]);
      const who = JSON.parse((await runCli(["whoami", "-o", "json"], { env })).stdout);
      assert.deepEqual(
        await ids("--requester", who.userInfo.username),
        [robotId, helperId].sort(),
      );
      const none = await runCli(["issued", "-n", ns, "--requester", "someone:else"], { env });
      assert.equal(none.code, 0, none.stderr);
      assert.equal(none.stdout, "");
      assert.equal(none.stderr, `No issued tokens found in ${ns} namespace.\n`);
      assert.deepEqual(await ids("--expired"), []);
    });

    await t.step("revoke issued --selector ends the selected tokens only", async () => {
      const selector = "kubectl-token.io/service-account=helper";
      const dry = await runCli(["revoke", "issued", "-n", ns, "-l", selector, "--dry-run"], {
        env,
      });
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(
        dry.stdout,
        new RegExp(`${ns}\\s+${helperId}\\s+helper\\s+active\\s+[0-9a-f]{12}\\n`),
      );
      assert.match(dry.stdout, /1 issued token\(s\) would be revoked \(dry run\)\n$/);
      const r = await runCli(["revoke", "issued", "-n", ns, "-l", selector, "--yes"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(`^issued token "${ns}/${helperId}" of service account "helper" revoked\\n`),
      );
      await eventually(async () => assert.equal(await works(helperFile), false), {
        timeoutMs: (authCacheSeconds + 20) * 1000,
        intervalMs: 1000,
      });
      assert.ok(await works(robotFile));
      assert.deepEqual(await ids(), [robotId]);
    });

    await t.step(
      "past its expiry a token is listed as expired, and --prune deletes its entry",
      async () => {
        // Two hours on (the token lives one), as this process's clock would read it then.
        const later = {
          ...env,
          KUBECTL_TOKEN_NOW: new Date(Date.now() + 2 * 3600_000).toISOString(),
        };
        const table = await runCli(["issued", "-n", ns, "--expired"], { env: later });
        assert.equal(table.code, 0, table.stderr);
        assert.match(
          table.stdout,
          new RegExp(`^${robotId}\\s+robot\\s.*\\s+\\S+ ago\\s+expired\\n`, "m"),
        );
        assert.deepEqual(await ids("--expired"), []);
        const pruned = await runCli(["issued", "-n", ns, "--prune"], { env: later });
        assert.equal(pruned.code, 0, pruned.stderr);
        assert.match(
          pruned.stdout,
          new RegExp(`^issued token "${ns}/${robotId}" pruned \\(expired \\S+ ago\\)\\n$`),
        );
        assert.deepEqual(await ids(), []);
        const again = await runCli(["issued", "-n", ns, "--prune"], { env: later });
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.stderr, "No expired issued tokens to prune.\n");
      },
    );
    await Deno.remove(dir, { recursive: true });
  } finally {
    await target.close();
  }
});

Deno.test("kubectl token rotate keeps a revocable token revocable and revokes the old one", async () => {
  const target = await startTarget();
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-issued-rotate-" });
  try {
    const env = { KUBECONFIG: target.kubeconfig };
    const ns = await freshNamespace(target, "issued");
    const file = join(dir, "robot.kubeconfig");
    const kc = await runCli([
      "kubeconfig",
      `${ns}/robot`,
      "--duration",
      "1h",
      "--revocable",
      "--purpose",
      "ci runner",
      "--output-file",
      file,
    ], { env });
    assert.equal(kc.code, 0, kc.stderr);
    const oldId = /^issued token "([^"]+)"/.exec(kc.stderr)![1];
    const oldToken = JSON.parse(
      (await runKubectl(["--kubeconfig", file, "config", "view", "--raw", "-o", "json"])).stdout,
    ).users[0].user.token;
    const r = await runCli([
      "rotate",
      "--kubeconfig",
      file,
      "--requester-kubeconfig",
      target.kubeconfig,
      "--grace",
      "1s",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Rotated the token of /);
    const m = new RegExp(
      `The new token is issued token "${ns}/(robot-issued-[a-z0-9]{5})" \\(revocable, as the old one\\)\\n` +
        `Revoking issued token "${ns}/${oldId}" \\(the old token\\) in 1s \\(--grace\\)\\.\\.\\.\\n` +
        `issued token "${ns}/${oldId}" \\(the old token\\) revoked\\n$`,
    ).exec(r.stderr);
    assert.ok(m, r.stderr);
    const newId = m[1];
    assert.notEqual(newId, oldId);
    const list = await runCli(["issued", "-n", ns, "-o", "json"], { env });
    assert.equal(list.code, 0, list.stderr);
    const items = JSON.parse(list.stdout).items;
    assert.deepEqual(items.map((i: { id: string }) => i.id), [newId]);
    assert.equal(items[0].purpose, "ci runner");
    assert.ok((await runCli(["whoami"], { env: { KUBECONFIG: file } })).code === 0);
    const oldFile = await tokenKubeconfig(target, oldToken);
    await eventually(
      async () =>
        assert.notEqual((await runCli(["whoami"], { env: { KUBECONFIG: oldFile } })).code, 0),
      { timeoutMs: (target.capabilities.authCacheSeconds + 20) * 1000, intervalMs: 1000 },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await target.close();
  }
});
