/**
 * Every command and subcommand, fed its typical bad input: missing or invalid arguments and
 * flags, nonexistent files for every file flag, a garbage token, an unreachable server. Each
 * must answer with exactly one `error: ` line on stderr and exit 1 or 2, without runtime jargon
 * and without the token. The table is checked against the commander tree, so a new command
 * without a row fails here.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../src/main.ts";
import { buildProgram } from "../../src/cli/program.ts";
import { toCommander } from "../../src/cli/commander_view.ts";
import { denoRuntime, type Output, type Runtime } from "../../src/runtime.ts";
import { startApiServer } from "../apiserver/mod.ts";
import { runCli } from "../e2e/_cli.ts";
import { b64url } from "../jwt/_tokens.ts";

class Capture implements Output {
  text = "";
  write(data: string | Uint8Array) {
    this.text += typeof data === "string" ? data : new TextDecoder().decode(data);
  }
  isTerminal() {
    return false;
  }
}

// A token-shaped secret that must never be echoed, and a well-formed but unsigned-by-anyone JWT.
const GARBAGE = "not-a-token-s3cr3t-0123456789";
const JWT = `${b64url(JSON.stringify({ alg: "RS256", kid: "k" }))}.${
  b64url(JSON.stringify({ iss: "x", sub: "system:serviceaccount:ns:sa", exp: 1 }))
}.c2lnbmF0dXJlLXMzY3IzdA`;
const SECRETS = [GARBAGE, JWT, JWT.split(".")[2], "abcdef.0123456789abcdef", "0123456789abcdef"];
// What a user must never see: the runtime's own text, stack frames, JavaScript leaking through.
const JARGON = /os error|readfile|\bDeno\b|TypeError|ReferenceError|undefined|\n\s+at |\.ts:\d+/;

/** A row: the arguments, and where it runs (a live server, or an unreachable one). */
interface Case {
  args: string[];
  /** Needs the local API server; otherwise the kubeconfig points at a closed port. */
  server?: boolean;
  /** The kubeconfig user has a token (for --token, which a certificate would outrank). */
  tokenUser?: boolean;
  stdin?: string;
}

const NONE = "/nonexistent/kubectl-token-test";

