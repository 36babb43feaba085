/**
 * `kubectl token kubeconfig SA`: a kubeconfig for a service account, with the cluster of the
 * current context and a user that carries a short-lived token or, with `--exec`, renews its
 * token through `kubectl-token exec-credential`.
 */
import { checkAudiences, parseExpirationFlag } from "./_lifetime.ts";
import type { CommandContext } from "../context.ts";
import type { RestConfig } from "../kubeconfig/types.ts";
import { wrapApiError } from "../api/errors.ts";
import { getServiceAccount } from "../api/serviceaccounts.ts";
import { encodeBase64 } from "../encoding/base64.ts";
import { CliError, UsageError } from "../errors.ts";
import { formatGoDuration } from "../output/duration.ts";
import { toYaml } from "../output/printers.ts";
import { parseKubeconfigSync } from "../kubeconfig/parse_sync.ts";
import { updateKubeconfigFile, writeKubeconfigFile } from "../kubeconfig/write.ts";
import type { KubeconfigChange } from "../kubeconfig/edit.ts";
import { requestToken } from "./_token_request.ts";
import { isServiceAccountArg, type ServiceAccountRef } from "./_service_account.ts";

/** Flags and argument of `kubeconfig`. */
export interface KubeconfigOptions {
  serviceAccount?: string;
  duration?: string;
  audience: string[];
  exec?: boolean;
  outputFile?: string;
  merge?: string;
  name?: string;
  backup?: boolean;
  revocable?: boolean;
  purpose?: string;
}

/** A validated request. */
export interface KubeconfigRequest {
  serviceAccount: string;
  expirationSeconds?: number;
  audiences: string[];
  exec: boolean;
  destination: { kind: "stdout" } | { kind: "file"; path: string } | {
    kind: "merge";
    path: string;
  };
  name?: string;
  backup: boolean;
  /** Bind the token to a registry entry (see `kubectl token issued`). */
  revocable?: { purpose?: string };
}

/** The command kubectl runs for `--exec` users; the plugin launcher's name on PATH. */
export const PLUGIN_COMMAND = "kubectl-token";

/** Check the flags without touching the cluster; messages name the flag. */
export function validateKubeconfig(options: KubeconfigOptions): KubeconfigRequest {
  const sa = options.serviceAccount;
  if (!sa) throw new UsageError("A service account name is required: kubeconfig SA");
  if (!isServiceAccountArg(sa)) {
    throw new UsageError(
      `Invalid service account "${sa}": expected NAME or NAMESPACE/NAME (lowercase RFC 1123)`,
    );
  }
  if (options.outputFile && options.merge) {
    throw new UsageError("Flags --output-file and --merge cannot be used together");
  }
  if (options.backup && !options.merge && !options.outputFile) {
    throw new UsageError("Flag --backup can only be used with --merge or --output-file");
  }
  const expirationSeconds = parseExpirationFlag(options.duration);
  checkAudiences(options.audience);
  if (options.name !== undefined && !/^[^\s]+$/.test(options.name)) {
    throw new UsageError(
      `Invalid value "${options.name}" for flag --name: must not be empty or hold spaces`,
    );
  }
  if (options.purpose !== undefined && !options.revocable) {
    throw new UsageError("Flag --purpose can only be set with --revocable");
  }
  if (options.revocable && options.exec) {
    throw new UsageError(
      "Flags --revocable and --exec cannot be used together: an exec user stores no token to revoke",
    );
  }
  return {
    serviceAccount: sa,
    expirationSeconds,
    audiences: options.audience,
    exec: options.exec ?? false,
    destination: options.merge
      ? { kind: "merge", path: options.merge }
      : options.outputFile
      ? { kind: "file", path: options.outputFile }
      : { kind: "stdout" },
    name: options.name,
    backup: options.backup ?? false,
    ...(options.revocable ? { revocable: { purpose: options.purpose || undefined } } : {}),
  };
}

