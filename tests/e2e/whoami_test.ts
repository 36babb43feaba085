import assert from "node:assert/strict";
import { runInProcess, runKubectl } from "./_cli.ts";
import {
  admin,
  eventually,
  freshNamespace,
  legacyToken,
  robotToken,
  tokenKubeconfig,
} from "./_cluster.ts";
import { REAL_TARGET, startTarget } from "./_target.ts";
import { startApiServer } from "../apiserver/mod.ts";
import { join } from "node:path";

Deno.test("whoami reports the admin's client certificate identity", async () => {
  const target = await startTarget();
  try {
    const r = await runKubectl(["token", "whoami"], { env: { KUBECONFIG: target.kubeconfig } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ATTRIBUTE\s+VALUE$/m);
    assert.match(r.stdout, /^Username\s+\S+/m);
    assert.match(r.stdout, /^Authenticated by\s+client certificate/m);
    assert.match(r.stdout, /system:masters/);
    if (target.capabilities.selfSubjectReview) {
      assert.match(r.stdout, /^Confirmed by\s+SelfSubjectReview/m);
    } else {
      // A certificate cannot go to TokenReview: the certificate's own subject is shown.
      target.note("no SelfSubjectReview: checking the unverified client-certificate fallback");
      assert.match(r.stdout, /^Confirmed by\s+nobody: .*cannot check a client certificate/m);
    }
  } finally {
    await target.close();
  }
});

Deno.test("whoami for a service-account token, as json", async () => {
  const target = await startTarget();
  try {
    const ns = await freshNamespace(target);
    const token = await robotToken(target, ns);
    const kubeconfig = await tokenKubeconfig(target, token);
    const r = await runInProcess(["whoami", "-o", "json"], { env: { KUBECONFIG: kubeconfig } });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.kind, "Identity");
    assert.equal(doc.userInfo.username, `system:serviceaccount:${ns}:robot`);
    assert.ok(doc.userInfo.groups.includes(`system:serviceaccounts:${ns}`));
    assert.match(doc.authentication.method, /service-account token/);
    assert.match(doc.authentication.expiresAt, /Z$/);
    assert.ok(!r.stdout.includes(token));
    if (target.capabilities.selfSubjectReview) {
      assert.equal(doc.verified, true);
    } else {
      target.note("no SelfSubjectReview and no TokenReview right: the token's claims, unverified");
      assert.deepEqual([doc.source, doc.verified], ["credential", false]);
    }
  } finally {
    await target.close();
  }
});

Deno.test("whoami falls back when the server has no SelfSubjectReview", async (t) => {
  const target = await startTarget();
  try {
    const server = target.local;
    const env = { KUBECONFIG: target.kubeconfig };
    await t.step({
      name: "v1 off: v1beta1 answers",
      ignore: !server,
      fn: async () => {
        server!.setDisabledVersions(["authentication.k8s.io/v1"]);
        const r = await runInProcess(["whoami", "-o", "json"], { env });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(
          JSON.parse(r.stdout).source,
          "SelfSubjectReview authentication.k8s.io/v1beta1",
        );
      },
    });
    // Locally, switch every SelfSubjectReview off; a real server either lacks it already or
    // cannot play this part.
    server?.setDisabledVersions([
      "authentication.k8s.io/v1beta1",
      "authentication.k8s.io/v1alpha1",
      "authentication.k8s.io/v1/selfsubjectreviews",
    ]);
    if (!server && target.capabilities.selfSubjectReview) {
      target.note("the server has SelfSubjectReview: its fallbacks cannot be reached here");
      return;
    }
    const ns = await freshNamespace(target);
    const token = await robotToken(target, ns);
    const kubeconfig = await tokenKubeconfig(target, token);
    await t.step("a token that may not use TokenReview: its claims, unverified", async () => {
      // The admin credential is a certificate: TokenReview needs a token, so ask as the
      // service account itself, which may not use TokenReview: claims are shown, unverified.
      const r = await runInProcess(["whoami", "-o", "json"], { env: { KUBECONFIG: kubeconfig } });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.userInfo.username, `system:serviceaccount:${ns}:robot`);
      assert.equal(doc.verified, false);
      const text = await runInProcess(["whoami"], { env: { KUBECONFIG: kubeconfig } });
      assert.match(text.stdout, /Confirmed by\s+nobody: .*TokenReview is not allowed/);
    });
    await t.step("a token allowed to use TokenReview: confirmed by the server", async () => {
      const binding = `kubectl-token-e2e-${ns}`;
      await admin(target, [
        "create",
        "clusterrolebinding",
        binding,
        "--clusterrole",
        "system:auth-delegator",
        "--serviceaccount",
        `${ns}:robot`,
      ]);
      try {
        const r = await runInProcess(["whoami", "-o", "json"], { env: { KUBECONFIG: kubeconfig } });
        assert.equal(r.code, 0, r.stderr);
        const doc = JSON.parse(r.stdout);
        assert.equal(doc.source, "TokenReview authentication.k8s.io/v1");
        assert.equal(doc.verified, true);
        assert.equal(doc.userInfo.username, `system:serviceaccount:${ns}:robot`);
        assert.ok(doc.userInfo.groups.includes(`system:serviceaccounts:${ns}`));
        assert.ok(!r.stdout.includes(token));
      } finally {
        await admin(target, ["delete", "clusterrolebinding", binding]);
      }
    });
  } finally {
    await target.close();
  }
});

