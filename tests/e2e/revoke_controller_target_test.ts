/**
 * Deleting a legacy token Secret that the token controller keeps (before 1.24 every service
 * account has one, listed in its `secrets`): `revoke secret` says beforehand that the controller
 * will create a new one, and afterwards which one it created; `rotate secret --delete-old` lists
 * the successor in the account first, so no third token Secret appears. The local server plays
 * v1.23's controller (legacyTokenAutoCreation); the real target is v1.20.2.
 */
import assert from "node:assert/strict";
import { runCli, runKubectl } from "./_cli.ts";
import { admin, eventually, freshNamespace, tokenKubeconfig } from "./_cluster.ts";
import { startTarget, type Target } from "./_target.ts";

interface Account {
  secrets?: { name: string }[];
}

const TOKEN_TYPE = "kubernetes.io/service-account-token";

async function account(target: Target, ns: string, name: string): Promise<Account> {
  return JSON.parse(await admin(target, ["get", "serviceaccount", name, "-n", ns, "-o", "json"]));
}

/** Names of the token Secrets of service account `sa`. */
async function tokenSecrets(target: Target, ns: string, sa: string): Promise<string[]> {
  const list = JSON.parse(
    await admin(target, [
      "get",
      "secrets",
      "-n",
      ns,
      "--field-selector",
      `type=${TOKEN_TYPE}`,
      "-o",
      "json",
    ]),
  ) as { items: { metadata: { name: string; annotations?: Record<string, string> } }[] };
  return list.items
    .filter((s) => s.metadata.annotations?.["kubernetes.io/service-account.name"] === sa)
    .map((s) => s.metadata.name).sort();
}

/** The token Secret the account lists, once the controller has made it. */
function listedSecret(target: Target, ns: string, sa: string): Promise<string> {
  return eventually(async () => {
    const name = (await account(target, ns, sa)).secrets?.[0]?.name;
    assert.ok(name, `service account "${sa}" lists no Secret yet`);
    return name;
  });
}

Deno.test("revoke and rotate of a legacy token Secret that the token controller keeps", async (t) => {
  const target = await startTarget({ legacyTokenAutoCreation: true });
  try {
    if (!target.capabilities.legacyTokenAutoCreated) {
      target.note("no legacy token Secret per service account since 1.24: nothing to check");
      return;
    }
    const ns = await freshNamespace(target, "revoke-ctl");
    const env = { KUBECONFIG: target.kubeconfig };
    const { gitVersion } = target.capabilities.version;
    const first = await listedSecret(target, ns, "robot");

    await t.step("--dry-run says the controller will make a new one", async () => {
      const r = await runCli(["revoke", "secret", first, "-n", ns, "--dry-run"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(
        r.stdout.includes(
          `legacy token of service account "robot"; the token controller (${gitVersion}) will ` +
            `then create a new token Secret for "robot"`,
        ),
        r.stdout,
      );
    });

    let second = "";
    await t.step("revoke: the old token ends, and the new Secret is named", async () => {
      const oldToken = atob(
        JSON.parse(await admin(target, ["get", "secret", first, "-n", ns, "-o", "json"])).data
          .token,
      );
      const r = await runCli(["revoke", "secret", first, "-n", ns, "--yes"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`secret "${ns}/${first}" deleted\\n$`));
      const named = new RegExp(
        `^Note: the deleted token no longer works, but the token controller \\(${gitVersion}\\) ` +
          `created Secret "${ns}/(robot-token-[a-z0-9]{5})" with a new token for service account ` +
          `"robot", as it does for every account that lists none: before 1\\.24 only deleting ` +
          `the service account ends its last legacy token\\n$`,
      ).exec(r.stderr);
      assert.ok(named, r.stderr);
      second = named[1];
      assert.notEqual(second, first);
      assert.deepEqual(await tokenSecrets(target, ns, "robot"), [second]);
      assert.deepEqual((await account(target, ns, "robot")).secrets, [{ name: second }]);
      // What the note says: the deleted token no longer authenticates (after the login cache).
      const kubeconfig = await tokenKubeconfig(target, oldToken);
      await eventually(async () => {
        const get = await runKubectl(["get", "--raw", "/api"], { env: { KUBECONFIG: kubeconfig } });
        assert.match(get.stderr, /Unauthorized/);
      }, { timeoutMs: (target.capabilities.authCacheSeconds + 20) * 1000 });
    });

    await t.step("rotate --delete-old leaves one token Secret: the new one, listed", async () => {
      const r = await runCli(["rotate", "secret", second, "-n", ns, "--delete-old"], { env });
      assert.equal(r.code, 0, r.stderr);
      const rotated = r.stdout.trim();
      assert.match(rotated, /^robot-token-[a-z0-9]{5}$/);
      assert.doesNotMatch(r.stderr, /Warning/);
      assert.deepEqual((await account(target, ns, "robot")).secrets, [{ name: rotated }]);
      // The controller has handled the deletion once it has handled a later account: a new
      // account's token Secret is the sign.
      await admin(target, ["create", "serviceaccount", "probe", "-n", ns]);
      await listedSecret(target, ns, "probe");
      assert.deepEqual(await tokenSecrets(target, ns, "robot"), [rotated]);
    });
  } finally {
    await target.close();
  }
});

Deno.test("revoke of a legacy token Secret on a server whose controller does not replace it", async () => {
  const target = await startTarget();
  try {
    if (target.capabilities.legacyTokenAutoCreated) {
      target.note("the real target replaces token Secrets: see the test above");
      return;
    }
    const ns = await freshNamespace(target, "revoke-ctl");
    await admin(
      target,
      [
        "create",
        "-n",
        ns,
        "-f",
        "-",
      ],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Secret",
        type: TOKEN_TYPE,
        metadata: {
          name: "robot-old",
          annotations: { "kubernetes.io/service-account.name": "robot" },
        },
      }),
    );
    await admin(target, [
      "patch",
      "serviceaccount",
      "robot",
      "-n",
      ns,
      "--type=merge",
      "-p",
      '{"secrets":[{"name":"robot-old"}]}',
    ]);
    const r = await runCli(["revoke", "secret", "robot-old", "-n", ns, "--yes"], {
      env: { KUBECONFIG: target.kubeconfig },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /legacy token of service account "robot"\n/);
    assert.equal(r.stderr, "");
    // As upstream's controller does on every version: the deleted Secret leaves the list.
    await eventually(async () =>
      assert.deepEqual((await account(target, ns, "robot")).secrets ?? [], [])
    );
    assert.deepEqual(await tokenSecrets(target, ns, "robot"), []);
  } finally {
    await target.close();
  }
});
