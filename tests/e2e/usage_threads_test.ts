/**
 * `usage --audit-log` on two threads (src/usage/parallel.ts) prints what one thread prints,
 * byte for byte, as a process: the worker is the entry point started under its name. A line
 * that is not the event its start says makes it read the input again on one thread.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { generateAuditLog } from "../../scripts/_audit_log_gen.ts";
import { runCli } from "./_cli.ts";

const THREADS = "KUBECTL_TOKEN_USAGE_THREADS";

async function usage(log: string, threads: string) {
  const r = await runCli(["usage", "--audit-log", log, "-o", "json", "--offline", "-v=6"], {
    env: { [THREADS]: threads, KUBECONFIG: "/nonexistent" },
  });
  return r;
}

Deno.test("usage on two threads prints what one thread prints", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-threads-" });
  try {
    const log = join(dir, "audit.log");
    const { events } = await generateAuditLog(log, { bytes: 0, events: 6_000, seed: 7 });
    const one = await usage(log, "1");
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stderr, new RegExp(`read ${events} events, .* on 1 thread;`));

    await t.step("the same document, read on two threads", async () => {
      const two = await usage(log, "2");
      assert.equal(two.code, 0, two.stderr);
      assert.match(two.stderr, new RegExp(`read ${events} events, .* on 2 threads;`));
      assert.doesNotMatch(two.stderr, /read again/);
      assert.equal(two.stdout, one.stdout);
    });

    const lines = (await Deno.readTextFile(log)).split("\n");
    const userOf = (l: string) => /,"user":\{"username":"([^"]*)"/.exec(l)?.[1];
    const counts = new Map<string, number>();
    const firstByte = new Map<string, number>();
    let offset = 0;
    for (const l of lines) {
      const user = userOf(l);
      if (user !== undefined) {
        counts.set(user, (counts.get(user) ?? 0) + 1);
        if (!firstByte.has(user)) firstByte.set(user, offset);
      }
      offset += l.length + 1;
    }
    // The worker's users are found in the first 4 MiB: the user that makes most events is
    // one of them, and a user first seen after them is the main thread's.
    const [top] = [...counts].sort((a, b) => b[1] - a[1])[0];
    const late = [...firstByte].find(([, at]) => at > 4 * 1024 * 1024 + 100_000)?.[0];
    assert.ok(late !== undefined, "no user first seen after the sample");
    for (const [whose, user] of [["the worker's", top], ["the main thread's", late]]) {
      await t.step(
        `${whose} line not the event its start says: read again, the same answer`,
        async () => {
          // Cut inside: the line keeps its start and its closing brace, and is not JSON.
          const at = lines.findLastIndex((l) => userOf(l) === user);
          const bad = join(dir, "bad.log");
          await Deno.writeTextFile(
            bad,
            lines.map((l, i) => i === at ? l.replace(/,"verb":"/, ',"verb":') : l).join("\n"),
          );
          const single = await usage(bad, "1");
          const two = await usage(bad, "2");
          assert.equal(two.code, 0, two.stderr);
          assert.match(single.stderr, /1 malformed line skipped/);
          assert.match(two.stderr, /read again on one thread: line \d+ of .* is not the event/);
          assert.match(two.stderr, /on 1 thread;/);
          assert.equal(two.stdout, single.stdout);
        },
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
