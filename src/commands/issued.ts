/**
 * `kubectl token issued`: list the revocable tokens handed out (their registry entries), and
 * with --prune delete the entries of expired ones.
 */
import type { CommandContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import { deleteSecret, listSecrets } from "../api/secrets.ts";
import {
  entryDocument,
  entryOf,
  ISSUED_TOKEN_TYPE,
  type IssuedEntry,
  LABELS,
  requesterLabel,
} from "../registry/issued.ts";
import { parseOutputFlag, renderTable, toJson, toYaml } from "../output/printers.ts";
import { humanDuration, relativeTime, rfc3339 } from "../output/duration.ts";
import { ApiError } from "../api/errors.ts";
import { isServiceAccountName } from "./_service_account.ts";

/** Flags of `issued`. */
export interface IssuedOptions {
  allNamespaces?: boolean;
  serviceAccount?: string;
  requester?: string;
  expired?: boolean;
  prune?: boolean;
  output?: string;
  chunkSize?: string;
}

/** A validated listing. */
export interface IssuedRequest {
  allNamespaces: boolean;
  serviceAccount?: string;
  requester?: string;
  expired: boolean;
  prune: boolean;
  output: "table" | "wide" | "json" | "yaml";
  chunkSize: number;
}

const API_VERSION = "kubectl-token.dev/v1alpha1";

/** Check the flags (pure; messages name the flag). */
export function validateIssued(options: IssuedOptions): IssuedRequest {
  const output = parseOutputFlag(
    options.output,
    ["wide", "json", "yaml"],
    "table",
  ) as IssuedRequest["output"];
  const sa = options.serviceAccount;
  if (sa !== undefined && !isServiceAccountName(sa)) {
    throw new UsageError(
      `Invalid value "${sa}" for flag --service-account: it must be a lowercase RFC 1123 name`,
    );
  }
  if (options.requester !== undefined && options.requester === "") {
    throw new UsageError('Invalid value "" for flag --requester: expected a user name');
  }
  if (options.prune && options.output !== undefined) {
    throw new UsageError("Flag --prune prints what it deletes; do not combine it with --output");
  }
  const chunkText = options.chunkSize ?? "500";
  if (!/^\d+$/.test(chunkText)) {
    throw new UsageError(
      `Invalid value "${chunkText}" for flag --chunk-size: expected a whole number`,
    );
  }
  return {
    allNamespaces: Boolean(options.allNamespaces),
    serviceAccount: sa,
    requester: options.requester,
    expired: Boolean(options.expired),
    prune: Boolean(options.prune),
    output,
    chunkSize: Number(chunkText),
  };
}

/** Find the registry entries a request selects, sorted by namespace and issue time. */
export async function findIssued(
  ctx: CommandContext,
  request:
    & Pick<IssuedRequest, "allNamespaces" | "serviceAccount" | "requester" | "chunkSize">
    & { labelSelector?: string },
): Promise<IssuedEntry[]> {
  const config = await ctx.config();
  const client = await ctx.client();
  const labels: string[] = request.labelSelector ? [request.labelSelector] : [];
  if (request.serviceAccount) labels.push(`${LABELS.serviceAccount}=${request.serviceAccount}`);
  if (request.requester) {
    labels.push(`${LABELS.requester}=${await requesterLabel(request.requester)}`);
  }
  const secrets = await listSecrets(client, {
    namespace: request.allNamespaces ? undefined : config.namespace,
    fieldSelector: `type=${ISSUED_TOKEN_TYPE}`,
    labelSelector: labels.join(","),
    chunkSize: request.chunkSize,
  });
  const now = ctx.runtime.now();
  return secrets.map((s) => entryOf(s, now))
    .filter((e): e is IssuedEntry => e !== undefined)
    // The label is lossy (label syntax, hashed when long): the annotation has the exact name.
    .filter((e) => request.requester === undefined || e.requester === request.requester)
    .sort((a, b) =>
      a.namespace.localeCompare(b.namespace) ||
      (time(a) - time(b)) || a.id.localeCompare(b.id)
    );
}

/** List (or prune); returns the exit code. */
export async function runIssued(ctx: CommandContext, options: IssuedOptions): Promise<number> {
  const request = validateIssued(options);
  const config = await ctx.config();
  let entries = await findIssued(ctx, request);
  if (request.expired || request.prune) entries = entries.filter((e) => e.state === "expired");
  const now = ctx.runtime.now();
  const out = ctx.runtime.stdout;
  if (request.prune) {
    if (entries.length === 0) {
      ctx.runtime.stderr.write("No expired issued tokens to prune.\n");
      return 0;
    }
    const client = await ctx.client();
    let failed = 0;
    for (const e of entries) {
      try {
        await deleteSecret(client, e.namespace, e.id, { uid: e.uid });
        out.write(
          `issued token "${e.namespace}/${e.id}" pruned (${
            e.expiresAt ? `expired ${relativeTime(e.expiresAt, now)}` : "expired"
          })\n`,
        );
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        failed++;
        ctx.runtime.stderr.write(
          `error: Cannot prune issued token "${e.namespace}/${e.id}": ${err.message}\n`,
        );
      }
    }
    return failed > 0 ? 1 : 0;
  }
  if (request.output === "json" || request.output === "yaml") {
    const doc = {
      apiVersion: API_VERSION,
      kind: "IssuedTokenList",
      items: entries.map(entryDocument),
    };
    out.write(request.output === "json" ? toJson(doc) : toYaml(doc));
    return 0;
  }
  if (entries.length === 0) {
    ctx.runtime.stderr.write(
      request.allNamespaces
        ? "No issued tokens found.\n"
        : `No issued tokens found in ${config.namespace} namespace.\n`,
    );
    return 0;
  }
  const wide = request.output === "wide";
  const headers = [
    ...(request.allNamespaces ? ["namespace"] : []),
    "id",
    "service account",
    "requester",
    "purpose",
    "audiences",
    "age",
    "expires",
    "state",
    ...(wide ? ["issued", "fingerprint", "jti"] : []),
  ];
  const rows = entries.map((e) => {
    const issued = e.issuedAt ?? e.createdAt;
    return [
      ...(request.allNamespaces ? [e.namespace] : []),
      e.id,
      e.serviceAccount,
      e.requester ?? "<unknown>",
      e.purpose ? oneLine(e.purpose) : "<none>",
      e.audiences.length ? e.audiences.join(",") : "<default>",
      issued ? humanDuration(Math.max(0, now.getTime() - issued.getTime())) : "<unknown>",
      e.expiresAt ? relativeTime(e.expiresAt, now) : "<unknown>",
      e.state,
      ...(wide
        ? [issued ? rfc3339(issued) : "<unknown>", e.fingerprint ?? "<none>", e.jti ?? "<none>"]
        : []),
    ];
  });
  out.write(renderTable(headers, rows));
  return 0;
}

function time(e: IssuedEntry): number {
  return (e.issuedAt ?? e.createdAt)?.getTime() ?? 0;
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 40 ? `${line.slice(0, 39)}…` : line;
}
