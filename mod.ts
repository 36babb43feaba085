/**
 * kubectl-token entry point: run main() and exit with the code it returns; started as the
 * worker thread of a `usage` read on two threads (src/usage/parallel.ts), read that part.
 */
import { main } from "./src/main.ts";
import { denoRuntime, USAGE_PART_WORKER } from "./src/runtime.ts";

if ((globalThis as { name?: string }).name === USAGE_PART_WORKER) {
  await import("./src/usage/part_worker.ts");
} else {
  Deno.exit(await main(Deno.args, denoRuntime({ warmCrypto: true, entryPoint: import.meta.url })));
}
