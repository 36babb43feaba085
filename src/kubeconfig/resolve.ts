/** Resolving flags, kubeconfig files and the pod environment to one connection, as kubectl does. */

import { CliError } from "../errors.ts";
import type { Runtime } from "../runtime.ts";
import type {
  AuthInfo,
  AuthMethod,
  Cluster,
  ConnectionFlags,
  Context,
  MergedKubeconfig,
  RestConfig,
} from "./types.ts";
import {
  kubeconfigCandidates,
  kubeconfigPaths,
  MAX_KUBECONFIG_BYTES,
  readKubeconfigFiles,
} from "./files.ts";
import { mergeKubeconfigs } from "./merge.ts";
import { type InClusterConfig, inClusterConfig } from "./in_cluster.ts";
import { proxyForUrl } from "./proxy.ts";
import { decodeBase64 } from "../encoding/base64.ts";
import { fileError } from "../fs/file_error.ts";
import { isWindows, pathApi } from "../path/platform.ts";
import { parseRequestTimeout } from "./_timeout.ts";
import { cannotUse, checkCaBundle, checkKeyPair } from "./_pem.ts";

/** Options for {@link resolveRestConfig}. */
export interface ResolveOptions {
  /** The service account folder of in-cluster config (default: the kubelet's mount point). */
  inClusterDir?: string;
}

const INTERACTIVE_MODES = ["Never", "IfAvailable", "Always"];
const EXEC_API_VERSIONS = [
  "client.authentication.k8s.io/v1",
  "client.authentication.k8s.io/v1beta1",
];

/**
 * Resolves the connection kubectl 1.32 would use for these flags: kubeconfig files merged
 * first-wins, the context from `--context` or current-context, `--cluster`/`--user` and the
 * connection flags layered on top as client-go's overrides do, and in-cluster config when no
 * server is configured. Unlike kubectl it never falls back to `http://localhost:8080` and never
 * prompts: a missing cluster, user or context is an error that says what is missing.
 */
