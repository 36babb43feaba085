/**
 * `rotate --all` deciding which tokens are due, run in-process with a frozen clock so that the
 * threshold itself can be checked to the millisecond, at the edge instants of days and years.
 * A dry run contacts no cluster, so the tokens here are unsigned and the server is unreachable.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../src/main.ts";
import { denoRuntime, type Output, type Runtime } from "../../src/runtime.ts";
import { parseExpiryThreshold, validateRotate } from "../../src/commands/rotate.ts";
import { rotationDue } from "../../src/commands/_rotate_all.ts";
import { UsageError } from "../../src/errors.ts";
import { EDGE_INSTANTS } from "../e2e/_audit_seed.ts";
import { runCli } from "../e2e/_cli.ts";
import { startApiServer } from "../apiserver/mod.ts";

class Capture implements Output {
  text = "";
  write(data: string | Uint8Array) {
    this.text += typeof data === "string" ? data : new TextDecoder().decode(data);
  }
  isTerminal() {
    return false;
  }
}

/** The real runtime with a frozen clock, only `env` in the environment, and captured output. */
function frozenRuntime(at: Date, env: Record<string, string> = {}) {
  const stdout = new Capture();
  const stderr = new Capture();
  const vars: Record<string, string> = { HOME: "/nonexistent", ...env };
  const runtime: Runtime = {
    ...denoRuntime(),
    now: () => new Date(at.getTime()),
    env: (name) => vars[name],
    envAll: () => ({ ...vars }),
    stdout,
    stderr,
  };
  return { runtime, stdout, stderr };
}

const b64url = (value: unknown) =>
  btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

/** An unsigned service-account token shaped like a bound one, issued at `iat` for `seconds`. */
function fakeToken(name: string, iat: number, seconds: number): string {
  const payload = {
    aud: ["https://kubernetes.default.svc"],
    exp: iat + seconds,
    iat,
    nbf: iat,
    iss: "https://kubernetes.default.svc",
    sub: `system:serviceaccount:team:${name}`,
    "kubernetes.io": {
      namespace: "team",
      serviceaccount: { name, uid: "6b0e7a54-0a47-4f5e-9a3e-0f2b4b0a1c11" },
    },
  };
  return `${b64url({ alg: "RS256", kid: "k" })}.${b64url(payload)}.c2ln`;
}

/** A kubeconfig whose users hold `tokens`, one context each, plus an "admin" requester. */
function kubeconfig(tokens: Record<string, string>): string {
  const names = Object.keys(tokens);
  return `apiVersion: v1
kind: Config
clusters:
- cluster: {server: "https://127.0.0.1:9"}
  name: main
contexts:
${
    [...names, "admin"].map((n) => `- context: {cluster: main, user: ${n}}\n  name: ${n}\n`).join(
      "",
    )
  }current-context: admin
users:
${names.map((n) => `- name: ${n}\n  user:\n    token: ${tokens[n]}\n`).join("")}- name: admin
  user:
    token: not-a-jwt
`;
}

Deno.test("rotationDue() is due at the threshold itself, not a millisecond before", async (t) => {
  const exp = new Date("2026-12-31T23:59:59Z");
  const token = { expiresAt: exp, lifetimeSeconds: 7200 };
  const cases = [
    { within: "20%", leftMs: 1440_000, due: true },
    { within: "20%", leftMs: 1440_001, due: false },
    { within: "20%", leftMs: 1439_999, due: true },
    { within: "24m", leftMs: 1440_000, due: true },
    { within: "24m", leftMs: 1440_001, due: false },
    { within: "1d", leftMs: 86_400_000, due: true },
    { within: "0%", leftMs: 0, due: true },
    { within: "0%", leftMs: 1, due: false },
    { within: "100%", leftMs: 7200_000, due: true },
    { within: "12.5%", leftMs: 900_000, due: true },
    { within: "12.5%", leftMs: 900_001, due: false },
  ];
  for (const c of cases) {
    await t.step(`${c.within} with ${c.leftMs} ms left`, () => {
      const now = new Date(exp.getTime() - c.leftMs);
      const decision = rotationDue(token, parseExpiryThreshold(c.within), now);
      assert.equal(decision.due, c.due);
      assert.match(decision.detail, new RegExp(`\\((not )?within ${c.within}\\)$`));
      assert.equal(decision.detail.includes("not within"), !c.due);
    });
  }
});

