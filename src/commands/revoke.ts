/**
 * `kubectl token revoke`: delete legacy token Secrets and bootstrap tokens, one by name or many
 * by audit selectors, and for bound tokens (which have no revoke API) explain and carry out the
 * two ways to end them: delete the bound object, or recreate the service account.
 */
import type { ApiClient } from "../api/client.ts";
import { ApiError, wrapApiError } from "../api/errors.ts";
import {
  deleteSecret,
  getSecret,
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_TYPE,
} from "../api/secrets.ts";
import {
  createServiceAccount,
  deleteServiceAccount,
  getServiceAccount,
  type ServiceAccount,
} from "../api/serviceaccounts.ts";
import { deletePod } from "../api/pods.ts";
import { deleteNode } from "../api/nodes.ts";
import type { CommandContext } from "../context.ts";
import { CliError, UsageError } from "../errors.ts";
import { inspectToken, type TokenReport } from "../jwt/inspect.ts";
import { renderTable } from "../output/printers.ts";
import { expiryPhrase, rfc3339 } from "../output/duration.ts";
import { parseDaysFlag } from "../flags/duration.ts";
import { parseChunkSize, refusedLine } from "./audit.ts";
import { scan } from "../audit/scan.ts";
import type { AuditItem } from "../audit/findings.ts";
import { consumersPhrase } from "../audit/consumers.ts";
import {
  awaitReplacement,
  type ControllerOutlook,
  controllerOutlook,
  type LegacySecretRef,
  outlookNote,
  reportReplacement,
} from "./_legacy_secret.ts";
import { bootstrapTokenIdOf } from "../bootstrap/secret.ts";
import { BOOTSTRAP_NAMESPACE, bootstrapSecretName } from "../bootstrap/token.ts";

/** Flags and arguments of `revoke`. */
export interface RevokeOptions {
  kind?: string;
  name?: string;
  allNamespaces?: boolean;
  unusedFor?: string;
  orphaned?: boolean;
  expired?: boolean;
  invalidated?: boolean;
  deleteBoundObject?: boolean;
  recreateServiceAccount?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  /** With selectors: also delete Secrets that Pods still use. */
  force?: boolean;
  chunkSize: string;
  /** revoke issued: a file holding the token, checked with TokenReview after revoking. */
  tokenFile?: string;
  /** revoke issued: a label selector on the registry Secrets. */
  selector?: string;
}

/** What to revoke, after validation. */
export type RevokeRequest =
  | { mode: "secret"; name: string }
  | { mode: "bootstrap"; id: string }
  | { mode: "token"; token: string; action?: "delete-bound-object" | "recreate-service-account" }
  | {
    mode: "select";
    allNamespaces: boolean;
    unusedForMs?: number;
    orphaned: boolean;
    expired: boolean;
    invalidated: boolean;
    force: boolean;
    chunkSize: number;
  };

const KINDS = ["secret", "bootstrap", "token"];
const SELECTOR_FLAGS = "--unused-for, --orphaned, --expired, --invalidated";

/** Check the arguments and flags (pure; a token argument of "-" is read later). */
export function validateRevoke(options: RevokeOptions): RevokeRequest {
  const selecting = options.unusedFor !== undefined || options.orphaned || options.expired ||
    options.invalidated;
  const action = options.deleteBoundObject
    ? "delete-bound-object" as const
    : options.recreateServiceAccount
    ? "recreate-service-account" as const
    : undefined;
  if (options.deleteBoundObject && options.recreateServiceAccount) {
    throw new UsageError(
      "Flags --delete-bound-object and --recreate-service-account cannot be used together",
    );
  }
  let kind = options.kind;
  let name = options.name;
  // A token (or "-") without the word "token" in front.
  if (kind !== undefined && !KINDS.includes(kind) && name === undefined) {
    if (kind === "-" || kind.split(".").length === 3) {
      name = kind;
      kind = "token";
    }
  }
  if (kind === undefined) {
    if (!selecting) {
      throw new UsageError(
        `Specify what to revoke: secret NAME, bootstrap ID, token TOKEN|-, or select by ${SELECTOR_FLAGS}`,
      );
    }
    if (action) {
      throw new UsageError(
        `Flag --${action} needs a token: kubectl token revoke token TOKEN|- --${action}`,
      );
    }
    return {
      mode: "select",
      allNamespaces: Boolean(options.allNamespaces),
      unusedForMs: options.unusedFor === undefined
        ? undefined
        : parseDaysFlag("unused-for", options.unusedFor),
      orphaned: Boolean(options.orphaned),
      expired: Boolean(options.expired),
      invalidated: Boolean(options.invalidated),
      force: Boolean(options.force),
      chunkSize: parseChunkSize(options.chunkSize),
    };
  }
  if (!KINDS.includes(kind)) {
    throw new UsageError(
      `Invalid kind "${kind}": expected secret NAME, bootstrap ID or token TOKEN|-`,
    );
  }
  if (selecting) {
    throw new UsageError(`Flags ${SELECTOR_FLAGS} select many objects; do not name one as well`);
  }
  if (options.allNamespaces) {
    throw new UsageError("Flag --all-namespaces only works with the selectors");
  }
  if (options.force) {
    throw new UsageError(`Flag --force only works with the selectors (${SELECTOR_FLAGS})`);
  }
  if (name === undefined || name.trim() === "") {
    throw new UsageError(
      kind === "token"
        ? 'A token or "-" is required after "token"'
        : `A name is required after "${kind}"`,
    );
  }
  if (action && kind !== "token") {
    throw new UsageError(`Flag --${action} only works with a bound token (revoke token TOKEN|-)`);
  }
  switch (kind) {
    case "secret":
      return { mode: "secret", name };
    case "bootstrap":
      return { mode: "bootstrap", id: bootstrapTokenIdOf(name) };
    default:
      return { mode: "token", token: name, action };
  }
}