export async function resolveRestConfig(
  runtime: Runtime,
  flags: ConnectionFlags,
  options: ResolveOptions = {},
): Promise<RestConfig> {
  const timeoutMs = parseRequestTimeout(flags.requestTimeout);
  const paths = await kubeconfigPaths(runtime, flags);
  const merged = mergeKubeconfigs(await readKubeconfigFiles(runtime, paths));
  const flagPath = (p: string | undefined) =>
    p ? pathApi(isWindows(runtime)).resolve(runtime.cwd(), p) : undefined;

  // Names first, in the order client-go checks them (user, context, cluster).
  if (flags.user && !merged.users.has(flags.user)) {
    throw new CliError(`User "${flags.user}" does not exist in the kubeconfig`);
  }
  const contextName = flags.context || merged.currentContext || undefined;
  if (contextName !== undefined && !merged.contexts.has(contextName)) {
    throw new CliError(`Context was not found for specified context: "${contextName}"`);
  }
  if (flags.cluster && !merged.clusters.has(flags.cluster)) {
    throw new CliError(`Cluster "${flags.cluster}" does not exist in the kubeconfig`);
  }
  const context: Context | undefined = contextName !== undefined
    ? merged.contexts.get(contextName)?.value
    : undefined;
  const clusterName = flags.cluster || context?.cluster || undefined;
  const userName = flags.user || context?.user || undefined;
  // kubectl silently treats these as empty entries (and then talks to localhost:8080 or sends no
  // credentials); a typo in a context is far likelier than an intent.
  if (clusterName !== undefined && !merged.clusters.has(clusterName)) {
    throw new CliError(`Cluster "${clusterName}" was not found for context "${contextName}"`);
  }
  if (userName !== undefined && !merged.users.has(userName)) {
    throw new CliError(`User "${userName}" was not found for context "${contextName}"`);
  }
  const clusterEntry = clusterName !== undefined ? merged.clusters.get(clusterName) : undefined;
  const userEntry = userName !== undefined ? merged.users.get(userName) : undefined;

  const cluster = overrideCluster(clusterEntry?.value ?? {}, flags, flagPath);
  const user = overrideUser(userEntry?.value ?? {}, flags, flagPath);
  const inCluster = await inClusterConfig(runtime, { dir: options.inClusterDir });

  if (!cluster.server) {
    // client-go's deferred loader: a config that names no server is "the default config", and
    // then in-cluster config wins when the pod environment is there.
    if (inCluster) return inClusterRestConfig(runtime, inCluster, flags, merged, timeoutMs);
    const master = runtime.env("KUBERNETES_MASTER");
    if (master) cluster.server = master;
    else throw noServerError(runtime, flags, merged, contextName, clusterName);
  }

  // How messages name the entries; without a name the settings came from flags alone.
  const clusterLabel = clusterName !== undefined
    ? `cluster "${clusterName}"`
    : "the cluster of the flags";
  const userLabel = userName !== undefined ? `user "${userName}"` : "the user of the flags";
  validateUser(userLabel, user);
  validateCluster(clusterLabel, cluster);

  const server = normalizeServer(cluster.server!);
  const namespace = flags.namespace || context?.namespace || inCluster?.namespace || "default";
  const config: RestConfig = {
    server,
    namespace,
    namespaceFromFlag: Boolean(flags.namespace),
    insecureSkipTlsVerify: false,
    auth: { kind: "none" },
    cluster: { ...cluster, server },
    origin: {
      kind: clusterEntry ? "kubeconfig" : "flags",
      files: merged.files,
    },
  };
  if (contextName !== undefined) config.contextName = contextName;
  if (clusterName !== undefined) config.clusterName = clusterName;
  if (userName !== undefined) config.userName = userName;
  if (userEntry) config.origin.userFile = userEntry.file;
  if (timeoutMs !== undefined) config.timeoutMs = timeoutMs;
  const proxyUrl = cluster.proxyUrl || proxyForUrl(server, (name) => runtime.env(name));
  if (proxyUrl) config.proxyUrl = proxyUrl;
  // Impersonation applies whatever the scheme, as in client-go.
  if (user.as) {
    config.impersonate = {
      user: user.as,
      groups: user.asGroups ?? [],
      extra: user.asUserExtra ?? {},
    };
    if (user.asUid) config.impersonate.uid = user.asUid;
  }

  // client-go reads TLS and credentials only when the server URL is https: an http:// server (or
  // one without a scheme) gets neither, so no secret ever travels in clear text.
  if (!server.toLowerCase().startsWith("https://")) {
    if (hasCredential(user)) config.credentialWithheld = true;
    return config;
  }

  config.insecureSkipTlsVerify = cluster.insecureSkipTlsVerify ?? false;
  if (cluster.tlsServerName) config.tlsServerName = cluster.tlsServerName;
  const caPem = cluster.certificateAuthorityData
    ? utf8(decodeBase64(cluster.certificateAuthorityData))
    : cluster.certificateAuthority
    ? await readFor(runtime, cluster.certificateAuthority, "certificate-authority", clusterLabel)
    : undefined;
  if (caPem !== undefined) {
    await checkCaBundle(
      caPem,
      cluster.certificateAuthorityData
        ? `"certificate-authority-data"`
        : `certificate-authority "${cluster.certificateAuthority}"`,
      cannotUse(clusterLabel),
    );
    if (config.insecureSkipTlsVerify) {
      throw new CliError(
        `Cannot use ${clusterLabel}: a certificate authority and ` +
          `"insecure-skip-tls-verify" cannot both be set`,
      );
    }
    config.caPem = caPem;
  }
  const { auth, tlsClientCertificate } = await authFor(runtime, userLabel, user);
  config.auth = auth;
  if (tlsClientCertificate) config.tlsClientCertificate = tlsClientCertificate;
  return config;
}

