/**
 * A kubeconfig writer that stops between fsync and rename, for the crash test: it prints
 * "paused" and waits to be killed. Usage: deno run -A _crash_writer.ts FILE USER TOKEN
 */
import { denoRuntime } from "../../src/runtime.ts";
import { updateKubeconfigFile } from "../../src/kubeconfig/write.ts";

const [file, user, token] = Deno.args;
await updateKubeconfigFile(denoRuntime(), file, [{
  set: ["users", { name: user }, "user", "token"],
  value: token,
}], {
  beforeRename: async () => {
    await Deno.stdout.write(new TextEncoder().encode("paused\n"));
    await new Promise((resolve) => setTimeout(resolve, 3_600_000)); // until SIGKILL
  },
});
