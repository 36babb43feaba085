/**
 * `kubectl token bootstrap create|list|delete|generate`, like `kubeadm token`: tokens drawn from
 * a cryptographic random source, stored as kube-system Secrets that the API server's bootstrap
 * token authenticator reads.
 */
import { ApiError, wrapApiError } from "../api/errors.ts";
import { createSecret, deleteSecret, listSecrets } from "../api/secrets.ts";
import type { CommandContext } from "../context.ts";
import { CliError, UsageError } from "../errors.ts";
import { parseOutputFlag, renderTable, toJson, toYaml } from "../output/printers.ts";
import { compactDuration, humanDuration, rfc3339 } from "../output/duration.ts";
import { parseDaysFlag } from "../flags/duration.ts";
import { generateBootstrapToken } from "../bootstrap/token.ts";
import {
  BOOTSTRAP_NAMESPACE,
  BOOTSTRAP_TOKEN_TYPE,
  bootstrapSecret,
  bootstrapSecretName,
  bootstrapTokenIdOf,
  type BootstrapTokenInfo,
  DEFAULT_BOOTSTRAP_GROUP,
  parseBootstrapToken,
  parseGroups,
  parseUsages,
  readBootstrapSecret,
} from "../bootstrap/secret.ts";

/** Flags of `bootstrap create`. */
export interface BootstrapCreateOptions {
  token?: string;
  ttl: string;
  usages: string[];
  groups: string[];
  description?: string;
  output?: string;
}

/** The validated `bootstrap create`. */
export interface BootstrapCreateRequest {
  /** A token given on the command line; otherwise one is generated. */
  token?: { id: string; secret: string };
  ttlMs: number;
  usages: string[];
  groups: string[];
  description?: string;
  output: "token" | "json" | "yaml";
}

/** Check the flags of `bootstrap create` (pure). */
export function validateBootstrapCreate(options: BootstrapCreateOptions): BootstrapCreateRequest {
  const output = parseOutputFlag(
    options.output,
    ["token", "json", "yaml"],
    "token",
  ) as BootstrapCreateRequest["output"];
  const ttlMs = options.ttl.trim() === "0" ? 0 : parseDaysFlag("ttl", options.ttl);
  const usages = parseUsages(options.usages.length ? options.usages : ["signing,authentication"]);
  const groups = parseGroups(
    options.groups.length
      ? options.groups
      : usages.includes("authentication")
      ? [DEFAULT_BOOTSTRAP_GROUP]
      : [],
  );
  if (groups.length && !usages.includes("authentication")) {
    throw new UsageError(
      'Flag --groups needs the usage "authentication": extra groups only apply to a token that authenticates',
    );
  }
  return {
    token: options.token === undefined
      ? undefined
      : parseBootstrapToken(options.token, "token argument"),
    ttlMs,
    usages,
    groups,
    description: options.description,
    output,
  };
}

/** `bootstrap create`: store a new token and print it. */
export async function runBootstrapCreate(
  ctx: CommandContext,
  options: BootstrapCreateOptions,
): Promise<number> {
  const request = validateBootstrapCreate(options);
  const token = request.token ?? generateBootstrapToken();
  const now = ctx.runtime.now();
  const expires = request.ttlMs > 0 ? new Date(now.getTime() + request.ttlMs) : undefined;
  if (!expires) {
    ctx.warn(
      "the token never expires (--ttl 0); anyone who obtains it can use it until it is deleted " +
        `(kubectl token bootstrap delete ${token.id})`,
    );
  }
  const body = bootstrapSecret(token, {
    expires,
    usages: request.usages,
    groups: request.groups,
    description: request.description,
  });
  const client = await ctx.client();
  try {
    await createSecret(client, BOOTSTRAP_NAMESPACE, body);
  } catch (e) {
    throw wrapApiError(e, `Cannot create bootstrap token "${token.id}"`, {
      byCode: { 409: "a token with this ID exists already" },
    });
  }
  const out = ctx.runtime.stdout;
  const full = "token" in token ? token.token : `${token.id}.${token.secret}`;
  if (request.output === "token") {
    // The token is what the user asked for, so it goes to stdout (and nowhere else).
    out.write(`${full}\n`);
  } else {
    const doc = {
      apiVersion: "kubectl-token.dev/v1alpha1",
      kind: "BootstrapToken",
      token: full,
      tokenID: token.id,
      ...(expires ? { expires: rfc3339(expires) } : {}),
      ttl: expires ? compactDuration(request.ttlMs) : "0s",
      usages: request.usages,
      groups: request.groups,
      ...(request.description ? { description: request.description } : {}),
    };
    out.write(request.output === "json" ? toJson(doc) : toYaml(doc));
  }
  return 0;
}