/** Write the kubeconfig; returns the exit code. */
export async function runKubeconfig(
  ctx: CommandContext,
  options: KubeconfigOptions,
): Promise<number> {
  const request = validateKubeconfig(options);
  const config = await ctx.config();
  const [namespace, name] = request.serviceAccount.includes("/")
    ? request.serviceAccount.split("/")
    : [config.namespace, request.serviceAccount];
  const sa: ServiceAccountRef = { namespace, name };
  const clusterName = config.clusterName ?? "cluster";
  const entryName = request.name ?? `${namespace}-${name}`;
  const cluster = clusterEntry(config);
  const client = await ctx.client();

  let user: Record<string, unknown>;
  let note = "";
  if (request.exec) {
    // Fail now rather than on the first kubectl call.
    try {
      await getServiceAccount(client, namespace, name);
    } catch (e) {
      throw wrapApiError(e, `Cannot read service account "${namespace}/${name}"`);
    }
    user = { exec: execEntry(ctx, config, sa, request) };
  } else {
    const issued = request.revocable
      ? await issueRevocableToken(ctx, sa, request)
      : await requestToken(client, sa, {
        audiences: request.audiences,
        expirationSeconds: request.expirationSeconds,
      });
    for (const w of issued.warnings) ctx.warn(w);
    user = { token: issued.token };
    if (issued.expiresAt) note = ` (its token expires ${issued.expiresAt.toISOString()})`;
  }

  const doc = {
    apiVersion: "v1",
    clusters: [{ cluster, name: clusterName }],
    contexts: [{ context: { cluster: clusterName, namespace, user: entryName }, name: entryName }],
    "current-context": entryName,
    kind: "Config",
    preferences: {},
    users: [{ name: entryName, user }],
  };
  const runtime = ctx.runtime;
  const dest = request.destination;
  const path = dest.kind === "stdout" ? "" : resolvePath(runtime.cwd(), dest.path);
  switch (dest.kind) {
    case "stdout":
      runtime.stdout.write(toYaml(doc));
      return 0;
    case "file":
      await writeKubeconfigFile(runtime, path, toYaml(doc), { backup: request.backup });
      runtime.stderr.write(`Wrote context "${entryName}" to "${path}"${note}\n`);
      return 0;
    case "merge": {
      const result = await updateKubeconfigFile(runtime, path, (text) => {
        const changes: KubeconfigChange[] = [];
        const existing = text.trim() === "" ? undefined : parseKubeconfigSync(text, path);
        const same = existing?.clusters.find((c) => c.name === clusterName);
        if (same && same.cluster.server !== undefined && same.cluster.server !== cluster.server) {
          throw new CliError(
            `Cannot merge into "${path}": its cluster "${clusterName}" has server ` +
              `"${same.cluster.server}", not "${cluster.server}"`,
          );
        }
        if (!same) changes.push({ upsert: "clusters", name: clusterName, value: { cluster } });
        changes.push({
          upsert: "contexts",
          name: entryName,
          value: { context: doc.contexts[0].context },
        });
        changes.push({ upsert: "users", name: entryName, value: { user } });
        if (!existing?.currentContext) changes.push({ set: ["current-context"], value: entryName });
        if (text.trim() === "") {
          changes.unshift({ set: ["kind"], value: "Config" });
          changes.unshift({ set: ["apiVersion"], value: "v1" });
        }
        return changes;
      }, { create: true, backup: request.backup });
      runtime.stderr.write(
        `${result.created ? "Created" : "Updated"} "${path}": context "${entryName}"${note}; ` +
          `use it with "kubectl --context ${entryName}"\n`,
      );
      return 0;
    }
  }
}

/** The cluster entry: the current context's cluster, CA embedded so the file stands alone. */
function clusterEntry(config: RestConfig): Record<string, unknown> {
  const cluster: Record<string, unknown> = {};
  if (config.caPem) {
    cluster["certificate-authority-data"] = encodeBase64(config.caPem);
  }
  if (config.insecureSkipTlsVerify) cluster["insecure-skip-tls-verify"] = true;
  if (config.cluster.proxyUrl) cluster["proxy-url"] = config.cluster.proxyUrl;
  cluster.server = config.server;
  if (config.tlsServerName) cluster["tls-server-name"] = config.tlsServerName;
  return cluster;
}

/** A token bound to a new registry entry; its ID goes to stderr. */
async function issueRevocableToken(
  ctx: CommandContext,
  sa: ServiceAccountRef,
  request: KubeconfigRequest,
) {
  const { announceIssued, issueRevocable } = await import("./_issue_revocable.ts");
  const issued = await issueRevocable(ctx, sa, {
    audiences: request.audiences,
    expirationSeconds: request.expirationSeconds,
    purpose: request.revocable?.purpose,
  });
  announceIssued(ctx, issued);
  return issued;
}

/** The exec entry: exec-credential with the credentials this command used. */
function execEntry(
  ctx: CommandContext,
  config: RestConfig,
  sa: ServiceAccountRef,
  request: KubeconfigRequest,
): Record<string, unknown> {
  const args = ["exec-credential", "--service-account", `${sa.namespace}/${sa.name}`];
  if (request.expirationSeconds) {
    args.push("--duration", formatGoDuration(request.expirationSeconds * 1000));
  }
  for (const a of request.audiences) args.push("--audience", a);
  const env: { name: string; value: string }[] = [];
  if (config.origin.kind === "kubeconfig") {
    const files = config.origin.files;
    if (files.length === 1) args.push("--kubeconfig", files[0]);
    else env.push({ name: "KUBECONFIG", value: files.join(":") });
    if (!config.contextName) {
      throw new CliError("Cannot write an --exec user: the credentials used have no context name");
    }
    args.push("--context", config.contextName);
  } else if (config.origin.kind === "flags") {
    throw new CliError(
      "Cannot write an --exec user from credentials given as flags: use a kubeconfig context",
    );
  }
  if (ctx.flags.context === undefined && config.contextName === undefined) {
    ctx.warn("the exec user relies on the pod's service account (in-cluster config)");
  }
  return {
    apiVersion: "client.authentication.k8s.io/v1",
    args,
    command: PLUGIN_COMMAND,
    env: env.length ? env : null,
    installHint: "Install the kubectl token plugin (kubectl-token) on PATH",
    interactiveMode: "Never",
    provideClusterInfo: false,
  };
}

function resolvePath(cwd: string, path: string): string {
  return path.startsWith("/") ? path : `${cwd.replace(/\/$/, "")}/${path}`;
}