/** client-go's getCluster: flag values override the entry, with its two special rules. */
function overrideCluster(
  entry: Cluster,
  flags: ConnectionFlags,
  flagPath: (p: string | undefined) => string | undefined,
): Cluster {
  const cluster: Cluster = { ...entry };
  const ca = flagPath(flags.certificateAuthority);
  if (flags.server) cluster.server = flags.server;
  if (flags.tlsServerName) cluster.tlsServerName = flags.tlsServerName;
  // --insecure-skip-tls-verify or --certificate-authority replace all three CA settings, else a
  // kubeconfig CA would clash with the flag (or its data would win over the flag's file).
  if (flags.insecureSkipTlsVerify || ca) {
    cluster.insecureSkipTlsVerify = flags.insecureSkipTlsVerify ?? false;
    delete cluster.certificateAuthorityData;
    if (ca) cluster.certificateAuthority = ca;
    else delete cluster.certificateAuthority;
  }
  // --server drops the kubeconfig's tls-server-name: it belongs to the kubeconfig's server.
  if (flags.server && !flags.tlsServerName) delete cluster.tlsServerName;
  return cluster;
}

/** client-go's getAuthInfo: flag values override the entry's. */
function overrideUser(
  entry: AuthInfo,
  flags: ConnectionFlags,
  flagPath: (p: string | undefined) => string | undefined,
): AuthInfo {
  const user: AuthInfo = { ...entry };
  if (flags.token) user.token = flags.token;
  // A flag file replaces the entry's embedded data too (client-go after 1.32; 1.32 itself
  // reports "client-cert-data and client-cert are both specified" instead).
  const cert = flagPath(flags.clientCertificate);
  if (cert) {
    user.clientCertificate = cert;
    delete user.clientCertificateData;
  }
  const key = flagPath(flags.clientKey);
  if (key) {
    user.clientKey = key;
    delete user.clientKeyData;
  }
  if (flags.as) user.as = flags.as;
  if (flags.asUid) user.asUid = flags.asUid;
  if (flags.asGroups && flags.asGroups.length > 0) user.asGroups = [...flags.asGroups];
  return user;
}

/** The checks of client-go's validateAuthInfo for the user in use, in our words. */
function validateUser(label: string, user: AuthInfo): void {
  const fail = (detail: string): never => {
    throw new CliError(`Cannot use ${label}: ${detail}`);
  };
  if (user.token && (user.username || user.password)) {
    fail("it has both a token and a username/password; only one authentication method is allowed");
  }
  if (user.clientCertificate || user.clientCertificateData) {
    if (user.clientCertificate && user.clientCertificateData) {
      fail(`"client-certificate" and "client-certificate-data" are both set`);
    }
    if (user.clientKey && user.clientKeyData) {
      fail(`"client-key" and "client-key-data" are both set`);
    }
    if (!user.clientKey && !user.clientKeyData) {
      fail(`a client certificate needs "client-key" or "client-key-data"`);
    }
  }
  const exec = user.exec;
  if (exec) {
    if (user.authProvider) fail("an auth-provider cannot be combined with an exec plugin");
    if (!exec.command) fail("its exec plugin has no command");
    if (!exec.apiVersion) fail("its exec plugin has no apiVersion");
    if (exec.env?.some((e) => !e.name)) fail("its exec plugin has an env entry without a name");
    if (!exec.interactiveMode) fail("its exec plugin must set interactiveMode");
    else if (!INTERACTIVE_MODES.includes(exec.interactiveMode)) {
      fail(`its exec plugin has an invalid interactiveMode "${exec.interactiveMode}"`);
    }
    if (!EXEC_API_VERSIONS.includes(exec.apiVersion)) {
      fail(`its exec plugin has an invalid apiVersion "${exec.apiVersion}"`);
    }
  }
  if (
    (user.asUid || user.asGroups?.length || Object.keys(user.asUserExtra ?? {}).length) && !user.as
  ) {
    fail(`impersonating a uid, groups or extra needs a user to impersonate ("--as")`);
  }
}

