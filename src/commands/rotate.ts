/**
 * `kubectl token rotate`: replace the token of the current kubeconfig user with a fresh one for
 * the same service account (checked before it is written), a legacy service-account-token
 * Secret (`rotate secret NAME`) or a bootstrap token (`rotate bootstrap ID`).
 */
import { parseExpirationFlag } from "./_lifetime.ts";
import { Buffer } from "node:buffer";
import { CommandContext } from "../cli/context.ts";
import type { Credential } from "../kubeconfig/types.ts";
import { ApiError } from "../api/errors.ts";
import { CliError, UsageError } from "../errors.ts";
import { formatGoDuration, parseDurationFlag, relativeTime, rfc3339 } from "../output/duration.ts";
import { inspectToken, type TokenReport } from "../jwt/inspect.ts";
import { updateKubeconfigFile } from "../kubeconfig/write.ts";
import { writeFileAtomic } from "../fs/atomic.ts";
import { withLock } from "../fs/lock.ts";
import { whoami } from "./whoami.ts";
import {
  BOOTSTRAP_TOKEN_SECRET_TYPE,
  bootstrapSecretName,
  generateBootstrapToken,
  isBootstrapTokenId,
} from "../bootstrap/token.ts";
import { parseServiceAccountFlag, requestToken, type ServiceAccountRef } from "./_token_request.ts";
import { retireSecret } from "./_legacy_secret.ts";

/** Flags and arguments of `rotate`, as the command line gives them. */
export interface RotateOptions {
  /** "secret", "bootstrap", or undefined for the kubeconfig user. */
  target?: string;
  name?: string;
  serviceAccount?: string;
  duration?: string;
  dryRun?: boolean;
  backup?: boolean;
  deleteOld?: boolean;
  grace?: string;
  timeout?: string;
}

/** A validated rotation. */
export type RotateRequest =
  | {
    kind: "user";
    serviceAccount?: string;
    expirationSeconds?: number;
    dryRun: boolean;
    backup: boolean;
  }
  | {
    kind: "secret";
    name: string;
    deleteOld: boolean;
    graceMs: number;
    timeoutMs: number;
    dryRun: boolean;
  }
  | { kind: "bootstrap"; id: string; deleteOld: boolean; graceMs: number; dryRun: boolean };

const SA_TOKEN_TYPE = "kubernetes.io/service-account-token";
const SA_NAME_ANNOTATION = "kubernetes.io/service-account.name";
const SA_UID_ANNOTATION = "kubernetes.io/service-account.uid";

/** Check the flags without touching the cluster; messages name the flag. */
export function validateRotate(options: RotateOptions): RotateRequest {
  const dryRun = options.dryRun ?? false;
  const onlyFor = (flag: string, set: unknown, forms: string) => {
    if (set !== undefined && set !== false) {
      throw new UsageError(`Flag ${flag} can only be used with ${forms}`);
    }
  };
  if (options.target === undefined) {
    onlyFor("--delete-old", options.deleteOld, `"rotate secret" and "rotate bootstrap"`);
    onlyFor("--grace", options.grace, `"rotate secret" and "rotate bootstrap"`);
    onlyFor("--timeout", options.timeout, `"rotate secret"`);
    const expirationSeconds = parseExpirationFlag(options.duration, { allowZero: false });
    if (options.serviceAccount !== undefined) {
      parseServiceAccountFlag("--service-account", options.serviceAccount);
    }
    return {
      kind: "user",
      serviceAccount: options.serviceAccount,
      expirationSeconds,
      dryRun,
      backup: options.backup ?? false,
    };
  }
  onlyFor("--service-account", options.serviceAccount, 'the kubeconfig user (plain "rotate")');
  onlyFor("--duration", options.duration, 'the kubeconfig user (plain "rotate")');
  onlyFor("--backup", options.backup, 'the kubeconfig user (plain "rotate")');
  const graceMs = options.grace === undefined ? 0 : parseDurationFlag("--grace", options.grace);
  if (options.grace !== undefined && !options.deleteOld) {
    throw new UsageError("Flag --grace can only be used with --delete-old");
  }
  const deleteOld = options.deleteOld ?? false;
  if (options.target === "secret") {
    if (!options.name) throw new UsageError("A Secret name is required: rotate secret NAME");
    const timeoutMs = options.timeout === undefined
      ? 60_000
      : parseDurationFlag("--timeout", options.timeout);
    return { kind: "secret", name: options.name, deleteOld, graceMs, timeoutMs, dryRun };
  }
  if (options.target === "bootstrap") {
    onlyFor("--timeout", options.timeout, `"rotate secret"`);
    if (!options.name) {
      throw new UsageError("A bootstrap token ID is required: rotate bootstrap ID");
    }
    // Accept the whole token too, but never echo it.
    const id = options.name.includes(".") ? options.name.split(".")[0] : options.name;
    if (!isBootstrapTokenId(id)) {
      throw new UsageError(`Invalid bootstrap token ID "${id}": expected 6 characters [a-z0-9]`);
    }
    return { kind: "bootstrap", id, deleteOld, graceMs, dryRun };
  }
  throw new UsageError(
    `Unknown rotation target "${options.target}": use "rotate", "rotate secret NAME" or ` +
      `"rotate bootstrap ID"`,
  );
}