/** One object to delete. */
interface Target {
  kind: "Secret" | "BootstrapToken" | "ServiceAccount" | "Pod" | "Node";
  namespace?: string;
  name: string;
  /** Deleted only while it still has this UID. */
  uid?: string;
  reason: string;
  /** The object the DELETE goes to (for a bootstrap token: its Secret). */
  object: { kind: "Secret" | "ServiceAccount" | "Pod" | "Node"; namespace?: string; name: string };
  /** For a legacy token Secret: its service account. */
  serviceAccount?: string;
  /** For a legacy token Secret: what the token controller will do once it is gone. */
  legacy?: { ref: LegacySecretRef; outlook: ControllerOutlook };
}

/** Read what the token controller will do about a legacy token Secret target, and say it. */
async function withOutlook(client: ApiClient, target: Target, serviceAccount: string) {
  const ref = {
    namespace: target.namespace ?? "",
    name: target.name,
    uid: target.uid,
    serviceAccount,
  };
  const outlook = await controllerOutlook(client, ref);
  const note = outlookNote(ref, outlook);
  return {
    ...target,
    reason: note ? `${target.reason}; ${note}` : target.reason,
    legacy: { ref, outlook },
  };
}

/** Revoke; returns the exit code. */
export async function runRevoke(ctx: CommandContext, options: RevokeOptions): Promise<number> {
  if (options.kind === "issued") {
    const { runRevokeIssued } = await import("./_revoke_issued.ts");
    return await runRevokeIssued(ctx, options);
  }
  if (options.tokenFile !== undefined) {
    throw new UsageError("Flag --token-file only works with revoke issued ID");
  }
  if (options.selector !== undefined) {
    throw new UsageError("Flag --selector only works with revoke issued");
  }
  const request = validateRevoke(options);
  const config = await ctx.config();
  switch (request.mode) {
    case "secret": {
      const client = await ctx.client();
      const ns = config.namespace;
      const secret = await getOrExplain(
        () => getSecret(client, ns, request.name),
        `Secret "${ns}/${request.name}"`,
      );
      if (secret.type !== SERVICE_ACCOUNT_TOKEN_TYPE) {
        throw new CliError(
          `Cannot revoke Secret "${ns}/${request.name}": it is of type "${secret.type}", not ` +
            `${SERVICE_ACCOUNT_TOKEN_TYPE}`,
        );
      }
      const sa = secret.metadata?.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION] ?? "";
      return await confirmAndDelete(ctx, options, [
        await withOutlook(client, {
          kind: "Secret",
          namespace: ns,
          name: request.name,
          uid: secret.metadata?.uid,
          reason: `legacy token of service account "${sa}"`,
          object: { kind: "Secret", namespace: ns, name: request.name },
        }, sa),
      ]);
    }
    case "bootstrap": {
      const client = await ctx.client();
      const name = bootstrapSecretName(request.id);
      const secret = await getOrExplain(
        () => getSecret(client, BOOTSTRAP_NAMESPACE, name),
        `bootstrap token "${request.id}"`,
      );
      return await confirmAndDelete(ctx, options, [{
        kind: "BootstrapToken",
        namespace: BOOTSTRAP_NAMESPACE,
        name: request.id,
        uid: secret.metadata?.uid,
        reason: `Secret ${BOOTSTRAP_NAMESPACE}/${name}`,
        object: { kind: "Secret", namespace: BOOTSTRAP_NAMESPACE, name },
      }]);
    }
    case "token":
      return await revokeToken(ctx, options, request.token, request.action);
    case "select": {
      const client = await ctx.client();
      const namespace = request.allNamespaces ? undefined : config.namespace;
      const targets: Target[] = [];
      const result = await scan(client, {
        namespace,
        now: ctx.runtime.now(),
        unusedForMs: request.unusedForMs ?? Number.MAX_SAFE_INTEGER,
        chunkSize: request.chunkSize,
        bootstrap: request.expired &&
          (namespace === undefined || namespace === BOOTSTRAP_NAMESPACE),
        onRefused: (r) => ctx.runtime.stderr.write(`Warning: ${refusedLine(r)}\n`),
      }, (items) => {
        for (const item of items) {
          const reason = selected(item, request);
          if (!reason) continue;
          const kept = keptForConsumers(item, request.force);
          if (kept) ctx.runtime.stderr.write(`${kept}\n`);
          else targets.push(targetOf(item, reason));
        }
      });
      for (const [i, t] of targets.entries()) {
        const sa = t.kind === "Secret" ? t.serviceAccount : undefined;
        if (sa) targets[i] = await withOutlook(client, t, sa);
      }
      if (result.refused.length === result.lists) {
        throw new CliError(
          `Cannot select what to revoke: the server refused every list: ${
            result.refused[0]?.reason ?? ""
          }`,
        );
      }
      if (targets.length === 0) {
        ctx.runtime.stderr.write("Nothing to revoke: no object matches the selectors.\n");
        return 0;
      }
      return await confirmAndDelete(ctx, options, targets);
    }
  }
}

