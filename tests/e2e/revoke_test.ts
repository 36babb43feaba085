import assert from "node:assert/strict";
import { runCli, runKubectl } from "./_cli.ts";
import { seedFindings } from "./_audit_seed.ts";
import type { ApiServer } from "../apiserver/mod.ts";

/**
 * The seed's registry entries (create --revocable): a selector never takes one, not even the
 * expired ones (--expired) or the one whose service account is gone (--orphaned).
 */
const ISSUED = ["app-issued-b2c4d", "app-issued-f5g6h", "app-issued-j7k8l", "ghost-issued-m9n2p"];

function secretNames(server: ApiServer, ns: string): string[] {
  return server.store.list("v1", "Secret", ns).map((s) => s.metadata.name!).sort();
}

Deno.test("kubectl token revoke by selector deletes exactly the selected set", async (t) => {
  const server = await seedFindings();
  try {
    const env = server.env;
    const all = secretNames(server, "team");
    const boot = secretNames(server, "kube-system");
    const args = ["revoke", "-A", "--unused-for", "90d", "--orphaned", "--expired"];

    await t.step("--dry-run lists what would go and deletes nothing", async () => {
      const r = await runCli([...args, "--dry-run"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^NAMESPACE\s+KIND\s+NAME\s+REASON\n/);
      assert.match(r.stdout, /team\s+Secret\s+ghost\s+service account "ghost" does not exist/);
      assert.match(r.stdout, /kube-system\s+BootstrapToken\s+aaaaaa\s+expired/);
      assert.match(r.stdout, /\n6 objects would be deleted \(dry run\)\n$/);
      assert.deepEqual(secretNames(server, "team"), all);
    });

    await t.step("without --yes and without a terminal it refuses", async () => {
      const r = await runCli(args, { env, stdin: "y\n" });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^error: Refusing to delete without confirmation: standard input is not a terminal/m,
      );
      assert.deepEqual(secretNames(server, "team"), all);
    });

    await t.step("with --yes it deletes the selected objects only", async () => {
      const r = await runKubectl(["token", ...args, "--yes"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /secret "team\/unused" deleted\n/);
      assert.match(r.stdout, /bootstrap token "kube-system\/aaaaaa" deleted\n/);
      assert.deepEqual(secretNames(server, "team"), [...ISSUED, "fresh", "never-new"].sort());
      assert.deepEqual(
        secretNames(server, "kube-system"),
        boot.filter((n) => n !== "bootstrap-token-aaaaaa"),
      );
    });

    await t.step("by name", async () => {
      const r = await runCli(["revoke", "secret", "fresh", "-n", "team", "--yes"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(secretNames(server, "team"), [...ISSUED, "never-new"].sort());
      const b = await runCli(["revoke", "bootstrap", "cccccc", "--yes"], { env });
      assert.equal(b.code, 0, b.stderr);
      assert.deepEqual(secretNames(server, "kube-system"), ["bootstrap-token-bbbbbb"]);
      const gone = await runCli(["revoke", "secret", "fresh", "-n", "team", "--yes"], { env });
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /^error: Cannot revoke Secret "team\/fresh": it does not exist\n$/);
    });

    await t.step("usage errors", async () => {
      for (
        const [argv, message] of [
          [["revoke"], /Specify what to revoke/],
          [["revoke", "secret"], /A name is required after "secret"/],
          [["revoke", "--orphaned", "secret", "x"], /do not name one as well/],
          [["revoke", "bootstrap", "ABC"], /Invalid bootstrap token ID/],
          [["revoke", "secret", "x", "--force"], /Flag --force only works with the selectors/],
        ] as [string[], RegExp][]
      ) {
        const r = await runCli(argv, { env });
        assert.equal(r.code, 2, argv.join(" "));
        assert.match(r.stderr, message);
      }
    });
  } finally {
    await server.close();
  }
});