/** Rotate; returns the exit code. */
export async function runRotate(ctx: CommandContext, options: RotateOptions): Promise<number> {
  const request = validateRotate(options);
  switch (request.kind) {
    case "user":
      return await rotateUser(ctx, request);
    case "secret":
      return await rotateSecret(ctx, request);
    case "bootstrap":
      return await rotateBootstrap(ctx, request);
  }
}

// ---------------------------------------------------------------------------------------------
// The kubeconfig user

async function rotateUser(
  ctx: CommandContext,
  request: Extract<RotateRequest, { kind: "user" }>,
): Promise<number> {
  if (ctx.flags.token) {
    throw new UsageError(
      "Flag --token cannot be used with rotate: it rotates the token stored for the kubeconfig user",
    );
  }
  const config = await ctx.config();
  const userName = config.userName;
  const file = config.origin.userFile;
  if (config.origin.kind !== "kubeconfig" || userName === undefined || file === undefined) {
    throw new CliError(
      config.origin.kind === "in-cluster"
        ? "Cannot rotate the in-cluster service account token: the kubelet rotates it"
        : "Cannot rotate: the credential does not come from a kubeconfig user",
    );
  }
  const who = `user "${userName}"`;
  const auth = config.auth;
  switch (auth.kind) {
    case "token":
    case "token-file":
      break;
    case "exec":
      throw new CliError(
        `Cannot rotate ${who}: it gets its credential from the exec plugin "${auth.exec.command}", ` +
          `which renews it; nothing is stored to rotate`,
      );
    case "client-certificate":
      throw new CliError(
        `Cannot rotate ${who}: it authenticates with a client certificate; renew the ` +
          `certificate instead, or switch the user to a renewing token with ` +
          `"kubectl token kubeconfig SA --exec --merge FILE"`,
      );
    case "basic":
      throw new CliError(`Cannot rotate ${who}: it authenticates with a username and password`);
    case "auth-provider":
      throw new CliError(
        `Cannot rotate ${who}: it uses the auth-provider "${auth.name}", which kubectl no longer supports`,
      );
    case "none":
      throw new CliError(`Cannot rotate ${who}: it has no token`);
  }
  const credential = await ctx.credential();
  const oldToken = credential.token!;
  const now = ctx.runtime.now();
  let report: TokenReport | undefined;
  try {
    report = inspectToken(oldToken, now);
  } catch {
    report = undefined;
  }
  if (report?.kind === "bootstrap") {
    throw new CliError(
      `Cannot rotate ${who}: it holds a bootstrap token; use "kubectl token rotate bootstrap ` +
        `${report.bootstrap!.tokenId}"`,
    );
  }
  const fromClaims = report?.kubernetes?.namespace && report.kubernetes.serviceAccount?.name
    ? { namespace: report.kubernetes.namespace, name: report.kubernetes.serviceAccount.name }
    : undefined;
  const sa: ServiceAccountRef | undefined = request.serviceAccount
    ? parseServiceAccountFlag("--service-account", request.serviceAccount)
    : fromClaims;
  if (!sa) {
    throw new CliError(
      `Cannot rotate ${who}: its token is not a service-account token; name the service ` +
        `account with --service-account NAMESPACE/NAME`,
    );
  }
  const expirationSeconds = request.expirationSeconds ?? report?.lifetimeSeconds;
  if (expirationSeconds === undefined) {
    throw new UsageError(
      `The token of ${who} has no expiry to copy: give the new token's lifetime with --duration`,
    );
  }
  const audiences = report?.audiences ?? [];
  const bound = report?.kubernetes?.boundObject;
  const boundObject = bound?.name && (bound.kind === "Secret" || bound.kind === "Pod")
    ? { kind: bound.kind, name: bound.name, uid: bound.uid }
    : undefined;
  const where = auth.kind === "token-file"
    ? `token file "${auth.path}" of ${who}`
    : `${who} in "${file}"`;
  const out = ctx.runtime.stdout;
  const seconds = Math.round(expirationSeconds);
  const lifetime = formatGoDuration(seconds * 1000);
  if (request.dryRun) {
    out.write(
      `Would rotate the token of ${where}: a new token for service account ` +
        `"${sa.namespace}/${sa.name}"` +
        (audiences.length ? ` (audiences ${audiences.join(", ")})` : "") +
        ` valid for ${lifetime}` +
        (boundObject ? `, bound to ${boundObject.kind} "${boundObject.name}"` : "") +
        (report?.expiresAt
          ? `; the current token ${report.expired ? "expired" : "expires"} ${
            rfc3339(report.expiresAt)
          } (${relativeTime(report.expiresAt, now)})`
          : "") +
        (request.backup ? `; the old file would be kept as a backup` : "") +
        " (dry run)\n",
    );
    return 0;
  }
  if (report?.expired) {
    throw new CliError(
      `Cannot rotate ${who}: its token expired ${relativeTime(report.expiresAt!, now)}; ` +
        `get a new one with "kubectl token kubeconfig ${sa.name} -n ${sa.namespace} --merge FILE" ` +
        `using other credentials`,
    );
  }
  const client = await ctx.client();
  let issued;
  try {
    issued = await requestToken(client, sa, {
      audiences,
      expirationSeconds: seconds,
      boundObject,
    });
  } catch (e) {
    if (e instanceof ApiError && e.code === 403) {
      e.message += `; the token of ${who} needs permission to create "serviceaccounts/token" for ` +
        `its own service account`;
    }
    throw e;
  }
  for (const w of issued.warnings) ctx.warn(w);
  await verifyToken(ctx, issued.token, sa);

  if (auth.kind === "token-file") {
    await rewriteTokenFile(ctx, auth.path, issued.token, request.backup);
  } else {
    const result = await updateKubeconfigFile(ctx.runtime, file, [{
      set: ["users", { name: userName }, "user", "token"],
      value: issued.token,
    }], { backup: request.backup });
    if (result.backupPath) ctx.log(1, `kept the previous kubeconfig as "${result.backupPath}"`);
  }
  const expiry = issued.expiresAt
    ? `; it expires ${rfc3339(issued.expiresAt)} (${relativeTime(issued.expiresAt, now)})`
    : "";
  out.write(
    `Rotated the token of ${where}: service account "${sa.namespace}/${sa.name}"${expiry}\n`,
  );
  return 0;
}