/** Why the selectors pick an item, or undefined. */
function selected(
  item: AuditItem,
  request: Extract<RevokeRequest, { mode: "select" }>,
): string | undefined {
  const pick = (type: string) => item.findings.find((f) => f.type === type)?.reason;
  if (item.kind === "Secret") {
    if (request.orphaned && pick("orphaned")) return pick("orphaned");
    if (request.invalidated && pick("invalidated")) return pick("invalidated");
    if (
      request.unusedForMs !== undefined && item.idleMs !== undefined &&
      item.idleMs > request.unusedForMs
    ) {
      return pick("unused") ?? pick("never-used");
    }
  }
  if (item.kind === "BootstrapToken" && request.expired && item.expired) return pick("expired");
  return undefined;
}

/**
 * Why a selected Secret is kept: Pods still use it (unless --force), or nobody knows whether they
 * do because the Pods could not be listed (even with --force: a selector never deletes on an
 * unknown; name the Secret to delete it).
 */
function keptForConsumers(item: AuditItem, force: boolean): string | undefined {
  if (item.kind !== "Secret" || item.consumers === undefined) return undefined;
  const secret = `Secret "${item.namespace}/${item.name}"`;
  if (item.consumers === "unknown") {
    return `Skipping ${secret}: its consumers are unknown (the Pods could not be listed); ` +
      `revoke secret ${item.name} -n ${item.namespace} deletes it by name`;
  }
  if (item.consumers.length === 0 || force) return undefined;
  return `Skipping ${secret}: used by ${consumersPhrase(item.consumers)} ` +
    `(--force deletes it anyway)`;
}

function targetOf(item: AuditItem, reason: string): Target {
  if (item.kind === "BootstrapToken") {
    return {
      kind: "BootstrapToken",
      namespace: item.namespace,
      name: item.id,
      uid: item.uid,
      reason,
      object: { kind: "Secret", namespace: item.namespace, name: item.name },
    };
  }
  return {
    kind: "Secret",
    namespace: item.namespace,
    name: item.name,
    uid: item.uid,
    reason,
    object: { kind: "Secret", namespace: item.namespace, name: item.name },
    serviceAccount: item.kind === "Secret" ? item.serviceAccount : undefined,
  };
}

async function getOrExplain<T>(get: () => Promise<T>, what: string): Promise<T> {
  try {
    return await get();
  } catch (e) {
    throw wrapApiError(e, `Cannot revoke ${what}`, { byCode: { 404: "it does not exist" } });
  }
}

