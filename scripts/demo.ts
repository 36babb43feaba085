/**
 * `deno task demo`: the main job, end to end, through `kubectl token ...`: whoami, create,
 * decode --verify, audit. With no cluster configured it starts the bundled local API server
 * (tests/apiserver) and runs against that.
 */
import { delimiter, join } from "node:path";
import { startApiServer } from "../tests/apiserver/mod.ts";

function hasCluster(): boolean {
  if (Deno.env.get("KUBERNETES_SERVICE_HOST")) return true;
  const files = (Deno.env.get("KUBECONFIG") ?? "").split(delimiter).filter((f) => f !== "");
  const home = Deno.env.get("HOME");
  if (files.length === 0 && home) files.push(join(home, ".kube", "config"));
  return files.some((f) => {
    try {
      return Deno.statSync(f).isFile;
    } catch {
      return false;
    }
  });
}

async function kubectl(args: string[], env: Record<string, string>, show = true): Promise<string> {
  if (show) console.log(`\n$ kubectl ${args.join(" ")}`);
  const out = await new Deno.Command("kubectl", {
    args,
    env,
    // Shown output goes straight to the terminal, in order with what the command says on stderr.
    stdout: show ? "inherit" : "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`kubectl ${args[0]} ${args[1] ?? ""} failed`);
  return show ? "" : new TextDecoder().decode(out.stdout);
}

if (import.meta.main) {
  const env: Record<string, string> = {};
  const binDir = Deno.env.get("KUBECTL_TOKEN_BIN_DIR") ??
    join(Deno.env.get("HOME") ?? "/root", ".local", "bin");
  env.PATH = [binDir, Deno.env.get("PATH") ?? ""].join(delimiter);
  let server;
  if (!hasCluster()) {
    server = await startApiServer();
    env.KUBECONFIG = server.kubeconfigPath;
    console.log(`No cluster configured: started the local test API server at ${server.url}`);
  }
  try {
    await kubectl(["token", "version"], env);
    await kubectl(["token", "whoami"], env);
    console.log("\n$ TOKEN=$(kubectl token create default --duration 15m --audience demo)");
    const token = await kubectl(
      ["token", "create", "default", "--duration", "15m", "--audience", "demo"],
      env,
      false,
    );
    console.log(`\n$ kubectl token decode --verify - <<< "$TOKEN"`);
    const decode = new Deno.Command("kubectl", {
      args: ["token", "decode", "--verify", "-"],
      env,
      stdin: "piped",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const w = decode.stdin.getWriter();
    await w.write(new TextEncoder().encode(token));
    await w.close();
    if (!(await decode.status).success) throw new Error("kubectl token decode failed");
    await kubectl(["token", "audit", "-A"], env);
  } finally {
    await server?.close();
  }
}