function cases(dir: string, server: { url: string; dir: string }): Case[] {
  const dirAsFile = dir; // a folder where a file is expected
  return [
    // The root and its global flags.
    { args: ["nope"] },
    { args: ["--nope", "whoami"] },
    { args: ["whoami", "--kubeconfig", NONE] },
    { args: ["whoami", "--kubeconfig", dirAsFile] },
    { args: ["whoami", "--certificate-authority", NONE] },
    { args: ["whoami", "--client-certificate", NONE, "--client-key", NONE] },
    { args: ["whoami", "--request-timeout", "soon"] },
    { args: ["whoami", "-v", "loud"] },
    { args: ["whoami", "--context", "missing"] },
    // Commands.
    { args: ["create", "robot", "--duration", "soon"] },
    { args: ["create", "robot", "--bound-object-kind", "Planet", "--bound-object-name", "x"] },
    { args: ["create", "robot", "-o", "bogus"] },
    { args: ["create", "robot", "--purpose", "why"] },
    { args: ["create", "robot", "--revocable", "--bound-object-kind", "Pod"] },
    { args: ["create", "missing", "-n", "default", "--revocable"], server: true },
    { args: ["create", "robot", "--token", GARBAGE], tokenUser: true },
    { args: ["decode", GARBAGE] },
    { args: ["decode", `Bearer ${GARBAGE}`] },
    { args: ["decode", JWT, "--verify", "--jwks", NONE] },
    { args: ["decode", JWT, "--verify", "--jwks", dirAsFile] },
    { args: ["decode", JWT, "--verify", "--jwks", join(dir, "bad.json")] },
    { args: ["decode", JWT, "--verify", "--jwks", join(dir, "jwks.json")] },
    { args: ["decode", JWT, "--verify", "--leeway", "soon"] },
    { args: ["decode", JWT, "--leeway", "1m"] },
    { args: ["decode", JWT, "--verify"] },
    { args: ["decode", "-"], stdin: "" },
    { args: ["decode", JWT, "-o", "bogus"] },
    { args: ["decode", "-o", "json", "a", "b"] },
    { args: ["whoami"] },
    { args: ["whoami", "--token", GARBAGE], tokenUser: true },
    { args: ["whoami", "--token", GARBAGE], server: true, tokenUser: true },
    { args: ["whoami", "-o", "bogus"] },
    { args: ["version", "-o", "bogus"] },
    { args: ["version", "extra"] },
    { args: ["rotate"] },
    { args: ["rotate", "planet", "x"] },
    { args: ["rotate", "secret"] },
    { args: ["rotate", "bootstrap", "NOT-AN-ID"] },
    { args: ["rotate", "--duration", "soon"] },
    { args: ["rotate", "--kubeconfig", NONE] },
    { args: ["kubeconfig", "robot", "--purpose", "why"] },
    { args: ["kubeconfig", "robot", "--revocable", "--exec"] },
    { args: ["kubeconfig"] },
    { args: ["kubeconfig", "robot", "--duration", "soon"] },
    { args: ["kubeconfig", "robot", "--output-file", join(NONE, "x"), "--merge", join(NONE, "y")] },
    { args: ["kubeconfig", "robot", "--merge", dirAsFile], server: true },
    { args: ["exec-credential"] },
    { args: ["exec-credential", "--service-account", "no-slash"] },
    { args: ["exec-credential", "--service-account", "ns/sa", "--duration", "soon"] },
    { args: ["exec-credential", "--service-account", "ns/sa"] },
    { args: ["completion"] },
    { args: ["completion", "tcsh"] },
    { args: ["completion", "bash", "extra"] },
    { args: ["completion", "zsh", "extra"] },
    { args: ["completion", "fish", "extra"] },
    { args: ["completion", "powershell", "extra"] },
    { args: ["completion", "install", "--dir", join(dir, "bad.json", "sub")] },
    { args: ["audit"] },
    { args: ["audit", "--unused-for", "soon"] },
    { args: ["audit", "--fail-on", "bogus"] },
    { args: ["audit", "--chunk-size", "0"] },
    { args: ["audit", "-o", "bogus"] },
    { args: ["revoke"] },
    { args: ["revoke", "planet", "x"] },
    { args: ["revoke", "secret"] },
    { args: ["revoke", "token", GARBAGE] },
    { args: ["revoke", "token", "-"], stdin: "" },
    { args: ["revoke", "bootstrap", "NOT-AN-ID"] },
    { args: ["revoke", "--unused-for", "soon"] },
    { args: ["revoke", "secret", "x", "--force"] },
    { args: ["revoke", "secret", "missing", "-n", "default", "--yes"], server: true },
    { args: ["revoke", "issued"] },
    { args: ["revoke", "issued", "x", "--orphaned"] },
    { args: ["revoke", "issued", "-l", "a=b", "--delete-bound-object"] },
    { args: ["revoke", "issued", "x", "-l", "a=b"] },
    { args: ["revoke", "issued", "-l", ""] },
    { args: ["revoke", "secret", "x", "-l", "a=b"] },
    { args: ["revoke", "issued", "-l", "a=b", "--token-file", "-"] },
    { args: ["revoke", "issued", "missing", "-n", "default", "--yes"], server: true },
    { args: ["revoke", "issued", "x", "--token-file", NONE] },
    { args: ["revoke", "secret", "x", "--token-file", NONE] },
    { args: ["bootstrap"] },
    { args: ["bootstrap", "nope"] },
    { args: ["bootstrap", "create", "bad-token"] },
    { args: ["bootstrap", "create", "--ttl", "soon"] },
    { args: ["bootstrap", "create", "--usages", "flying"] },
    { args: ["bootstrap", "create"] },
    { args: ["bootstrap", "list", "-o", "bogus"] },
    { args: ["bootstrap", "list"] },
    { args: ["bootstrap", "delete"] },
    { args: ["bootstrap", "delete", "NOT-AN-ID"] },
    { args: ["bootstrap", "delete", "zzzzzz"], server: true },
    { args: ["bootstrap", "delete", "abcdef", "zzzzzz"], server: true },
    { args: ["bootstrap", "delete", "abcdef.0123456789abcdef"], server: true },
    { args: ["bootstrap", "generate", "extra"] },
    { args: ["issued", "-o", "bogus"] },
    { args: ["issued", "--service-account", "Not_A_Name"] },
    { args: ["issued", "--chunk-size", "many"] },
    { args: ["issued", "--prune", "-o", "json"] },
    { args: ["issued", "-A"] },
    { args: ["scope"] },
    { args: ["scope", "-o", "bogus"] },
    { args: ["scope", "-A", "--token", GARBAGE], tokenUser: true },
    { args: ["scope", "-A", "--token", GARBAGE], server: true, tokenUser: true },
    { args: ["scope", "robot"] },
    { args: ["scope", "--from-audit", NONE] },
    { args: ["scope", "--apply"] },
    { args: ["scope", "Not_A_Name", "--from-audit", NONE] },
    { args: ["scope", "robot", "--from-audit", NONE] },
    { args: ["scope", "robot", "--from-audit", join(dir, "bad.json"), "-n", "default"] },
    { args: ["scope", "robot", "--from-audit", NONE, "-A"] },
    { args: ["scope", "robot", "--from-audit", NONE, "-o", "wide"] },
    { args: ["scope", "robot", "--from-audit", NONE, "--dry-run=server"] },
    { args: ["scope", "robot", "--from-audit", NONE, "--apply", "--dry-run=maybe"] },
    { args: ["scope", "other/robot", "-n", "default", "--from-audit", NONE] },
    { args: ["scope", "robot", "--from-audit", "-"], stdin: "" },
    { args: ["usage", "bogus"] },
    { args: ["usage"] },
    { args: ["usage", "--audit-log", NONE] },
    { args: ["usage", "--audit-log", join(dir, "empty")] },
    { args: ["usage", "--audit-log", "-"], stdin: "" },
    { args: ["usage", "--audit-log", "-"], stdin: "{not json\n" },
    { args: ["usage", "--audit-log", "-", "--since", "soon"] },
    { args: ["usage", "--audit-log", "-", "--fail-on", "bogus"] },
    { args: ["usage", "--audit-log", "-", "--kind", "planet"] },
    { args: ["usage", "--audit-log", "-", "--denied-ratio", "2"] },
    { args: ["usage", "--audit-log", "-", "--baseline", "0s"] },
    { args: ["usage", "--audit-log", "-", "--service-account", "a/b/c"] },
    { args: ["usage", "--audit-log", "-", "-o", "bogus"] },
    { args: ["usage", "--audit-log", "x", "--db", "y"] },
    ...usageServeCases(dir, server),
  ];
}

