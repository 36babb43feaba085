/** Turning a resolved connection into a credential: tokens, files, certificates, exec plugins. */

import { CliError } from "../errors.ts";
import type { Runtime } from "../runtime.ts";
import type { Credential, ExecConfig, RestConfig } from "./types.ts";
import { encodeBase64 } from "../encoding/base64.ts";
import { fileError } from "../fs/file_error.ts";
import { checkKeyPair } from "./_pem.ts";
import { MAX_KUBECONFIG_BYTES } from "./files.ts";

/** The cluster extension whose value client-go hands to exec plugins as `spec.cluster.config`. */
export const EXEC_CLUSTER_EXTENSION = "client.authentication.k8s.io/exec";

const EXEC_API_VERSIONS = [
  "client.authentication.k8s.io/v1",
  "client.authentication.k8s.io/v1beta1",
];

const INSTALL_HELP = "It looks like you are trying to use a client-go credential plugin that is " +
  "not installed. To learn more about this feature, consult the documentation available at: " +
  "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins";

const REMOVED_AUTH_PROVIDERS: Record<string, string> = {
  gcp: `use the "gke-gcloud-auth-plugin" kubectl/client-go credential plugin instead`,
  azure: `use the https://github.com/Azure/kubelogin kubectl/client-go credential plugin instead`,
};

/**
 * The credential for a resolved connection. Token files are re-read on every call (the kubelet
 * rotates service account tokens); exec plugins run on every call, as in one kubectl process.
 */
export async function getCredential(runtime: Runtime, config: RestConfig): Promise<Credential> {
  const auth = config.auth;
  const inCluster = config.origin.kind === "in-cluster";
  const cert = config.tlsClientCertificate ?? {};
  switch (auth.kind) {
    case "token":
      return { token: auth.token, ...cert, source: inCluster ? "in-cluster" : "token" };
    case "token-file":
      return {
        token: await readTokenFile(runtime, auth.path),
        ...cert,
        source: inCluster ? "in-cluster" : "token-file",
      };
    case "client-certificate":
      return { certPem: auth.certPem, keyPem: auth.keyPem, source: "client-certificate" };
    case "basic":
      return { username: auth.username, password: auth.password, ...cert, source: "basic" };
    case "exec":
      return await runExecPlugin(runtime, config, auth.exec);
    case "auth-provider":
      throw authProviderError(auth.name, config.userName);
    case "none":
      return { source: "none" };
  }
}

/** The token a token file holds, as client-go reads it (surrounding white space trimmed). */
export function tokenOfFile(text: string): string {
  return text.trim();
}

async function readTokenFile(runtime: Runtime, path: string): Promise<string> {
  let text: string;
  try {
    text = await runtime.readTextFile(path, { maxBytes: MAX_KUBECONFIG_BYTES });
  } catch (e) {
    throw fileError(`read token file "${path}"`, e);
  }
  const token = tokenOfFile(text);
  if (token === "") throw new CliError(`Cannot read token file "${path}": it is empty`);
  return token;
}

function authProviderError(name: string, userName: string | undefined): CliError {
  const who = `auth-provider "${name}" of user "${userName ?? ""}"`;
  const removed = REMOVED_AUTH_PROVIDERS[name];
  if (removed) {
    return new CliError(
      `Cannot use ${who}: the ${name} auth plugin was removed from kubectl; ${removed}`,
    );
  }
  return new CliError(
    `Cannot use ${who}: auth-provider plugins were removed from kubectl (1.26+) and are not ` +
      `supported; use an exec credential plugin instead (for OIDC, for example int128/kubelogin)`,
  );
}

/** The `KUBERNETES_EXEC_INFO` object client-go passes to an exec plugin, keys in its order. */
export function execCredentialInput(
  config: RestConfig,
  exec: ExecConfig,
  interactive: boolean,
): Record<string, unknown> {
  const spec: Record<string, unknown> = {};
  if (exec.provideClusterInfo) {
    const cluster: Record<string, unknown> = { server: config.server };
    if (config.tlsServerName) cluster["tls-server-name"] = config.tlsServerName;
    if (config.insecureSkipTlsVerify) cluster["insecure-skip-tls-verify"] = true;
    if (config.caPem) cluster["certificate-authority-data"] = encodeBase64(config.caPem);
    // Only the kubeconfig's proxy-url: client-go leaves environment proxies to the transport.
    if (config.cluster.proxyUrl) cluster["proxy-url"] = config.cluster.proxyUrl;
    if (config.cluster.disableCompression) cluster["disable-compression"] = true;
    const extension = config.cluster.extensions?.find((e) => e.name === EXEC_CLUSTER_EXTENSION);
    cluster.config = extension?.extension ?? null;
    spec.cluster = cluster;
  }
  spec.interactive = interactive;
  return { kind: "ExecCredential", apiVersion: exec.apiVersion, spec };
}

