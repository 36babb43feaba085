import assert from "node:assert/strict";
import { runCli, runKubectl } from "./_cli.ts";
import { admin, freshNamespace, robotToken, tokenKubeconfig } from "./_cluster.ts";
import { startTarget } from "./_target.ts";

Deno.test("kubectl token decode explains and verifies a bound token", async (t) => {
  const target = await startTarget();
  try {
    const env = { KUBECONFIG: target.kubeconfig };
    const ns = await freshNamespace(target);
    const token = await robotToken(target, ns, "1h");

    await t.step("text from an argument", async () => {
      const r = await runKubectl(["token", "decode", token], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /service.account/i);
      assert.match(r.stdout, new RegExp(`system:serviceaccount:${ns}:robot`));
      assert.match(r.stdout, /in (59|60)m|in 1h/);
      assert.ok(!r.stdout.includes(token));
    });

    await t.step("from standard input, verified against the cluster's keys", async () => {
      const r = await runCli(["decode", "-", "--verify"], { env, stdin: `${token}\n` });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Signature:\s+valid/);
    });

    await t.step("-o json is a stable document", async () => {
      const r = await runCli(["decode", token, "--verify", "-o", "json"], { env });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.kind, "TokenInfo");
      assert.equal(doc.type, "bound-service-account");
      assert.equal(doc.subject, `system:serviceaccount:${ns}:robot`);
      assert.equal(doc.verification.valid, true);
      assert.equal(doc.expired, false);
    });

    await t.step("verified offline against a saved key set", async () => {
      const jwks = await admin(target, ["get", "--raw", "/openid/v1/jwks"]);
      const file = await Deno.makeTempFile({ suffix: ".json" });
      await Deno.writeTextFile(file, jwks);
      const r = await runCli(["decode", token, "--verify", "--jwks", file, "-o", "json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).verification.valid, true);
    });

    await t.step("a tampered signature fails verification with exit 1", async () => {
      const [h, p, s] = token.split(".");
      const flipped = s[0] === "A" ? "B" + s.slice(1) : "A" + s.slice(1);
      const r = await runCli(["decode", `${h}.${p}.${flipped}`, "--verify"], { env });
      assert.equal(r.code, 1);
      assert.match(r.stdout, /Signature:\s+invalid/);
    });

    await t.step("no argument: the current kubeconfig user's token", async () => {
      const kubeconfig = await tokenKubeconfig(target, token);
      const r = await runCli(["decode"], { env: { KUBECONFIG: kubeconfig } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`system:serviceaccount:${ns}:robot`));
    });
  } finally {
    await target.close();
  }
});

Deno.test("decode rejects malformed input with one line and exit 1", async (t) => {
  for (const bad of ["not-a-token", "a.b", "eyJhbGciOiJub25lIn0.!!!.x", "a.b.c.d"]) {
    await t.step(bad, async () => {
      const r = await runCli(["decode", bad]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.ok(!r.stderr.includes(bad), r.stderr);
    });
  }
});

Deno.test("decode recognises a bootstrap token and never prints its secret", async () => {
  const r = await runCli(["decode", "abcdef.0123456789abcdef"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /bootstrap/i);
  assert.match(r.stdout, /abcdef/);
  assert.ok(!r.stdout.includes("0123456789abcdef"));
});
