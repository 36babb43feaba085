/** `kubectl-token usage serve` as a process, for the tests that send it audit batches. */
import { pluginBinDir } from "./_cli.ts";

/** A running `kubectl-token usage serve`. */
export interface Served {
  /** Where it listens: `https://HOST:PORT/`. */
  url: string;
  stderr(): string;
  /** SIGTERM, then the exit code and the whole stderr. */
  stop(): Promise<{ code: number; stderr: string }>;
}

/** Start `kubectl-token usage serve ARGS` and wait until it listens. */
export async function startUsageServe(
  args: string[],
  env: Record<string, string> = {},
): Promise<Served> {
  const child = new Deno.Command(`${await pluginBinDir()}/kubectl-token`, {
    args: ["usage", "serve", ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) text += decoder.decode(chunk, { stream: true });
  })();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const deadline = Date.now() + 30_000;
  let m: RegExpExecArray | null = null;
  while (!(m = /Serving the audit webhook on (https:\/\/\S+\/)/.exec(text))) {
    if (exited || Date.now() > deadline) {
      if (!exited) child.kill("SIGKILL");
      await status;
      await reading;
      throw new Error(`usage serve did not start: ${text}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url: m[1],
    stderr: () => text,
    stop: async () => {
      if (!exited) child.kill("SIGTERM");
      const { code } = await status;
      await reading;
      return { code, stderr: text };
    },
  };
}
