import assert from "node:assert/strict";
import { main } from "../../src/main.ts";
import { denoRuntime, type Output, processClock, type Runtime } from "../../src/runtime.ts";
import { seedFindings } from "../e2e/_audit_seed.ts";

class Capture implements Output {
  text = "";
  constructor(readonly terminal: boolean) {}
  write(data: string | Uint8Array) {
    this.text += typeof data === "string" ? data : new TextDecoder().decode(data);
  }
  isTerminal() {
    return this.terminal;
  }
}

/** The real runtime with a kubeconfig, and stdout captured as a terminal or not. */
function runtimeFor(kubeconfig: string, at: Date, stdoutTerminal: boolean) {
  const stdout = new Capture(stdoutTerminal);
  const stderr = new Capture(false);
  const runtime: Runtime = {
    ...denoRuntime(),
    now: processClock(at.toISOString()),
    env: (name) =>
      name === "KUBECONFIG" ? kubeconfig : name === "HOME" ? "/nonexistent" : undefined,
    envAll: () => ({ KUBECONFIG: kubeconfig }),
    stdout,
    stderr,
  };
  return { runtime, stdout, stderr };
}

Deno.test("audit on a terminal hides info rows and says how many", async (t) => {
  const server = await seedFindings();
  try {
    const run = async (args: string[], terminal = true) => {
      const { runtime, stdout, stderr } = runtimeFor(server.kubeconfigPath, server.at, terminal);
      const code = await main(["audit", "-n", "team", ...args], runtime);
      return { code, stdout: stdout.text, stderr: stderr.text };
    };

    await t.step("table: the two automount rows are hidden", async () => {
      const r = await run([]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /ServiceAccount|automount/);
      assert.match(r.stdout, /Secret\s+ghost\s/);
      assert.equal(
        r.stderr,
        "7 token Secrets, 0 bootstrap tokens, 3 service accounts, 4 issued tokens read; " +
          "findings: 4 high, 8 medium, 5 low, 2 info\n" +
          "2 info rows hidden (--severity info shows them)\n",
      );
    });

    await t.step("-o wide hides them too", async () => {
      const r = await run(["-o", "wide"]);
      assert.doesNotMatch(r.stdout, /automount/);
      assert.match(r.stderr, /\n2 info rows hidden/);
    });

    await t.step("--severity info shows them and hides nothing", async () => {
      const r = await run(["--severity", "info"]);
      assert.equal((r.stdout.match(/\sinfo\s+automount\n/g) ?? []).length, 2, r.stdout);
      assert.doesNotMatch(r.stderr, /hidden/);
    });

    await t.step("an explicit level says what it hid", async () => {
      const r = await run(["--severity", "high"]);
      assert.match(r.stderr, /\n7 rows below severity "high" hidden\n$/);
    });

    for (const output of ["json", "yaml"]) {
      await t.step(`-o ${output} on a terminal hides nothing`, async () => {
        const r = await run(["-o", output]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /automount/);
        assert.doesNotMatch(r.stdout, /hidden/);
      });
    }

    await t.step("not a terminal: nothing hidden", async () => {
      const r = await run([], false);
      assert.equal((r.stdout.match(/\sinfo\s+automount\n/g) ?? []).length, 2, r.stdout);
      assert.doesNotMatch(r.stderr, /hidden/);
    });

    await t.step("only info rows: the summary still comes, with the hidden count", async () => {
      const r = await run(["--kind", "serviceaccount"]);
      assert.equal(r.stdout, "");
      assert.equal(
        r.stderr,
        "3 service accounts read; findings: 2 info\n" +
          "2 info rows hidden (--severity info shows them)\n",
      );
    });
  } finally {
    await server.close();
  }
});