/** Print the targets, ask, delete; returns the exit code. */
async function confirmAndDelete(
  ctx: CommandContext,
  options: RevokeOptions,
  targets: Target[],
  then?: () => Promise<void>,
): Promise<number> {
  const out = ctx.runtime.stdout;
  out.write(renderTable(
    ["NAMESPACE", "KIND", "NAME", "REASON"],
    targets.map((t) => [t.namespace ?? "<none>", t.kind, t.name, t.reason]),
  ));
  const what = targets.length === 1 ? "1 object" : `${targets.length} objects`;
  if (options.dryRun) {
    out.write(`${what} would be deleted (dry run)\n`);
    return 0;
  }
  if (!options.yes) await confirm(ctx, `Delete ${what}?`);
  let failed = 0;
  const deleted: Target[] = [];
  for (const t of targets) {
    const label = `${t.kind === "BootstrapToken" ? "bootstrap token" : t.kind.toLowerCase()} "${
      t.namespace ? `${t.namespace}/` : ""
    }${t.name}"`;
    try {
      await deleteTarget(await ctx.client(), t);
      out.write(`${label} deleted\n`);
      deleted.push(t);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (e.code === 404) out.write(`${label} already gone\n`);
      else {
        failed++;
        const why = e.code === 409 ? "it changed since it was listed (its UID differs)" : e.message;
        ctx.runtime.stderr.write(`error: Cannot delete ${label}: ${why}\n`);
      }
    }
  }
  for (const t of deleted) {
    if (!t.legacy?.outlook.replacedOnDelete) continue;
    const { ref, outlook } = t.legacy;
    const client = await ctx.client();
    reportReplacement(
      ctx.runtime.stderr,
      ref,
      outlook,
      await awaitReplacement(client, ctx.runtime, ref, outlook),
    );
  }
  if (then && failed === 0) await then();
  if (failed) throw new CliError(`Cannot delete ${failed} of ${what}`);
  return 0;
}

/** DELETE the target while it still has its UID. */
function deleteTarget(client: ApiClient, t: Target): Promise<void> {
  const { kind, namespace = "", name } = t.object;
  const options = { uid: t.uid };
  switch (kind) {
    case "Secret":
      return deleteSecret(client, namespace, name, options);
    case "ServiceAccount":
      return deleteServiceAccount(client, namespace, name, options);
    case "Pod":
      return deletePod(client, namespace, name, options);
    case "Node":
      return deleteNode(client, name, options);
  }
}

/** Ask on a terminal; refuse without one. */
export async function confirm(ctx: CommandContext, question: string): Promise<void> {
  const stdin = ctx.runtime.stdin;
  if (!stdin.isTerminal() || !stdin.readLine) {
    throw new CliError(
      `Refusing to delete without confirmation: standard input is not a terminal (pass --yes, or --dry-run to see what would go)`,
    );
  }
  ctx.runtime.stderr.write(`${question} [y/N]: `);
  const answer = (await stdin.readLine())?.trim().toLowerCase();
  if (answer !== "y" && answer !== "yes") throw new CliError("Nothing deleted: not confirmed");
}

async function readTokenArg(ctx: CommandContext, arg: string): Promise<string> {
  if (arg !== "-") return arg.trim();
  const text = new TextDecoder().decode(await ctx.runtime.stdin.readAll()).trim();
  if (!text) throw new CliError("Cannot read token: standard input is empty");
  return text;
}