/** A context like `ctx` whose credential is the given token. */
class TokenContext extends CommandContext {
  #credential: Credential;
  constructor(ctx: CommandContext, token: string) {
    super(ctx.runtime, ctx.flags, ctx.verbosity);
    this.#credential = { token, source: "token" };
  }
  override credential(): Promise<Credential> {
    return Promise.resolve(this.#credential);
  }
}

/** The new token must authenticate as the service account before anything is written. */
async function verifyToken(ctx: CommandContext, token: string, sa: ServiceAccountRef) {
  const check = new TokenContext(ctx, token);
  const expected = `system:serviceaccount:${sa.namespace}:${sa.name}`;
  try {
    const identity = await whoami(check);
    const name = identity.user.username;
    if (identity.verified && name !== expected) {
      throw new CliError(
        `Cannot use the new token: the API server sees it as "${name}", not "${expected}"; ` +
          `nothing was written`,
      );
    }
    ctx.log(1, `the new token authenticates as "${name}" (${identity.source})`);
  } catch (e) {
    if (e instanceof ApiError && e.code === 401) {
      e.message = `Cannot use the new token: the API server does not accept it (401 ` +
        `Unauthorized); nothing was written`;
    }
    throw e;
  } finally {
    await check.close();
  }
}

async function rewriteTokenFile(
  ctx: CommandContext,
  path: string,
  token: string,
  backup: boolean,
): Promise<void> {
  const runtime = ctx.runtime;
  await withLock(runtime, path, async () => {
    const old = await runtime.readTextFile(path);
    if (backup) await writeFileAtomic(runtime, `${path}.bak`, old, { forceMode: 0o600 });
    // Keep the file's own line ending convention.
    await writeFileAtomic(runtime, path, token + (old.endsWith("\n") ? "\n" : ""), {
      mode: 0o600,
    });
  }, { what: `token file "${path}"` });
}

// ---------------------------------------------------------------------------------------------
// Legacy service-account-token Secrets

interface SecretObject {
  apiVersion?: string;
  kind?: string;
  type?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    creationTimestamp?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  };
  data?: Record<string, string>;
}