Deno.test("rotate flag errors name the flag and exit 2", async (t) => {
  const cases: { args: string[]; error: RegExp }[] = [
    {
      args: ["--if-expires-within", "1h"],
      error: /^Flag --if-expires-within can only be used with --all$/,
    },
    {
      args: ["--all", "--if-expires-within", "120%"],
      error:
        /^Invalid value "120%" for flag --if-expires-within: a share of the lifetime is at most 100%$/,
    },
    {
      args: ["--all", "--if-expires-within", "soon"],
      error:
        /^Invalid value "soon" for flag --if-expires-within: expected a duration such as 36h or 7d, or a share of the lifetime such as 20%$/,
    },
    {
      args: ["--all", "--if-expires-within", "-1h"],
      error: /^Invalid value "-1h" for flag --if-expires-within/,
    },
    {
      args: ["--all", "--service-account", "team/app"],
      error: /^Flag --service-account cannot be used with --all/,
    },
    { args: ["--requester-context", ""], error: /^Invalid value "" for flag --requester-context$/ },
    {
      args: ["--requester-kubeconfig", ""],
      error: /^Invalid value "" for flag --requester-kubeconfig$/,
    },
  ];
  for (const c of cases) {
    await t.step(c.args.join(" "), () => {
      assert.throws(() => validateRotate(parseArgs(c.args)), (e: Error) => {
        assert.ok(e instanceof UsageError, String(e));
        assert.match(e.message, c.error);
        return true;
      });
    });
  }
  for (const target of [["secret", "s"], ["bootstrap", "abcdef"]]) {
    for (const flag of ["--requester-context", "--requester-kubeconfig", "--all"]) {
      await t.step(`rotate ${target[0]} ${flag}`, async () => {
        const { runtime, stderr } = frozenRuntime(new Date(EDGE_INSTANTS[0]));
        const args = ["rotate", ...target, flag, ...(flag === "--all" ? [] : ["x"])];
        assert.equal(await main(args, runtime), 2);
        assert.equal(
          stderr.text,
          `error: Flag ${flag} can only be used with the kubeconfig user (plain "rotate")\n`,
        );
      });
    }
  }
  for (const flag of ["--context", "--user", "--cluster"]) {
    await t.step(`rotate --all ${flag}`, async () => {
      const { runtime, stderr } = frozenRuntime(new Date(EDGE_INSTANTS[0]));
      assert.equal(await main(["rotate", "--all", flag, "x"], runtime), 2);
      assert.equal(
        stderr.text,
        `error: Flag ${flag} cannot be used with --all: it rotates every token user of the kubeconfig\n`,
      );
    });
  }
});

/** `rotate` flags as the command line would give them to validateRotate. */
function parseArgs(args: string[]) {
  const options: Record<string, string | boolean> = {};
  for (let i = 0; i < args.length; i++) {
    const name = args[i].slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (args[i] === "--all") options[name] = true;
    else options[name] = args[++i];
  }
  return options;
}

