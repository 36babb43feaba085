/** kubectl-token entry point: run main() and exit with the code it returns. */
import { main } from "./src/main.ts";
import { denoRuntime } from "./src/runtime.ts";

Deno.exit(await main(Deno.args, denoRuntime({ warmCrypto: true })));
