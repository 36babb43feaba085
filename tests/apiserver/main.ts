/**
 * Run the test API server by hand or from the demo script:
 * `deno run -A tests/apiserver/main.ts [--port N]` prints the admin kubeconfig path on one line
 * and serves until SIGINT or SIGTERM.
 */
import { startApiServer } from "./server.ts";

function parsePort(args: string[]): number | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = arg === "--port"
      ? args[++i]
      : arg.startsWith("--port=")
      ? arg.slice(7)
      : undefined;
    if (value === undefined) continue;
    const port = Number(value);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new Error(`Cannot use port "${value}": expected a number from 0 to 65535`);
    }
    return port;
  }
  return undefined;
}

if (import.meta.main) {
  let port: number | undefined;
  try {
    port = parsePort(Deno.args);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(2);
  }
  const server = await startApiServer({ port });
  console.log(server.kubeconfigPath);
  await new Promise<void>((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, resolve);
  });
  await server.close();
  Deno.exit(0);
}
