/**
 * The command lines kubectl runs most often (`exec-credential` on every kubectl call through an
 * exec user, `decode TOKEN`) parsed without commander. Commander is CommonJS and pulls in
 * `node:module`, `node:events`, `node:child_process`, `node:fs` and `node:process`; loading them
 * costs about 25 ms of a 60 ms run (see docs/benchmarks.md). Only plain long flags are taken
 * here; anything else (short flags, `-v`, `--help`, unknown flags, a missing value, a value that
 * starts with "-") returns undefined and goes through commander, which then owns the error
 * messages. Results must equal what the commander definitions produce: see fast_path_test.ts.
 */
import type { ConnectionFlags } from "../kubeconfig/types.ts";
import type { ExecCredentialOptions } from "../commands/exec_credential.ts";
import type { DecodeOptions } from "../commands/decode.ts";

/** A command line the fast path can run. */
export type FastCommand =
  | { command: "exec-credential"; flags: ConnectionFlags; options: ExecCredentialOptions }
  | { command: "decode"; flags: ConnectionFlags; options: DecodeOptions };

/** kubectl's global flags that take a value (src/cli/program.ts), by long name. */
const GLOBAL_VALUES: Record<string, keyof ConnectionFlags> = {
  "kubeconfig": "kubeconfig",
  "context": "context",
  "cluster": "cluster",
  "user": "user",
  "namespace": "namespace",
  "server": "server",
  "token": "token",
  "certificate-authority": "certificateAuthority",
  "client-certificate": "clientCertificate",
  "client-key": "clientKey",
  "tls-server-name": "tlsServerName",
  "as": "as",
  "as-uid": "asUid",
  "request-timeout": "requestTimeout",
};

interface CommandFlags {
  values: string[];
  repeated: string[];
  booleans: string[];
  /** How many positional arguments the command takes. */
  positionals: number;
}

const COMMANDS: Record<FastCommand["command"], CommandFlags> = {
  "exec-credential": {
    values: ["service-account", "duration"],
    repeated: ["audience"],
    booleans: ["clear"],
    positionals: 0,
  },
  "decode": {
    values: ["jwks", "leeway", "output"],
    repeated: [],
    booleans: ["verify"],
    positionals: 1,
  },
};

/** Parse `args` when the fast path can run them; undefined sends them through commander. */
export function parseFastPath(args: string[]): FastCommand | undefined {
  const name = args[0];
  if (name !== "exec-credential" && name !== "decode") return undefined;
  const spec = COMMANDS[name];
  const flags: ConnectionFlags = { asGroups: [], requestTimeout: "0" };
  const values: Record<string, string> = {};
  const repeated: Record<string, string[]> = {};
  const booleans: Record<string, boolean> = {};
  const positionals: string[] = [];
  for (let i = 1; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) {
      // "-" (standard input) is a positional; every other dash form is commander's.
      if (arg.startsWith("-") && arg !== "-") return undefined;
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const key = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (key === "insecure-skip-tls-verify" || spec.booleans.includes(key)) {
      if (eq >= 0) return undefined;
      if (key === "insecure-skip-tls-verify") flags.insecureSkipTlsVerify = true;
      else booleans[key] = true;
      continue;
    }
    const takesValue = key in GLOBAL_VALUES || key === "as-group" || spec.values.includes(key) ||
      spec.repeated.includes(key);
    if (!takesValue) return undefined;
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= args.length) return undefined;
      value = args[++i];
      if (value.startsWith("-")) return undefined;
    }
    if (key === "as-group") flags.asGroups!.push(value);
    else if (key in GLOBAL_VALUES) {
      (flags as Record<string, unknown>)[GLOBAL_VALUES[key]] = value;
    } else if (spec.repeated.includes(key)) (repeated[key] ??= []).push(value);
    else values[key] = value;
  }
  if (positionals.length > spec.positionals) return undefined;
  if (name === "exec-credential") {
    return {
      command: name,
      flags,
      options: {
        serviceAccount: values["service-account"],
        audience: repeated["audience"] ?? [],
        duration: values["duration"],
        clear: booleans["clear"],
      },
    };
  }
  return {
    command: name,
    flags,
    options: {
      token: positionals[0],
      verify: booleans["verify"] ?? false,
      jwks: values["jwks"],
      leeway: values["leeway"],
      output: values["output"] ?? "text",
    },
  };
}
