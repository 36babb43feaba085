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

/** The real runtime with a kubeconfig, captured output and a terminal that answers `answers`. */
function terminalRuntime(kubeconfig: string, answers: string[], at: Date) {
  const real = denoRuntime();
  const stdout = new Capture(true);
  const stderr = new Capture(true);
  const runtime: Runtime = {
    ...real,
    now: processClock(at.toISOString()),
    env: (name) =>
      name === "KUBECONFIG" ? kubeconfig : name === "HOME" ? "/nonexistent" : undefined,
    envAll: () => ({ KUBECONFIG: kubeconfig }),
    stdout,
    stderr,
    stdin: {
      isTerminal: () => true,
      readAll: () => Promise.resolve(new Uint8Array()),
      readLine: () => Promise.resolve(answers.shift() ?? null),
    },
  };
  return { runtime, stdout, stderr };
}

Deno.test("revoke asks on a terminal and deletes only after yes", async (t) => {
  const server = await seedFindings();
  try {
    const names = () => server.store.list("v1", "Secret", "team").map((s) => s.metadata.name);
    const args = ["revoke", "-n", "team", "--orphaned"];

    await t.step("no", async () => {
      const { runtime, stdout, stderr } = terminalRuntime(server.kubeconfigPath, ["n"], server.at);
      assert.equal(await main(args, runtime), 1);
      assert.match(stdout.text, /team\s+Secret\s+ghost\s+/);
      assert.match(
        stderr.text,
        /Delete 2 objects\? \[y\/N\]: error: Nothing deleted: not confirmed\n$/,
      );
      assert.ok(names().includes("ghost"));
    });

    await t.step("yes", async () => {
      const { runtime, stdout } = terminalRuntime(server.kubeconfigPath, ["yes"], server.at);
      assert.equal(await main(args, runtime), 0);
      assert.match(
        stdout.text,
        /secret "team\/ghost" deleted\nsecret "team\/recreated" deleted\n$/,
      );
      assert.ok(!names().includes("ghost") && !names().includes("recreated"));
      // Registry entries are no legacy tokens: not even the one whose service account is gone.
      assert.deepEqual(names().filter((n) => n?.includes("-issued-")), [
        "app-issued-b2c4d",
        "app-issued-f5g6h",
        "app-issued-j7k8l",
        "ghost-issued-m9n2p",
      ]);
    });
  } finally {
    await server.close();
  }
});

Deno.test("audit shows a progress line on a terminal stderr and clears it", async () => {
  const server = await seedFindings();
  try {
    const { runtime, stderr } = terminalRuntime(server.kubeconfigPath, [], server.at);
    assert.equal(await main(["audit", "-A", "--chunk-size", "2"], runtime), 0);
    assert.match(
      stderr.text,
      /\rRead 2 service accounts, 0 token Secrets, 0 bootstrap tokens, 0 issued tokens\.\.\./,
    );
    const cleared =
      "\r\x1b[K7 token Secrets, 3 bootstrap tokens, 7 service accounts, 4 issued tokens read";
    assert.ok(stderr.text.includes(cleared), stderr.text);
  } finally {
    await server.close();
  }
});
