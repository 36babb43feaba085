/**
 * The V8 flags of every way the program is started: the launcher of `deno task install`, the
 * executables of `deno compile` (scripts/release.ts), and the launchers of the tests.
 *
 * - `--expose-gc`: `usage --audit-log` collects the heap itself during a long read, so that
 *   it stays near what is live (src/usage/heap.ts); without the flag it reads the same, with
 *   more memory.
 * - `--max-semi-space-size=8`: a young generation of 8 MB a half instead of V8's 16, which
 *   on its own takes about 16 MB off every large read (docs/benchmarks.md). Nothing else the
 *   program does allocates enough to notice it.
 */
export const V8_FLAGS = "--expose-gc,--max-semi-space-size=8";