Deno.test("whoami explains a rejected token, an unreachable server and an untrusted CA", async (t) => {
  const target = await startTarget();
  try {
    await t.step("rejected token", async () => {
      const bad = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
      const r = await runInProcess(["whoami"], {
        env: { KUBECONFIG: await tokenKubeconfig(target, bad) },
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Unauthorized/);
      assert.ok(!r.stderr.includes(bad));
    });
    await t.step("refused connection", async () => {
      const r = await runInProcess(["whoami", "--server", "https://127.0.0.1:1"], {
        env: { KUBECONFIG: target.kubeconfig },
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /refused/);
    });
    await t.step("untrusted server certificate", async () => {
      // Another server's CA signed nothing this server uses.
      const other = await startApiServer();
      try {
        const r = await runInProcess(
          ["whoami", "--certificate-authority", join(other.dir, "ca.crt")],
          { env: { KUBECONFIG: target.kubeconfig } },
        );
        assert.equal(r.code, 1);
        assert.match(r.stderr, /certificate/);
      } finally {
        await other.close();
      }
    });
    await t.step({
      name: "timeout",
      ignore: !target.local,
      fn: async () => {
        target.local!.injectFault({ kind: "delay", ms: 3000, times: 5 });
        const r = await runInProcess(["whoami", "--request-timeout", "1s"], {
          env: { KUBECONFIG: target.kubeconfig },
        });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /request-timeout/);
      },
    });
  } finally {
    await target.close();
  }
});

Deno.test("whoami gives one line for a reset, a truncated body, 429 and 500", {
  ignore: REAL_TARGET,
}, async (t) => {
  const target = await startTarget();
  try {
    const server = target.local;
    // Fault injection needs the local server (the test is ignored on a real one).
    if (!server) throw new Error("no local server");
    const cases: [Parameters<typeof server.injectFault>[0], RegExp][] = [
      [{ kind: "reset" }, /connection was closed/],
      [{ kind: "truncate" }, /closed before the answer was complete|not valid JSON/],
      // A wait longer than the client's limit is reported, not waited out.
      [{ kind: "status", code: 429, retryAfterSeconds: 60 }, /retry after 60s/],
      [{ kind: "status", code: 500 }, /error/i],
    ];
    for (const [fault, message] of cases) {
      await t.step(`${fault.kind} ${fault.code ?? ""}`, async () => {
        server.injectFault({ ...fault, path: /selfsubjectreviews/, times: 1 });
        const r = await runInProcess(["whoami"], { env: { KUBECONFIG: target.kubeconfig } });
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, message);
        assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
        assert.doesNotMatch(r.stderr, /\s+at\s/);
      });
    }
  } finally {
    await target.close();
  }
});

Deno.test("a 429 with Retry-After is sent again after the wait, as client-go does", {
  ignore: REAL_TARGET,
}, async () => {
  const target = await startTarget();
  try {
    const server = target.local;
    // Fault injection needs the local server (the test is ignored on a real one).
    if (!server) throw new Error("no local server");
    server.injectFault({
      kind: "status",
      code: 429,
      retryAfterSeconds: 1,
      path: /selfsubjectreviews/,
      times: 2,
    });
    const r = await runInProcess(["whoami", "-o", "json"], {
      env: { KUBECONFIG: target.kubeconfig },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).verified, true);
    const tries = server.requests.filter((q) => q.path.endsWith("/selfsubjectreviews"));
    assert.equal(tries.length, 3);
  } finally {
    await target.close();
  }
});

