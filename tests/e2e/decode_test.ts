import assert from "node:assert/strict";
import { runCli, runInProcess, runKubectl } from "./_cli.ts";
import { admin, claims, freshNamespace, robotToken, tokenKubeconfig } from "./_cluster.ts";
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
      const r = await runInProcess(["decode", token, "--verify", "-o", "json"], { env });
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
      const r = await runInProcess(["decode", token, "--verify", "--jwks", file, "-o", "json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).verification.valid, true);
    });

    await t.step("a tampered signature fails verification with exit 1", async () => {
      const [h, p, s] = token.split(".");
      const flipped = s[0] === "A" ? "B" + s.slice(1) : "A" + s.slice(1);
      const r = await runInProcess(["decode", `${h}.${p}.${flipped}`, "--verify"], { env });
      assert.equal(r.code, 1);
      assert.match(r.stdout, /Signature:\s+invalid/);
    });

    await t.step("no argument: the current kubeconfig user's token", async () => {
      const kubeconfig = await tokenKubeconfig(target, token);
      const r = await runInProcess(["decode"], { env: { KUBECONFIG: kubeconfig } });
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
      const r = await runInProcess(["decode", bad]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.ok(!r.stderr.includes(bad), r.stderr);
    });
  }
});

Deno.test("decode recognises a bootstrap token and never prints its secret", async () => {
  const r = await runInProcess(["decode", "abcdef.0123456789abcdef"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /bootstrap/i);
  assert.match(r.stdout, /abcdef/);
  assert.ok(!r.stdout.includes("0123456789abcdef"));
});

Deno.test("decode --verify: signature and expiry are two checks, with the server's leeway", async (t) => {
  const target = await startTarget();
  try {
    const env = { KUBECONFIG: target.kubeconfig };
    const ns = await freshNamespace(target);
    const token = await robotToken(target, ns, "1h");
    const exp = claims(token).exp as number;
    const at = (secondsAfterExp: number) => ({
      ...env,
      KUBECTL_TOKEN_NOW: new Date((exp + secondsAfterExp) * 1000).toISOString(),
    });
    const within = "within the 60 s leeway the API server allows";
    // The pinned clock runs on while the process starts, so a case can only get later by a few
    // seconds: the texts allow for that, and the exact 59/60/61 s boundary is in verify_test.ts.
    const cases: { late: number; args?: string[]; code: number; expiry: string }[] = [
      { late: -600, code: 0, expiry: "expires in (9m\\d+s|10m)" },
      { late: 0, code: 0, expiry: `expired \\d+s ago, ${within}` },
      { late: 30, code: 0, expiry: `expired 3\\ds ago, ${within}` },
      { late: 50, code: 0, expiry: `expired 5\\ds ago, ${within}` },
      { late: 61, code: 1, expiry: "expired 6\\ds ago" },
      { late: 3600, code: 1, expiry: "expired 60m ago" },
      { late: 30, args: ["--leeway", "0s"], code: 1, expiry: "expired 3\\ds ago" },
      {
        late: 90,
        args: ["--leeway=2m"],
        code: 0,
        expiry: "expired 9\\ds ago, within the 120 s leeway of --leeway",
      },
    ];
    for (const c of cases) {
      await t.step(`${c.late}s after exp ${c.args?.join(" ") ?? ""}`, async () => {
        const r = await runInProcess(["decode", token, "--verify", ...(c.args ?? [])], {
          env: at(c.late),
        });
        assert.equal(r.code, c.code, r.stderr);
        // A correctly signed token has a valid signature whatever its expiry.
        assert.match(r.stdout, /^Signature: +valid \(key "[^"]*"\)$/m);
        assert.match(r.stdout, new RegExp(`^Expiry: +${c.expiry}$`, "m"));
        if (c.code === 0) assert.equal(r.stderr, "");
        else {
          assert.match(r.stderr, new RegExp(`^error: Token is not valid: token ${c.expiry}\\n$`));
        }
      });
    }

    await t.step("a forged signature on a token in date", async () => {
      const [h, p, s] = token.split(".");
      const flipped = s[0] === "A" ? "B" + s.slice(1) : "A" + s.slice(1);
      const r = await runInProcess(["decode", `${h}.${p}.${flipped}`, "--verify"], {
        env: at(-600),
      });
      assert.equal(r.code, 1);
      assert.match(r.stdout, /^Signature: +invalid: signature does not match key /m);
      assert.match(r.stdout, /^Expiry: +expires in (9m\d+s|10m)$/m);
      assert.match(r.stderr, /^error: Token is not valid: signature does not match key [^\n]+\n$/);
      assert.ok(!r.stderr.includes(s) && !r.stderr.includes(flipped));
    });

    await t.step("-o json carries both checks", async () => {
      const r = await runInProcess(["decode", token, "--verify", "-o", "json"], { env: at(3600) });
      assert.equal(r.code, 1);
      const { verification } = JSON.parse(r.stdout);
      assert.equal(verification.signature.valid, true);
      assert.deepEqual(verification.time, {
        valid: false,
        text: "expired 60m ago",
        leewaySeconds: 60,
      });
    });

    await t.step('"Bearer <token>" pasted from a header is accepted', async () => {
      for (const input of [`Bearer ${token}`, `bearer  ${token}`]) {
        const r = await runInProcess(["decode", input, "--verify"], { env: at(-600) });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`system:serviceaccount:${ns}:robot`));
      }
      const piped = await runInProcess(["decode", "-"], {
        env: at(-600),
        stdin: `Authorization: Bearer ${token}\n`,
      });
      assert.equal(piped.code, 0, piped.stderr);
      assert.match(piped.stdout, /^Type: +bound service-account token/m);
    });

    await t.step("--leeway needs --verify and a duration", async () => {
      for (const args of [["--leeway", "1m"], ["--verify", "--leeway", "soon"]]) {
        const r = await runInProcess(["decode", token, ...args], { env });
        assert.equal(r.code, 2);
        assert.match(r.stderr, /^error: [^\n]*--leeway[^\n]*\n$/);
      }
    });
  } finally {
    await target.close();
  }
});

Deno.test("decode: an exp that is not a whole finite number is invalid, not never", async (t) => {
  const b64 = (s: string) => btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  for (const exp of ["1e400", "1764378000.5", "-1e400"]) {
    await t.step(exp, async () => {
      const payload = `{"iss":"x","sub":"system:serviceaccount:a:b","exp":${exp}}`;
      const token = `${b64('{"alg":"RS256"}')}.${b64(payload)}.c2ln`;
      const r = await runInProcess(["decode", token]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Expires: +invalid \(claim "exp" is not a valid NumericDate/m);
      assert.doesNotMatch(r.stdout, /never/);
    });
  }
});
