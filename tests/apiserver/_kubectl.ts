/** kubectl against a local test API server, for the server's own tests. */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { ApiServer } from "./mod.ts";

/** The kubectl that referees the server (v1.32 on these machines). */
export const KUBECTL = "/usr/bin/kubectl";

/** What a kubectl run printed and how it ended. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run kubectl against the server; HOME and the discovery cache live in the server's folder. */
export async function kubectl(
  server: ApiServer,
  args: string[],
  kubeconfig = server.kubeconfigPath,
): Promise<Run> {
  const out = await new Deno.Command(KUBECTL, {
    args: ["--kubeconfig", kubeconfig, ...args],
    env: { HOME: server.dir, KUBECACHEDIR: join(server.dir, "cache") },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Like kubectl() but fails the test with kubectl's stderr when it exits non-zero. */
export async function kubectlOk(
  server: ApiServer,
  args: string[],
  kubeconfig?: string,
): Promise<string> {
  const run = await kubectl(server, args, kubeconfig);
  assert.equal(run.code, 0, `kubectl ${args.join(" ")} failed: ${run.stderr}`);
  return run.stdout;
}