async function runExecPlugin(
  runtime: Runtime,
  config: RestConfig,
  exec: ExecConfig,
): Promise<Credential> {
  const fail = (detail: string, options?: { detail?: string }): never => {
    throw new CliError(
      `Cannot get credentials from exec plugin "${exec.command}": ${detail}`,
      options,
    );
  };
  if (!EXEC_API_VERSIONS.includes(exec.apiVersion)) fail(`invalid apiVersion "${exec.apiVersion}"`);

  let interactive = false;
  switch (exec.interactiveMode) {
    case "Never":
      break;
    case "IfAvailable":
      interactive = runtime.stdin.isTerminal();
      break;
    case "Always":
      if (!runtime.stdin.isTerminal()) {
        fail("exec plugin cannot support interactive mode: standard input is not a terminal");
      }
      interactive = true;
      break;
    default:
      fail(`unknown interactiveMode "${exec.interactiveMode ?? ""}"`);
  }

  const env: Record<string, string> = {};
  for (const { name, value } of exec.env ?? []) env[name] = value;
  env.KUBERNETES_EXEC_INFO = JSON.stringify(execCredentialInput(config, exec, interactive));

  const result = await runtime.spawn(exec.command, {
    args: exec.args ?? [],
    env,
    stdinInherit: interactive,
    // client-go hands the plugin our stderr: its prompts and errors reach the user directly.
    stderrInherit: true,
  });
  if (result.error === "not-found" || result.error === "permission-denied") {
    const hint = exec.installHint ? oneLine(cleanAnsi(exec.installHint)) : "";
    fail(`exec: executable "${exec.command}" not found${hint ? `; ${hint}` : ""}`, {
      detail: INSTALL_HELP,
    });
  }
  if (result.error || result.code === null) fail("exec: the plugin could not be started");
  if (result.code !== 0) {
    fail(`exec: executable "${exec.command}" failed with exit code ${result.code}`);
  }
  const credential = await parseExecOutput(result.stdout, exec, fail);
  if (credential.certPem && credential.keyPem) {
    await checkKeyPair(
      { certPem: credential.certPem, keyPem: credential.keyPem },
      { cert: `"status.clientCertificateData"`, key: `"status.clientKeyData"` },
      (detail) =>
        new CliError(`Cannot get credentials from exec plugin "${exec.command}": ${detail}`),
    );
  }
  return credential;
}

async function parseExecOutput(
  stdout: Uint8Array,
  exec: ExecConfig,
  fail: (detail: string) => never,
): Promise<Credential> {
  // Never quote the output in a message: it holds the credential.
  const text = new TextDecoder().decode(stdout);
  let decoded: unknown;
  try {
    decoded = JSON.parse(text);
  } catch {
    // client-go's universal decoder also accepts YAML. Plugins print JSON: the yaml package
    // (~30 ms to load) is imported only for the rest.
    const YAML = (await import("yaml")).default;
    try {
      decoded = YAML.parse(text);
    } catch {
      fail("its output is neither JSON nor YAML");
    }
  }
  if (!isObj(decoded)) return fail("its output is not an ExecCredential object");
  const { apiVersion, kind, status } = decoded;
  if (typeof apiVersion !== "string" || apiVersion === "") {
    fail(`its output has no "apiVersion"`);
  }
  if (typeof kind !== "string" || kind === "") fail(`its output has no "kind"`);
  if (kind !== "ExecCredential") fail(`its output is of kind "${kind}", not "ExecCredential"`);
  if (apiVersion !== exec.apiVersion) {
    fail(
      `exec plugin is configured to use API version "${exec.apiVersion}", plugin returned ` +
        `version "${apiVersion}"`,
    );
  }
  if (status === undefined || status === null) fail("exec plugin didn't return a status field");
  if (!isObj(status)) return fail(`its "status" is not an object`);
  const field = (name: string): string => {
    const value = status[name];
    if (value === undefined || value === null) return "";
    if (typeof value !== "string") fail(`its "status.${name}" is not a string`);
    return value as string;
  };
  const token = field("token");
  const certPem = field("clientCertificateData");
  const keyPem = field("clientKeyData");
  if (!token && !certPem && !keyPem) fail("exec plugin didn't return a token or cert/key pair");
  if (!certPem !== !keyPem) fail("exec plugin returned only certificate or key, not both");

  const credential: Credential = { source: "exec" };
  if (token) credential.token = token;
  if (certPem) {
    credential.certPem = certPem;
    credential.keyPem = keyPem;
  }
  const expiration = field("expirationTimestamp");
  if (expiration) {
    const at = parseRfc3339(expiration);
    if (!at) fail(`its "status.expirationTimestamp" "${expiration}" is not an RFC 3339 time`);
    credential.expiresAt = at;
  }
  return credential;
}

function isObj(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseRfc3339(text: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    return undefined;
  }
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** client-go's cleanANSIEscapeCodes: control and format characters become `U+XXXX`. */
function cleanAnsi(text: string): string {
  return text.replace(
    /[^\p{L}\p{M}\p{N}\p{P}\p{S}\p{Z}\t\n\v\f\r]/gu,
    (ch) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`,
  );
}

function oneLine(text: string): string {
  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== "").join(" ");
}
