/**
 * Takes the token cache's lock on one entry the way `exec-credential` does, prints "locked",
 * and holds it until killed: the kill-while-holding test runs this as a process.
 * Usage: deno run -A _hold_cache_lock.ts CACHE_FOLDER ENTRY_NAME
 */
import { denoRuntime } from "../../src/runtime.ts";
import { lockEntry } from "../../src/tokencache/cache.ts";

const [dir, name] = Deno.args;
await lockEntry(denoRuntime(), dir, name);
console.log("locked");
setInterval(() => {}, 60_000);