/** `bootstrap generate`: print a new token without touching the cluster. */
export function runBootstrapGenerate(ctx: CommandContext): Promise<number> {
  ctx.runtime.stdout.write(`${generateBootstrapToken().token}\n`);
  return Promise.resolve(0);
}

/** `bootstrap list`: the bootstrap tokens, IDs only. */
export async function runBootstrapList(
  ctx: CommandContext,
  options: { output?: string },
): Promise<number> {
  const output = parseOutputFlag(options.output, ["json", "yaml"], "table");
  const client = await ctx.client();
  const now = ctx.runtime.now();
  const tokens: BootstrapTokenInfo[] = [];
  const secrets = await listSecrets(client, {
    namespace: BOOTSTRAP_NAMESPACE,
    fieldSelector: `type=${BOOTSTRAP_TOKEN_TYPE}`,
    chunkSize: 500,
  });
  for (const s of secrets) {
    // A server that ignores the field selector must not make us list other Secrets.
    if (s.type !== BOOTSTRAP_TOKEN_TYPE) continue;
    const info = readBootstrapSecret(s);
    if (info) tokens.push(info);
  }
  const out = ctx.runtime.stdout;
  if (output !== "table") {
    const doc = {
      apiVersion: "kubectl-token.dev/v1alpha1",
      kind: "BootstrapTokenList",
      items: tokens.map((t) => ({
        tokenID: t.id,
        name: t.name,
        ...(t.expires ? { expires: rfc3339(t.expires) } : {}),
        expired: t.expires ? t.expires.getTime() <= now.getTime() : false,
        usages: t.usages,
        groups: t.groups,
        ...(t.description ? { description: t.description } : {}),
      })),
    };
    out.write(output === "json" ? toJson(doc) : toYaml(doc));
    return 0;
  }
  if (tokens.length === 0) {
    ctx.runtime.stderr.write(`No bootstrap tokens found in ${BOOTSTRAP_NAMESPACE} namespace.\n`);
    return 0;
  }
  out.write(renderTable(
    ["TOKEN ID", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS"],
    tokens.map((t) => [
      t.id,
      t.invalidExpiration !== undefined
        ? "<invalid>"
        : !t.expires
        ? "<forever>"
        : t.expires.getTime() <= now.getTime()
        ? "<expired>"
        : humanDuration(t.expires.getTime() - now.getTime()),
      t.expires ? rfc3339(t.expires) : "<never>",
      t.usages.join(",") || "<none>",
      t.description ?? "<none>",
      t.groups.join(",") || "<none>",
    ]),
  ));
  return 0;
}

/** `bootstrap delete ID...`: delete tokens by ID (or whole token). */
export async function runBootstrapDelete(ctx: CommandContext, ids: string[]): Promise<number> {
  if (ids.length === 0) throw new UsageError("At least one token ID is required");
  const list = ids.map(bootstrapTokenIdOf);
  const client = await ctx.client();
  // Like kubectl delete with several names: each result on stdout, one error line at the end.
  const failures: { id: string; why: string }[] = [];
  for (const id of list) {
    const name = bootstrapSecretName(id);
    try {
      await deleteSecret(client, BOOTSTRAP_NAMESPACE, name);
      ctx.runtime.stdout.write(`bootstrap token "${id}" deleted\n`);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      const why = e.code === 404 ? "it does not exist" : e.message;
      failures.push({ id, why });
      if (list.length > 1) {
        ctx.runtime.stdout.write(`bootstrap token "${id}" not deleted: ${why}\n`);
      }
    }
  }
  if (failures.length === 1 && list.length === 1) {
    throw new CliError(`Cannot delete bootstrap token "${failures[0].id}": ${failures[0].why}`);
  }
  if (failures.length > 0) {
    const ids = failures.map((f) => `"${f.id}"`).join(", ");
    const whys = [...new Set(failures.map((f) => f.why))];
    throw new CliError(
      `Cannot delete ${failures.length} of ${list.length} bootstrap tokens: ${ids}` +
        (whys.length === 1 ? ` (${whys[0]})` : ""),
    );
  }
  return 0;
}
