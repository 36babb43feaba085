/** A kubeconfig (or a file it names) larger than the limit is one error line, read no further. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./_cli.ts";

const TOO_LARGE =
  /^error: Cannot read kubeconfig "[^"]+": it is larger than 10 MiB, the limit for a kubeconfig file$/;

function assertOneLine(stderr: string, pattern: RegExp) {
  assert.match(stderr.trimEnd(), pattern);
  assert.equal(stderr.trimEnd().split("\n").length, 1, stderr);
}

Deno.test("a kubeconfig larger than 10 MiB is refused without reading it all", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "kubeconfig-size-" });
  try {
    await t.step("/dev/zero with --kubeconfig", async () => {
      const r = await runCli(["whoami", "--kubeconfig", "/dev/zero"]);
      assert.equal(r.code, 1);
      assertOneLine(r.stderr, TOO_LARGE);
    });
    await t.step("/dev/zero in KUBECONFIG", async () => {
      const r = await runCli(["whoami"], { env: { KUBECONFIG: "/dev/zero" } });
      assert.equal(r.code, 1);
      assertOneLine(r.stderr, TOO_LARGE);
    });
    await t.step("a regular file one byte over the limit", async () => {
      const file = join(dir, "big.yaml");
      // A valid YAML comment: only its size is wrong.
      await Deno.writeTextFile(file, "#" + " ".repeat(10 * 1024 * 1024));
      const r = await runCli(["whoami", "--kubeconfig", file]);
      assert.equal(r.code, 1);
      assertOneLine(r.stderr, TOO_LARGE);
    });
    await t.step("a file at the limit is read", async () => {
      const file = join(dir, "limit.yaml");
      await Deno.writeTextFile(file, "#" + " ".repeat(10 * 1024 * 1024 - 2) + "\n");
      const r = await runCli(["whoami", "--kubeconfig", file]);
      assert.equal(r.code, 1);
      assertOneLine(r.stderr, /^error: No context chosen: no current-context is set in/);
    });
    await t.step("a FIFO fed without end", async () => {
      const fifo = join(dir, "fifo");
      const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
      assert.equal(mk.code, 0);
      const writer = new Deno.Command("sh", {
        args: ["-c", `exec cat /dev/zero > "${fifo}"`],
        stderr: "null",
      }).spawn();
      try {
        const r = await runCli(["whoami", "--kubeconfig", fifo]);
        assert.equal(r.code, 1);
        assertOneLine(r.stderr, TOO_LARGE);
      } finally {
        // The writer ends with SIGPIPE once we close; kill it in case it did not.
        try {
          writer.kill("SIGKILL");
        } catch { /* already gone */ }
        await writer.status;
      }
    });
    await t.step("a tokenFile of /dev/zero", async () => {
      const file = join(dir, "token.yaml");
      await Deno.writeTextFile(
        file,
        `clusters:\n- name: c\n  cluster: {server: "https://127.0.0.1:1"}\nusers:\n- name: u\n` +
          `  user: {tokenFile: /dev/zero}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n` +
          `current-context: x\n`,
      );
      const r = await runCli(["whoami", "--kubeconfig", file]);
      assert.equal(r.code, 1);
      assertOneLine(
        r.stderr,
        /^error: Cannot read tokenFile "\/dev\/zero" of user "u": it is larger than 10 MiB$/,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