Deno.test("rotate --all --dry-run decides at the threshold at the edges of days and years", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "rotate-all-" });
  try {
    for (const at of EDGE_INSTANTS) {
      await t.step(at, async () => {
        // At `at`, "exact" has exactly 20% (24m) of its 2h left, "early" a second more, and
        // "expired" expired a second ago.
        const now = Date.parse(at) / 1000;
        const tokens = {
          early: fakeToken("early", now - 96 * 60 + 1, 7200),
          exact: fakeToken("exact", now - 96 * 60, 7200),
          expired: fakeToken("expired", now - 7201, 7200),
        };
        const file = join(dir, "config");
        const text = kubeconfig(tokens);
        await Deno.writeTextFile(file, text);
        const run = async (...extra: string[]) => {
          const { runtime, stdout, stderr } = frozenRuntime(new Date(at));
          const code = await main(
            ["rotate", "--all", "--dry-run", "--kubeconfig", file, ...extra],
            runtime,
          );
          assert.equal(code, 0, stderr.text);
          assert.equal(stderr.text, "");
          return stdout.text.trimEnd().split("\n").map((line) => line.split(/ {3,}/).slice(1));
        };
        const expected = (within: string, exact: boolean, early: boolean) => [
          ["USER", "SERVICE-ACCOUNT", "RESULT", "DETAIL"],
          [
            "early",
            "team/early",
            early ? "due" : "skipped",
            `expires in 24m (${early ? "" : "not "}within ${within})${
              early ? "; not rotated (dry run)" : ""
            }`,
          ],
          [
            "exact",
            "team/exact",
            exact ? "due" : "skipped",
            `expires in 24m (${exact ? "" : "not "}within ${within})${
              exact ? "; not rotated (dry run)" : ""
            }`,
          ],
          [
            "expired",
            "team/expired",
            "due",
            `expired 1s ago (within ${within}); not rotated (dry run)`,
          ],
          ["admin", "<none>", "skipped", "not a service-account token"],
        ];
        const requester = ["--requester-context", "admin"];
        assert.deepEqual(await run(...requester), expected("20%", true, false));
        assert.deepEqual(
          await run(...requester, "--if-expires-within", "24m"),
          expected("24m", true, false),
        );
        assert.deepEqual(
          await run(...requester, "--if-expires-within", "24m1s"),
          expected("24m1s", true, true),
        );
        assert.deepEqual(
          await run(...requester, "--if-expires-within", "0%").then((rows) =>
            rows.map((row) => row[2])
          ),
          ["RESULT", "skipped", "skipped", "due", "skipped"],
        );
        // Without a requester, an expired token cannot ask for its successor.
        const { runtime, stdout, stderr } = frozenRuntime(new Date(at));
        assert.equal(
          await main(["rotate", "--all", "--dry-run", "--kubeconfig", file], runtime),
          1,
        );
        assert.match(stdout.text, /\n\S+ +expired +team\/expired +failed +Cannot rotate user/);
        assert.match(
          stderr.text,
          /^error: Cannot rotate 1 of 4 users: user "expired" in ".*config": Cannot rotate user "expired": its token expired 1s ago; rotate it with another identity/,
        );
        assert.equal(await Deno.readTextFile(file), text);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rotate --all without --kubeconfig works on the files KUBECONFIG merges", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rotate-all-" });
  try {
    const at = EDGE_INSTANTS[5];
    const now = Date.parse(at) / 1000;
    // The first file has the cluster and the contexts, the second the users, as kubectl allows.
    const [head, users] = kubeconfig({
      due: fakeToken("due", now - 7000, 7200),
      fresh: fakeToken("fresh", now - 60, 7200),
    }).split("users:\n");
    const a = join(dir, "a");
    const b = join(dir, "b");
    await Deno.writeTextFile(a, head);
    await Deno.writeTextFile(b, `apiVersion: v1\nkind: Config\nusers:\n${users}`);
    const { runtime, stdout, stderr } = frozenRuntime(new Date(at), { KUBECONFIG: `${a}:${b}` });
    assert.equal(
      await main(["rotate", "--all", "--dry-run", "--requester-context", "admin"], runtime),
      0,
    );
    assert.equal(stderr.text, "");
    assert.deepEqual(
      stdout.text.trimEnd().split("\n").slice(1).map((line) => line.split(/ {3,}/).slice(0, 4)),
      [
        [b, "due", "team/due", "due"],
        [b, "fresh", "team/fresh", "skipped"],
        [b, "admin", "<none>", "skipped"],
      ],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--requester-context completes contexts as --context does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rotate-all-" });
  try {
    const file = join(dir, "config");
    await Deno.writeTextFile(file, kubeconfig({ ci: "x" }));
    const { runtime, stdout } = frozenRuntime(new Date(EDGE_INSTANTS[0]));
    const args = ["__complete", "rotate", "--kubeconfig", file, "--requester-context", ""];
    assert.equal(await main(args, runtime), 0);
    assert.deepEqual(
      stdout.text.trimEnd().split("\n").map((line) => line.split("\t")[0]),
      ["ci", "admin", ":4"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rotate --all waits --grace once, with the new tokens written and no lock held", async () => {
  const server = await startApiServer();
  const dir = await Deno.makeTempDir({ prefix: "rotate-all-grace-" });
  try {
    for (const name of ["robot", "helper"]) {
      server.store.create({
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name, namespace: "default" },
      });
    }
    const file = join(dir, "config");
    for (const [sa, how] of [["robot", "--output-file"], ["helper", "--merge"]]) {
      const r = await runCli(
        ["kubeconfig", `default/${sa}`, "--duration", "1h", "--revocable", how, file],
        { env: { KUBECONFIG: server.kubeconfigPath } },
      );
      assert.equal(r.code, 0, r.stderr);
    }
    const entries = () =>
      server.store.list("v1", "Secret", "default")
        .filter((s) => s.type === "kubectl-token.io/issued-token")
        .map((s) => s.metadata.name!).sort();
    const oldEntries = entries();
    assert.equal(oldEntries.length, 2);
    const before = await Deno.readTextFile(file);
    const waits: { ms: number; locked: boolean; written: boolean; entries: string[] }[] = [];
    const stdout = new Capture();
    const stderr = new Capture();
    const vars: Record<string, string> = { HOME: "/nonexistent" };
    const runtime: Runtime = {
      ...denoRuntime(),
      env: (name) => vars[name],
      envAll: () => ({ ...vars }),
      stdout,
      stderr,
      sleep: async (ms) => {
        waits.push({
          ms,
          locked: await Deno.stat(`${file}.lock`).then(() => true, () => false),
          written: (await Deno.readTextFile(file)) !== before,
          entries: entries(),
        });
      },
    };
    const code = await main([
      "rotate",
      "--all",
      "--kubeconfig",
      file,
      "--requester-kubeconfig",
      server.kubeconfigPath,
      "--if-expires-within",
      "100%",
      "--grace",
      "5m",
    ], runtime);
    assert.equal(code, 0, stderr.text);
    assert.equal(waits.length, 1, "one wait for both tokens");
    const [wait] = waits;
    assert.equal(wait.ms, 300_000);
    assert.equal(wait.locked, false, "the kubeconfig lock is not held while waiting");
    assert.equal(wait.written, true, "the new tokens are written before the wait");
    assert.equal(wait.entries.length, 4, "old and new entries both exist during the grace");
    const after = entries();
    assert.equal(after.length, 2);
    assert.ok(after.every((name) => !oldEntries.includes(name)), "the old entries are revoked");
    assert.match(stderr.text, /^Revoking 2 old issued tokens in 5m0s \(--grace\)\.\.\.\n/);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await server.close();
  }
});

Deno.test("rotate --all leaves no new registry entry behind when the file cannot be written", async () => {
  const server = await startApiServer();
  const dir = await Deno.makeTempDir({ prefix: "rotate-all-refused-" });
  try {
    server.store.create({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "robot", namespace: "default" },
    });
    const file = join(dir, "config");
    const r = await runCli(
      ["kubeconfig", "default/robot", "--duration", "1h", "--revocable", "--output-file", file],
      { env: { KUBECONFIG: server.kubeconfigPath } },
    );
    assert.equal(r.code, 0, r.stderr);
    // A token that is a YAML alias is refused at the write, after its successor was issued.
    const written = await Deno.readTextFile(file);
    const token = /\n\s+token: (\S+)\n/.exec(written)![1];
    const text = `shared: &tok ${token}\n` + written.replace(`token: ${token}`, "token: *tok");
    await Deno.writeTextFile(file, text);
    const entries = () =>
      server.store.list("v1", "Secret", "default")
        .filter((s) => s.type === "kubectl-token.io/issued-token")
        .map((s) => s.metadata.name!);
    const before = entries();
    assert.equal(before.length, 1);
    const stdout = new Capture();
    const stderr = new Capture();
    const vars: Record<string, string> = { HOME: "/nonexistent" };
    let slept = 0;
    const runtime: Runtime = {
      ...denoRuntime(),
      env: (name) => vars[name],
      envAll: () => ({ ...vars }),
      stdout,
      stderr,
      sleep: () => {
        slept++;
        return Promise.resolve();
      },
    };
    const args = ["rotate", "--all", "--kubeconfig", file, "--grace", "1m"];
    const requester = ["--requester-kubeconfig", server.kubeconfigPath];
    const code = await main([...args, ...requester, "--if-expires-within", "100%"], runtime);
    assert.equal(code, 1);
    assert.match(stdout.text, /\sfailed\s+Cannot edit kubeconfig .*is a YAML alias/);
    assert.deepEqual(entries(), before, "the successor's entry is discarded, the old one kept");
    assert.equal(slept, 0);
    assert.equal(await Deno.readTextFile(file), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await server.close();
  }
});