async function rotateSecret(
  ctx: CommandContext,
  request: Extract<RotateRequest, { kind: "secret" }>,
): Promise<number> {
  const config = await ctx.config();
  const client = await ctx.client();
  const namespace = config.namespace;
  const ns = encodeURIComponent(namespace);
  const old = await getSecret(ctx, namespace, request.name);
  if (old.type !== SA_TOKEN_TYPE) {
    throw new CliError(
      `Cannot rotate Secret "${namespace}/${request.name}": it is of type "${old.type ?? ""}", ` +
        `not "${SA_TOKEN_TYPE}"`,
    );
  }
  const saName = old.metadata?.annotations?.[SA_NAME_ANNOTATION];
  if (!saName) {
    throw new CliError(
      `Cannot rotate Secret "${namespace}/${request.name}": it has no ` +
        `"${SA_NAME_ANNOTATION}" annotation`,
    );
  }
  const err = ctx.runtime.stderr;
  if (request.dryRun) {
    ctx.runtime.stdout.write(
      `Would create a new token Secret for service account "${namespace}/${saName}" to replace ` +
        `"${request.name}"` +
        (request.deleteOld
          ? `, then delete "${request.name}"${
            request.graceMs ? ` after ${formatGoDuration(request.graceMs)}` : ""
          }`
          : "") +
        " (dry run)\n",
    );
    return 0;
  }
  const labels = Object.fromEntries(
    Object.entries(old.metadata?.labels ?? {}).filter(([k]) => !k.startsWith("kubernetes.io/")),
  );
  const created = await client.post<SecretObject>(`/api/v1/namespaces/${ns}/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      generateName: `${saName}-token-`,
      namespace,
      annotations: { [SA_NAME_ANNOTATION]: saName },
      ...(Object.keys(labels).length ? { labels } : {}),
    },
    type: SA_TOKEN_TYPE,
  });
  const newName = created.body.metadata?.name;
  if (!newName) {
    throw new CliError("Cannot create the new token Secret: the server returned no name");
  }
  await waitForToken(ctx, namespace, newName, request.timeoutMs);
  ctx.runtime.stdout.write(`${newName}\n`);
  if (request.deleteOld) {
    await deleteAfterGrace(
      ctx,
      `Secret "${namespace}/${request.name}"`,
      request.graceMs,
      () =>
        retireSecret(client, err, {
          namespace,
          name: request.name,
          uid: old.metadata?.uid,
          serviceAccount: saName,
        }, newName),
    );
  } else if (err.isTerminal()) {
    err.write(
      `The old Secret "${request.name}" still works; delete it once nothing uses it ` +
        `(or rerun with --delete-old --grace DURATION)\n`,
    );
  }
  return 0;
}

async function getSecret(ctx: CommandContext, namespace: string, name: string) {
  const client = await ctx.client();
  try {
    return await client.get<SecretObject>(
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
    );
  } catch (e) {
    if (e instanceof ApiError) {
      e.message = `Cannot read Secret "${namespace}/${name}": ${e.message}`;
    }
    throw e;
  }
}

/** Wait (bounded) for the token controller to put a token into the new Secret. */
async function waitForToken(
  ctx: CommandContext,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<void> {
  const runtime = ctx.runtime;
  const started = runtime.now().getTime();
  const terminal = runtime.stderr.isTerminal();
  let delay = 100;
  let shown = false;
  for (;;) {
    let secret: SecretObject;
    try {
      secret = await getSecret(ctx, namespace, name);
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) {
        throw new CliError(
          `Cannot rotate: the token controller deleted the new Secret "${namespace}/${name}" ` +
            `(its service account is gone or was recreated)`,
        );
      }
      throw e;
    }
    if (secret.data?.token && secret.metadata?.annotations?.[SA_UID_ANNOTATION]) break;
    const elapsed = runtime.now().getTime() - started;
    if (elapsed >= timeoutMs) {
      if (shown) runtime.stderr.write("\n");
      throw new CliError(
        `Cannot rotate: the token controller did not fill Secret "${namespace}/${name}" within ` +
          `${formatGoDuration(timeoutMs)} (is kube-controller-manager running?); the empty ` +
          `Secret is left in place`,
      );
    }
    if (terminal) {
      runtime.stderr.write(
        `\rWaiting for the token controller to fill Secret "${name}"... ` +
          `${Math.floor(elapsed / 1000)}s`,
      );
      shown = true;
    }
    await runtime.sleep(delay);
    delay = Math.min(delay * 2, 1000);
  }
  if (shown) runtime.stderr.write("\n");
}

async function deleteAfterGrace(
  ctx: CommandContext,
  what: string,
  graceMs: number,
  remove: () => Promise<unknown>,
): Promise<void> {
  const err = ctx.runtime.stderr;
  if (graceMs > 0) {
    err.write(`Deleting ${what} in ${formatGoDuration(graceMs)} (--grace)...\n`);
    await ctx.runtime.sleep(graceMs);
  }
  try {
    await remove();
  } catch (e) {
    if (e instanceof ApiError && e.code === 404) {
      err.write(`${what} was already gone\n`);
      return;
    }
    if (e instanceof ApiError) e.message = `Cannot delete ${what}: ${e.message}`;
    throw e;
  }
  err.write(`${what} deleted\n`);
}

// ---------------------------------------------------------------------------------------------
// Bootstrap tokens

const BOOTSTRAP_KEYS_KEPT = ["description", "auth-extra-groups"];

async function rotateBootstrap(
  ctx: CommandContext,
  request: Extract<RotateRequest, { kind: "bootstrap" }>,
): Promise<number> {
  const client = await ctx.client();
  const oldName = bootstrapSecretName(request.id);
  const old = await getSecret(ctx, "kube-system", oldName);
  if (old.type !== BOOTSTRAP_TOKEN_SECRET_TYPE) {
    throw new CliError(
      `Cannot rotate bootstrap token "${request.id}": Secret "kube-system/${oldName}" is of ` +
        `type "${old.type ?? ""}", not "${BOOTSTRAP_TOKEN_SECRET_TYPE}"`,
    );
  }
  const data = old.data ?? {};
  const text = (key: string) =>
    data[key] === undefined ? undefined : Buffer.from(data[key], "base64").toString("utf8");
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key.startsWith("usage-bootstrap-") || BOOTSTRAP_KEYS_KEPT.includes(key)) kept[key] = value;
  }
  // The TTL the old token was given: from its creation to its expiration.
  const expiration = text("expiration");
  const created = old.metadata?.creationTimestamp;
  let ttlMs: number | undefined;
  if (expiration && created) {
    const ms = Date.parse(expiration) - Date.parse(created);
    if (Number.isFinite(ms) && ms > 0) ttlMs = ms;
  }
  const now = ctx.runtime.now();
  const usages = Object.keys(kept).filter((k) =>
    k.startsWith("usage-bootstrap-") && text(k) === "true"
  )
    .map((k) => k.slice("usage-bootstrap-".length));
  if (request.dryRun) {
    ctx.runtime.stdout.write(
      `Would create a new bootstrap token with usages ${usages.join(",") || "none"}` +
        (text("auth-extra-groups") ? `, groups ${text("auth-extra-groups")}` : "") +
        (ttlMs ? `, TTL ${formatGoDuration(ttlMs)}` : ", no expiration") +
        (request.deleteOld ? `, then delete "${request.id}"` : "") + " (dry run)\n",
    );
    return 0;
  }
  const fresh = generateBootstrapToken();
  const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
  const newData: Record<string, string> = {
    "token-id": b64(fresh.id),
    "token-secret": b64(fresh.secret),
    ...kept,
  };
  if (ttlMs) newData.expiration = b64(rfc3339(new Date(now.getTime() + ttlMs)));
  await client.post(`/api/v1/namespaces/kube-system/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: bootstrapSecretName(fresh.id), namespace: "kube-system" },
    type: BOOTSTRAP_TOKEN_SECRET_TYPE,
    data: newData,
  }).catch((e) => {
    if (e instanceof ApiError) e.message = `Cannot create the new bootstrap token: ${e.message}`;
    throw e;
  });
  // The token is what the user asked for: it goes to stdout, as kubeadm token create does.
  ctx.runtime.stdout.write(`${fresh.token}\n`);
  if (request.deleteOld) {
    await deleteAfterGrace(
      ctx,
      `bootstrap token "${request.id}"`,
      request.graceMs,
      () =>
        client.request("DELETE", `/api/v1/namespaces/kube-system/secrets/${oldName}`, {
          body: {
            kind: "DeleteOptions",
            apiVersion: "v1",
            preconditions: { uid: old.metadata?.uid },
          },
        }),
    );
  }
  return 0;
}