/** The checks of client-go's validateClusterInfo that do not touch the disk. */
function validateCluster(label: string, cluster: Cluster): void {
  const fail = (detail: string): never => {
    throw new CliError(`Cannot use ${label}: ${detail}`);
  };
  if (cluster.certificateAuthority && cluster.certificateAuthorityData) {
    fail(`"certificate-authority" and "certificate-authority-data" are both set`);
  }
  if (cluster.proxyUrl) {
    let scheme: string | undefined;
    try {
      scheme = new URL(cluster.proxyUrl).protocol.slice(0, -1);
    } catch {
      fail(`invalid "proxy-url" "${cluster.proxyUrl}"`);
    }
    if (!["http", "https", "socks5"].includes(scheme!)) {
      fail(`"proxy-url" has unsupported scheme "${scheme}" (use http, https or socks5)`);
    }
  }
}

/**
 * The server URL client-go talks to: without a scheme it is http; with a path, the query and
 * fragment are dropped.
 */
function normalizeServer(server: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]/i.test(server) ? server : `http://${server}`;
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)([^?#]*)/i.exec(withScheme);
  return m && m[2].length > 1 ? m[1] + m[2] : withScheme;
}

/** How the user authenticates, choosing among its credentials as client-go's transport does. */
async function authFor(
  runtime: Runtime,
  label: string,
  user: AuthInfo,
): Promise<{ auth: AuthMethod; tlsClientCertificate?: { certPem: string; keyPem: string } }> {
  let cert: { certPem: string; keyPem: string } | undefined;
  if (user.clientCertificate || user.clientCertificateData) {
    const certPem = user.clientCertificateData
      ? utf8(decodeBase64(user.clientCertificateData))
      : await readFor(runtime, user.clientCertificate!, "client-certificate", label);
    const keyPem = user.clientKeyData
      ? utf8(decodeBase64(user.clientKeyData))
      : await readFor(runtime, user.clientKey!, "client-key", label);
    cert = { certPem, keyPem };
    await checkKeyPair(cert, {
      cert: user.clientCertificateData
        ? `"client-certificate-data"`
        : `client-certificate "${user.clientCertificate}"`,
      key: user.clientKeyData ? `"client-key-data"` : `client-key "${user.clientKey}"`,
    }, cannotUse(label));
  }
  // auth-provider plugins fail before any other credential is looked at (gcp and azure refuse
  // to load in kubectl 1.26+), so they go first.
  if (user.authProvider) return { auth: { kind: "auth-provider", name: user.authProvider.name } };

  let tokenAuth: AuthMethod | undefined;
  if (user.token) {
    // client-go re-reads tokenFile on every request and uses its content over the token (even a
    // --token flag) whenever the file reads and is not empty.
    tokenAuth = user.tokenFile && (await tokenFileUsable(runtime, user.tokenFile))
      ? { kind: "token-file", path: user.tokenFile }
      : { kind: "token", token: user.token };
  } else if (user.tokenFile) {
    const content = await readFor(runtime, user.tokenFile, "tokenFile", label);
    if (content.trim() === "") {
      throw new CliError(
        `Cannot read tokenFile "${user.tokenFile}" of ${label}: it is empty`,
      );
    }
    tokenAuth = { kind: "token-file", path: user.tokenFile };
  }
  const basic = user.username || user.password;
  if (tokenAuth && basic) {
    throw new CliError(
      `Cannot use ${label}: it has both a token and a username/password; only one ` +
        `authentication method is allowed`,
    );
  }
  if (tokenAuth) return { auth: tokenAuth, tlsClientCertificate: cert };
  if (basic) {
    return {
      auth: { kind: "basic", username: user.username ?? "", password: user.password ?? "" },
      tlsClientCertificate: cert,
    };
  }
  if (cert) return { auth: { kind: "client-certificate", ...cert } };
  // An exec plugin runs only when nothing above identifies the user.
  if (user.exec) return { auth: { kind: "exec", exec: user.exec } };
  return { auth: { kind: "none" } };
}

function hasCredential(user: AuthInfo): boolean {
  return Boolean(
    user.token || user.tokenFile || user.username || user.password || user.exec ||
      user.authProvider || user.clientCertificate || user.clientCertificateData,
  );
}

async function tokenFileUsable(runtime: Runtime, path: string): Promise<boolean> {
  try {
    return (await runtime.readTextFile(path, { maxBytes: MAX_KUBECONFIG_BYTES })).trim() !== "";
  } catch {
    return false;
  }
}

async function readFor(
  runtime: Runtime,
  path: string,
  field: string,
  owner: string,
): Promise<string> {
  try {
    return await runtime.readTextFile(path, { maxBytes: MAX_KUBECONFIG_BYTES });
  } catch (e) {
    throw fileError(`read ${field} "${path}" of ${owner}`, e);
  }
}

/** client-go's inClusterClientConfig: only --server, --token and --certificate-authority apply. */
async function inClusterRestConfig(
  runtime: Runtime,
  inCluster: InClusterConfig,
  flags: ConnectionFlags,
  merged: MergedKubeconfig,
  timeoutMs: number | undefined,
): Promise<RestConfig> {
  const windows = isWindows(runtime);
  const ca = flags.certificateAuthority
    ? pathApi(windows).resolve(runtime.cwd(), flags.certificateAuthority)
    : undefined;
  const caPem = ca
    ? await readFor(runtime, ca, "certificate-authority", "the in-cluster config")
    : inCluster.caPem;
  if (ca) {
    await checkCaBundle(
      caPem!,
      `certificate-authority "${ca}"`,
      cannotUse("the in-cluster config"),
    );
  }
  const server = inCluster.server;
  const config: RestConfig = {
    server,
    namespace: flags.namespace || inCluster.namespace || "default",
    namespaceFromFlag: Boolean(flags.namespace),
    insecureSkipTlsVerify: false,
    auth: flags.token
      ? { kind: "token", token: flags.token }
      : { kind: "token-file", path: inCluster.tokenFile },
    cluster: { server },
    origin: { kind: "in-cluster", files: merged.files },
  };
  if (caPem !== undefined) config.caPem = caPem;
  if (ca) config.cluster.certificateAuthority = ca;
  if (timeoutMs !== undefined) config.timeoutMs = timeoutMs;
  const proxyUrl = proxyForUrl(server, (name) => runtime.env(name));
  if (proxyUrl) config.proxyUrl = proxyUrl;
  // kubectl drops in-cluster config altogether once --as is given (and then talks to
  // localhost:8080); applying the impersonation is what the flag asks for.
  if (flags.as) {
    config.impersonate = { user: flags.as, groups: flags.asGroups ?? [], extra: {} };
    if (flags.asUid) config.impersonate.uid = flags.asUid;
  }
  return config;
}

/** Says why there is no server, where kubectl would quietly use http://localhost:8080. */
function noServerError(
  runtime: Runtime,
  flags: ConnectionFlags,
  merged: MergedKubeconfig,
  contextName: string | undefined,
  clusterName: string | undefined,
): CliError {
  if (merged.files.length === 0) {
    const candidates = kubeconfigCandidates(runtime, flags);
    const where = candidates.source === "env"
      ? candidates.paths.length === 0
        ? "KUBECONFIG names no file"
        : `no file named by KUBECONFIG exists (${quoteList(candidates.paths)})`
      : candidates.source === "home"
      ? `KUBECONFIG is not set and "${candidates.paths[0]}" does not exist`
      : "KUBECONFIG is not set and there is no home folder";
    const inClusterHint = runtime.env("KUBERNETES_SERVICE_HOST")
      ? "the service account token of the pod is missing"
      : "this is not a pod";
    return new CliError(
      `No cluster to connect to: ${where}, ${inClusterHint}, and no "--server" was given`,
    );
  }
  if (contextName === undefined) {
    return new CliError(
      `No context chosen: no current-context is set in ${quoteList(merged.files)}; ` +
        `pass "--context" or run "kubectl config use-context"`,
    );
  }
  if (clusterName === undefined) {
    return new CliError(`Cannot use context "${contextName}": it names no cluster`);
  }
  return new CliError(`No server found for cluster "${clusterName}"`);
}

function quoteList(items: string[]): string {
  return items.map((item) => `"${item}"`).join(", ");
}

function utf8(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
