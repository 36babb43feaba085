/**
 * A kubeconfig writer that stops between fsync and rename, for the crash test: it prints
 * "paused" and waits to be killed. Usage: deno run -A _crash_writer.ts FILE USER TOKEN [write]
 * With "write" it does not stop: it writes, or prints the error's message and exits 1 (the
 * ownership test runs it as another user).
 */
import { denoRuntime } from "../../src/runtime.ts";
import { updateKubeconfigFile } from "../../src/kubeconfig/write.ts";

const [file, user, token, mode] = Deno.args;
try {
  await updateKubeconfigFile(denoRuntime(), file, [{
    set: ["users", { name: user }, "user", "token"],
    value: token,
  }], {
    beforeRename: mode === "write" ? undefined : async () => {
      await Deno.stdout.write(new TextEncoder().encode("paused\n"));
      await new Promise((resolve) => setTimeout(resolve, 3_600_000)); // until SIGKILL
    },
  });
} catch (e) {
  console.error((e as Error).message);
  Deno.exit(1);
}