/** `usage serve`: bad flags, unusable files, an address in use (the local API server's). */
function usageServeCases(dir: string, server: { url: string; dir: string }): Case[] {
  const tls = (cert: string, key: string, listen = "127.0.0.1:0", db = join(dir, "usage.db")) => [
    "usage",
    "serve",
    "--listen",
    listen,
    "--tls-cert-file",
    cert,
    "--tls-private-key-file",
    key,
    "--db",
    db,
  ];
  const cert = join(server.dir, "admin.crt");
  const key = join(server.dir, "admin.key");
  return [
    { args: ["usage", "serve"] },
    { args: ["usage", "serve", "--listen", ":8443"] },
    { args: tls(cert, key, "nope") },
    { args: tls(cert, key, "127.0.0.1:99999") },
    { args: tls(NONE, key) },
    { args: tls(cert, NONE) },
    { args: tls(dir, key) },
    { args: tls(join(dir, "bad.json"), join(dir, "bad.json")) },
    { args: [...tls(cert, key), "--client-ca-file", NONE] },
    { args: tls(cert, key, new URL(server.url).host) },
    { args: tls(cert, key, "127.0.0.1:0", dir) },
    { args: tls(cert, key, "127.0.0.1:0", join(NONE, "usage.db")) },
    { args: tls(cert, key, "127.0.0.1:0", join(dir, "bad.json", "usage.db")) },
    { args: [...tls(cert, key), "--retain", "forever"] },
    { args: [...tls(cert, key), "--max-body-size", "huge"] },
  ];
}