/** A bound (or other) token: explain how it ends, or end it. */
async function revokeToken(
  ctx: CommandContext,
  options: RevokeOptions,
  arg: string,
  action: "delete-bound-object" | "recreate-service-account" | undefined,
): Promise<number> {
  const token = await readTokenArg(ctx, arg);
  const now = ctx.runtime.now();
  // A TokenFormatError already says "Cannot decode token: ..." in one line.
  const report: TokenReport = inspectToken(token, now);
  const out = ctx.runtime.stdout;
  const k8s = report.kubernetes;
  if (report.kind === "bootstrap") {
    const id = report.bootstrap!.tokenId;
    if (action) {
      throw new UsageError(
        `A bootstrap token is revoked by deleting it: kubectl token revoke bootstrap ${id}`,
      );
    }
    out.write(
      `This is bootstrap token "${id}" (Secret ${BOOTSTRAP_NAMESPACE}/${
        bootstrapSecretName(id)
      }).\n` +
        `Revoke it with: kubectl token revoke bootstrap ${id}\n`,
    );
    return 0;
  }
  if (report.kind === "legacy-service-account") {
    const where = `${k8s?.namespace ?? "?"}/${k8s?.secretName ?? "?"}`;
    if (action) {
      throw new UsageError(
        `A legacy token is revoked by deleting its Secret: kubectl token revoke secret ${
          k8s?.secretName ?? "NAME"
        } -n ${k8s?.namespace ?? "NAMESPACE"}`,
      );
    }
    out.write(
      `This is a legacy token read from Secret "${where}" of service account "${
        k8s?.serviceAccount?.name ?? "?"
      }"; it never expires.\n` +
        `Revoke it with: kubectl token revoke secret ${k8s?.secretName ?? "NAME"} -n ${
          k8s?.namespace ?? "NAMESPACE"
        }\n`,
    );
    return 0;
  }
  const sa = k8s?.serviceAccount;
  if (report.kind !== "bound-service-account" || !k8s?.namespace || !sa?.name) {
    throw new CliError(
      "Cannot revoke token: it is not a Kubernetes service-account token; revoke it where it was issued",
    );
  }
  const ns = k8s.namespace;
  const bound = k8s.boundObject;
  const boundLabel = bound
    ? `${bound.kind} "${bound.kind === "Node" ? "" : `${ns}/`}${bound.name}"${
      bound.uid ? ` (UID ${bound.uid})` : ""
    }`
    : undefined;
  if (!action) {
    const lines = [
      `This token of service account "${ns}/${sa.name}" cannot be revoked by itself: ` +
      "Kubernetes has no API to revoke a token from the TokenRequest API.",
      "It stops working when:",
      report.expiresAt
        ? `  - it expires: ${rfc3339(report.expiresAt)} (${expiryPhrase(report.expiresAt, now)})`
        : "  - it expires: never (it has no exp claim)",
    ];
    if (bound) {
      lines.push(
        `  - ${boundLabel} is deleted:`,
        "      kubectl token revoke token - --delete-bound-object",
      );
    } else lines.push("  - (it is bound to no Pod, Secret or Node)");
    lines.push(
      `  - service account "${ns}/${sa.name}" is deleted or recreated, which invalidates every ` +
        "token of that account:",
      "      kubectl token revoke token - --recreate-service-account",
    );
    out.write(lines.join("\n") + "\n");
    return 0;
  }
  const client = await ctx.client();
  if (action === "delete-bound-object") {
    if (!bound?.name) {
      throw new CliError(
        `Cannot delete the bound object: the token is bound to no Pod, Secret or Node; use --recreate-service-account`,
      );
    }
    return await confirmAndDelete(ctx, options, [{
      kind: bound.kind,
      namespace: bound.kind === "Node" ? undefined : ns,
      name: bound.name,
      uid: bound.uid,
      reason: "the token is bound to it",
      object: {
        kind: bound.kind,
        namespace: bound.kind === "Node" ? undefined : ns,
        name: bound.name,
      },
    }]);
  }
  // Recreate the service account: a new UID invalidates every token issued for the old one.
  const account = sa.name;
  const current = await getOrExplain(
    () => getServiceAccount(client, ns, account),
    `service account "${ns}/${sa.name}"`,
  );
  if (sa.uid && current.metadata?.uid && sa.uid !== current.metadata.uid) {
    out.write(
      `Service account "${ns}/${sa.name}" was already recreated (UID ${current.metadata.uid}, ` +
        `the token names ${sa.uid}): the token no longer works.\n`,
    );
    return 0;
  }
  return await confirmAndDelete(ctx, options, [{
    kind: "ServiceAccount",
    namespace: ns,
    name: sa.name,
    uid: current.metadata?.uid,
    reason: "recreated: every token of the account stops working",
    object: { kind: "ServiceAccount", namespace: ns, name: sa.name },
  }], async () => {
    const created = await recreateServiceAccount(client, ns, current);
    out.write(
      `serviceaccount "${ns}/${sa.name}" recreated (UID ${created.metadata?.uid ?? "?"})\n`,
    );
  });
}

/** The service account as it was, minus what the server owns (and the old token Secrets). */
export function recreatedServiceAccount(old: ServiceAccount): ServiceAccount {
  const meta = old.metadata ?? {};
  return {
    metadata: {
      name: meta.name,
      namespace: meta.namespace,
      ...(meta.labels ? { labels: meta.labels } : {}),
      ...(meta.annotations ? { annotations: meta.annotations } : {}),
    },
    ...(old.imagePullSecrets ? { imagePullSecrets: old.imagePullSecrets } : {}),
    ...(old.automountServiceAccountToken !== undefined
      ? { automountServiceAccountToken: old.automountServiceAccountToken }
      : {}),
  };
}

async function recreateServiceAccount(
  client: ApiClient,
  ns: string,
  old: ServiceAccount,
): Promise<ServiceAccount> {
  try {
    return await createServiceAccount(client, ns, recreatedServiceAccount(old));
  } catch (e) {
    throw wrapApiError(
      e,
      `Cannot recreate service account "${ns}/${old.metadata?.name}" after deleting it`,
    );
  }
}