Deno.test("whoami and decode read a credential the same way", async (t) => {
  const target = await startTarget();
  try {
    const env = { KUBECONFIG: target.kubeconfig };
    // Locally, switch SelfSubjectReview off so that whoami must interpret the credential itself
    // (as on a real 1.20 server); the local server also does not implement impersonation.
    target.local?.setDisabledVersions([
      "authentication.k8s.io/v1beta1",
      "authentication.k8s.io/v1alpha1",
      "authentication.k8s.io/v1/selfsubjectreviews",
    ]);
    const ns = await freshNamespace(target);

    await t.step("a legacy Secret token never expires, in both", async () => {
      const { token } = await legacyToken(target, ns, "robot");
      const who = await runInProcess(["whoami"], {
        env: { KUBECONFIG: await tokenKubeconfig(target, token) },
      });
      assert.equal(who.code, 0, who.stderr);
      assert.match(who.stdout, /\nCredential expires\s+never \(the token has no expiry\)\n/);
      const decoded = await runInProcess(["decode", token]);
      assert.match(decoded.stdout, /^Expires: +never \(the token has no expiry\)$/m);
      const groups = `[system:serviceaccounts system:serviceaccounts:${ns} system:authenticated]`;
      assert.ok(who.stdout.includes(groups), who.stdout);
      assert.ok(decoded.stdout.includes(`Groups:           ${groups}`), decoded.stdout);
    });

    await t.step("--as a service account: the groups the server adds", async () => {
      const sa = `system:serviceaccount:${ns}:deployer`;
      const r = await runInProcess(["whoami", "-o", "json", "--as", sa], { env });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.userInfo.username, sa);
      assert.deepEqual(doc.userInfo.groups, [
        "system:serviceaccounts",
        `system:serviceaccounts:${ns}`,
        "system:authenticated",
      ]);
      const grouped = await runInProcess(
        ["whoami", "-o", "json", "--as", sa, "--as-group", "team"],
        {
          env,
        },
      );
      assert.deepEqual(JSON.parse(grouped.stdout).userInfo.groups, [
        "team",
        "system:authenticated",
      ]);
      // A binding to the namespace's service-account group reaches the
      // impersonated account, so the server added that group.
      await admin(target, [
        "create",
        "rolebinding",
        "sa-group-view",
        "-n",
        ns,
        "--clusterrole",
        "view",
        "--group",
        `system:serviceaccounts:${ns}`,
      ]);
      const can = await eventually(async () => {
        const out = await runKubectl(
          [
            "--kubeconfig",
            target.kubeconfig,
            "auth",
            "can-i",
            "list",
            "pods",
            "-n",
            ns,
            "--as",
            sa,
          ],
        );
        if (out.stdout.trim() !== "yes") throw new Error(`can-i: ${out.stdout}${out.stderr}`);
        return out.stdout.trim();
      });
      assert.equal(can, "yes");
    });

    await t.step("--as without the right to impersonate is refused by the server", async () => {
      const kubeconfig = await tokenKubeconfig(target, await robotToken(target, ns));
      const r = await runInProcess(["whoami", "--as", "bob"], { env: { KUBECONFIG: kubeconfig } });
      assert.equal(r.code, 1, r.stdout);
      assert.match(
        r.stderr,
        new RegExp(
          `users "bob" is forbidden: User "system:serviceaccount:${ns}:robot" cannot ` +
            `impersonate resource "users" in API group "" at the cluster scope`,
        ),
      );
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    });

    await t.step({
      name: "a bootstrap token: its Secret's extra groups, unknown until readable",
      ignore: !target.capabilities.bootstrapTokenAuth,
      fn: async () => {
        const created = await runInProcess(["bootstrap", "create", "--ttl", "2h"], { env });
        assert.equal(created.code, 0, created.stderr);
        const token = created.stdout.trim();
        const id = token.slice(0, 6);
        const asToken = { KUBECONFIG: await tokenKubeconfig(target, token) };
        try {
          const r = await runInProcess(["whoami", "-o", "json"], { env: asToken });
          assert.equal(r.code, 0, r.stderr);
          const doc = JSON.parse(r.stdout);
          if (doc.verified) {
            target.note(
              "the server confirmed the bootstrap token: its groups come from the server",
            );
            assert.ok(
              doc.userInfo.groups.includes("system:bootstrappers:kubeadm:default-node-token"),
            );
            return;
          }
          const secret = `Secret kube-system/bootstrap-token-${id}`;
          assert.deepEqual(doc.userInfo.groups, ["system:bootstrappers", "system:authenticated"]);
          assert.equal(doc.unknownGroups, `the "auth-extra-groups" of ${secret}`);
          assert.equal(doc.authentication.expiry.kind, "unknown");
          const text = await runInProcess(["whoami"], { env: asToken });
          const groupsLine =
            `[system:bootstrappers system:authenticated] and the "auth-extra-groups" of ${secret} (unknown)`;
          assert.ok(text.stdout.includes(groupsLine), text.stdout);
          const decoded = await runInProcess(["decode", token]);
          assert.ok(decoded.stdout.includes(`Groups:    ${groupsLine}`), decoded.stdout);

          // Once the token may read its own Secret, the groups and expiry are known.
          const name = `read-own-${id}`;
          await admin(target, [
            "create",
            "role",
            name,
            "-n",
            "kube-system",
            "--verb",
            "get",
            "--resource",
            "secrets",
            "--resource-name",
            `bootstrap-token-${id}`,
          ]);
          await admin(target, [
            "create",
            "rolebinding",
            name,
            "-n",
            "kube-system",
            "--role",
            name,
            "--user",
            `system:bootstrap:${id}`,
          ]);
          try {
            const known = await eventually(async () => {
              const out = await runInProcess(["whoami", "-o", "json"], { env: asToken });
              const d = JSON.parse(out.stdout);
              if (d.unknownGroups) throw new Error("the Secret is not readable yet");
              return d;
            });
            assert.deepEqual(known.userInfo.groups, [
              "system:bootstrappers",
              "system:bootstrappers:kubeadm:default-node-token",
              "system:authenticated",
            ]);
            assert.equal(known.authentication.expiry.kind, "at");
          } finally {
            await admin(target, ["delete", "role,rolebinding", name, "-n", "kube-system"]);
          }
        } finally {
          await runInProcess(["bootstrap", "delete", id], { env });
        }
      },
    });
  } finally {
    await target.close();
  }
});