/** Every command path of the tree: "create", "bootstrap delete", ... */
function commandPaths(): string[] {
  const program = toCommander(buildProgram(denoRuntime(), () => {}));
  const paths: string[] = [];
  const walk = (command: typeof program.commands[number], prefix: string[]) => {
    for (const sub of command.commands) {
      const path = [...prefix, sub.name()];
      paths.push(path.join(" "));
      walk(sub, path);
    }
  };
  walk(program as unknown as typeof program.commands[number], []);
  return paths;
}

function check(args: string[], code: number, stdout: string, stderr: string) {
  const what = `${args.join(" ")}: exit ${code}, stderr ${JSON.stringify(stderr)}`;
  assert.ok(code === 1 || code === 2, what);
  assert.match(stderr, /^error: [^\n]+\n$/, what);
  assert.doesNotMatch(stderr, JARGON, what);
  // One prefix: not "Cannot read token: Cannot decode token: ...".
  assert.doesNotMatch(stderr, /Cannot [^:]+: Cannot /, what);
  for (const secret of SECRETS) {
    assert.ok(!stderr.includes(secret), `${what}: the token appears on stderr`);
  }
  assert.doesNotMatch(stdout, JARGON, `${args.join(" ")}: stdout ${JSON.stringify(stdout)}`);
}

Deno.test("every command answers bad input with one error line, exit 1 or 2", async (t) => {
  const server = await startApiServer();
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-bad-input-" });
  try {
    await Deno.writeTextFile(join(dir, "bad.json"), "{not json");
    await Deno.mkdir(join(dir, "empty"));
    await Deno.writeTextFile(join(dir, "jwks.json"), JSON.stringify({ keys: [{ kty: "OKP" }] }));
    const unreachable = join(dir, "unreachable.kubeconfig");
    const live = await Deno.readTextFile(server.kubeconfigPath);
    await Deno.writeTextFile(
      unreachable,
      live.replace(/server: \S+/, "server: https://127.0.0.1:1"),
    );
    const tokenLive = await server.writeKubeconfig("nobody", { token: "unknown-token-0123" });
    const tokenUnreachable = join(dir, "token-unreachable.kubeconfig");
    await Deno.writeTextFile(
      tokenUnreachable,
      (await Deno.readTextFile(tokenLive)).replace(/server: \S+/, "server: https://127.0.0.1:1"),
    );
    const table = cases(dir, server);

    await t.step("the table covers every command of the tree", () => {
      const covered = new Set(
        table.flatMap((c) => [c.args[0], `${c.args[0]} ${c.args[1]}`]),
      );
      const missing = commandPaths().filter((path) => !covered.has(path));
      assert.deepEqual(missing, []);
    });

    for (const c of table) {
      await t.step(c.args.join(" ") + (c.server ? " (server)" : ""), async () => {
        const stdout = new Capture();
        const stderr = new Capture();
        const kubeconfig = c.tokenUser
          ? (c.server ? tokenLive : tokenUnreachable)
          : (c.server ? server.kubeconfigPath : unreachable);
        const env: Record<string, string> = {
          KUBECONFIG: kubeconfig,
          HOME: dir,
          KUBECACHEDIR: join(dir, "cache"),
        };
        const runtime: Runtime = {
          ...denoRuntime(),
          env: (name) => env[name],
          envAll: () => ({ ...env }),
          homeDir: () => dir,
          stdout,
          stderr,
          stdin: {
            isTerminal: () => c.stdin === undefined,
            readAll: () => Promise.resolve(new TextEncoder().encode(c.stdin ?? "")),
            readLine: () => Promise.resolve(null),
          },
        };
        const code = await main(c.args, runtime);
        check(c.args, code, stdout.text, stderr.text);
      });
    }

    // A few as processes: the real streams, exit codes, and decode as main() parses it without commander.
    const processes: string[][] = [
      ["decode", GARBAGE],
      ["decode", JWT, "--verify", "--jwks", NONE],
      ["bootstrap", "delete", "abcdef", "zzzzzz"],
      ["nope"],
    ];
    for (const args of processes) {
      await t.step(`process: ${args.join(" ")}`, async () => {
        const r = await runCli(args, { env: { KUBECONFIG: server.kubeconfigPath } });
        check(args, r.code, r.stdout, r.stderr);
      });
    }
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
