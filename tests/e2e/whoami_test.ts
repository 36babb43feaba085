import assert from "node:assert/strict";
import { runCli, runKubectl } from "./_cli.ts";
import { admin, freshNamespace, robotToken, tokenKubeconfig } from "./_cluster.ts";
import { startTarget } from "./_target.ts";
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
    const r = await runCli(["whoami", "-o", "json"], { env: { KUBECONFIG: kubeconfig } });
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
    await t.step("v1 off: v1beta1 answers", async () => {
      if (!server) {
        target.note("a real server's API versions cannot be switched off: step skipped");
        return;
      }
      server.setDisabledVersions(["authentication.k8s.io/v1"]);
      const r = await runCli(["whoami", "-o", "json"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).source, "SelfSubjectReview authentication.k8s.io/v1beta1");
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
      const r = await runCli(["whoami", "-o", "json"], { env: { KUBECONFIG: kubeconfig } });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.userInfo.username, `system:serviceaccount:${ns}:robot`);
      assert.equal(doc.verified, false);
      const text = await runCli(["whoami"], { env: { KUBECONFIG: kubeconfig } });
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
        const r = await runCli(["whoami", "-o", "json"], { env: { KUBECONFIG: kubeconfig } });
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
      const r = await runCli(["whoami"], {
        env: { KUBECONFIG: await tokenKubeconfig(target, bad) },
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Unauthorized/);
      assert.ok(!r.stderr.includes(bad));
    });
    await t.step("refused connection", async () => {
      const r = await runCli(["whoami", "--server", "https://127.0.0.1:1"], {
        env: { KUBECONFIG: target.kubeconfig },
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /refused/);
    });
    await t.step("untrusted server certificate", async () => {
      // Another server's CA signed nothing this server uses.
      const other = await startApiServer();
      try {
        const r = await runCli(
          ["whoami", "--certificate-authority", join(other.dir, "ca.crt")],
          { env: { KUBECONFIG: target.kubeconfig } },
        );
        assert.equal(r.code, 1);
        assert.match(r.stderr, /certificate/);
      } finally {
        await other.close();
      }
    });
    await t.step("timeout", async () => {
      if (!target.local) {
        target.note("needs the local server's fault injection: step skipped");
        return;
      }
      target.local.injectFault({ kind: "delay", ms: 3000, times: 5 });
      const r = await runCli(["whoami", "--request-timeout", "1s"], {
        env: { KUBECONFIG: target.kubeconfig },
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /request-timeout/);
    });
  } finally {
    await target.close();
  }
});

Deno.test("whoami gives one line for a reset, a truncated body, 429 and 500", async (t) => {
  const target = await startTarget();
  try {
    const server = target.local;
    if (!server) {
      target.note("needs the local server's fault injection: test skipped");
      return;
    }
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
        const r = await runCli(["whoami"], { env: { KUBECONFIG: target.kubeconfig } });
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

Deno.test("a 429 with Retry-After is sent again after the wait, as client-go does", async () => {
  const target = await startTarget();
  try {
    const server = target.local;
    if (!server) {
      target.note("needs the local server's fault injection: test skipped");
      return;
    }
    server.injectFault({
      kind: "status",
      code: 429,
      retryAfterSeconds: 1,
      path: /selfsubjectreviews/,
      times: 2,
    });
    const r = await runCli(["whoami", "-o", "json"], { env: { KUBECONFIG: target.kubeconfig } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).verified, true);
    const tries = server.requests.filter((q) => q.path.endsWith("/selfsubjectreviews"));
    assert.equal(tries.length, 3);
  } finally {
    await target.close();
  }
});
