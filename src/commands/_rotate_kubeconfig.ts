/**
 * `rotate` for the kubeconfig user: work out the service account and lifetime from the current
 * token, ask for the successor (as the user itself, or as `--requester-context` /
 * `--requester-kubeconfig`), check that it authenticates, then write it where the user keeps it.
 * `rotate --all` (`_rotate_all.ts`) plans, issues and writes through the same functions.
 */
import { CommandContext } from "../context.ts";
import type { ConnectionFlags } from "../kubeconfig/types.ts";
import { ApiError, wrapApiError } from "../api/errors.ts";
import { CliError, UsageError } from "../errors.ts";
import { formatGoDuration, relativeTime, rfc3339 } from "../output/duration.ts";
import { inspectToken, type TokenReport } from "../jwt/inspect.ts";
import { updateKubeconfigFile, updateTokenFile } from "../kubeconfig/write.ts";
import type { KubeconfigChange } from "../kubeconfig/edit.ts";
import type { IssuedEntry } from "../registry/issued.ts";
import { whoami } from "./whoami.ts";
import { type IssuedToken, requestToken } from "./_token_request.ts";
import { parseServiceAccountFlag, type ServiceAccountRef } from "./_service_account.ts";
import {
  discardSuccessor,
  issueSuccessor,
  registryEntryOf,
  retireEntry,
} from "./_rotate_revocable.ts";
import type { RevocableToken } from "./_issue_revocable.ts";
import type { RequesterFlags, RotateRequest } from "./rotate.ts";

/** A user whose token cannot be rotated at all: `rotate --all` lists it as skipped. */
export class NotRotatable extends CliError {
  /** Why, in a few words, for the summary table. */
  reason: string;
  constructor(message: string, reason: string) {
    super(message);
    this.reason = reason;
  }
}

/** A rotation of one kubeconfig user, worked out from its entry and its current token. */
export interface UserPlan {
  /** The user's own connection: the new token is checked against its cluster. */
  ctx: CommandContext;
  userName: string;
  /** The kubeconfig file that defines the user. */
  file: string;
  /** Set when the user reads its token from a file, which is then what gets rewritten. */
  tokenFile?: string;
  who: string;
  where: string;
  sa: ServiceAccountRef;
  report?: TokenReport;
  audiences: string[];
  boundObject?: { kind: "Secret" | "Pod"; name: string; uid?: string };
  /** The new token's lifetime; undefined when neither --duration nor the old token says. */
  seconds?: number;
}

/** The identity that asks for the new token, when it is not the user being rotated. */
export interface Requester {
  ctx: CommandContext;
  /** How messages name it: `context "admin"`, `the current context of "ci.kubeconfig"`. */
  label: string;
}

/** The identity of --requester-context/--requester-kubeconfig, as its own context. */
export function requesterFor(
  ctx: CommandContext,
  flags: RequesterFlags | undefined,
): Requester | undefined {
  if (!flags) return undefined;
  const connection: ConnectionFlags = { requestTimeout: ctx.flags.requestTimeout };
  // Without its own file, the requester's context is one of the same kubeconfig files.
  const kubeconfig = flags.kubeconfig ?? ctx.flags.kubeconfig;
  if (kubeconfig !== undefined) connection.kubeconfig = kubeconfig;
  if (flags.context !== undefined) connection.context = flags.context;
  const label = (flags.context ? `context "${flags.context}"` : "the current context") +
    (flags.kubeconfig ? ` of "${flags.kubeconfig}"` : "");
  return { ctx: new CommandContext(ctx.runtime, connection, ctx.verbosity), label };
}

/** Plain `rotate`: rotate the token of the kubeconfig user; returns the exit code. */
export async function rotateUser(
  ctx: CommandContext,
  request: Extract<RotateRequest, { kind: "user" }>,
): Promise<number> {
  if (ctx.flags.token) {
    throw new UsageError(
      "Flag --token cannot be used with rotate: it rotates the token stored for the kubeconfig user",
    );
  }
  const now = ctx.runtime.now();
  const plan = await planUser(ctx, request, now);
  if (plan.seconds === undefined) {
    throw new UsageError(
      `The token of ${plan.who} has no expiry to copy: give the new token's lifetime with --duration`,
    );
  }
  const requester = requesterFor(ctx, request.requester);
  try {
    // A requester that does not resolve fails before anything else, dry run included.
    await requester?.ctx.config();
    const { sa, report, audiences, boundObject } = plan;
    const out = ctx.runtime.stdout;
    if (request.dryRun) {
      out.write(
        `Would rotate the token of ${plan.where}: a new token for service account ` +
          `"${sa.namespace}/${sa.name}"` +
          (audiences.length ? ` (audiences ${audiences.join(", ")})` : "") +
          ` valid for ${formatGoDuration(plan.seconds * 1000)}` +
          (boundObject ? `, bound to ${boundObject.kind} "${boundObject.name}"` : "") +
          (requester ? `, requested by ${requester.label}` : "") +
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
    // An expired token cannot ask for its successor; another identity can.
    if (report?.expired && !requester) throw expiredError(plan, now);
    const issued = await issueToken(plan, requester);
    try {
      await writeToken(plan, issued.token, request.backup);
    } catch (e) {
      if (issued.revocable) await discardSuccessor((requester ?? plan).ctx, issued.revocable);
      throw e;
    }
    const expiry = issued.expiresAt
      ? `; it expires ${rfc3339(issued.expiresAt)} (${relativeTime(issued.expiresAt, now)})`
      : "";
    out.write(
      `Rotated the token of ${plan.where}: service account "${sa.namespace}/${sa.name}"${expiry}\n`,
    );
    if (issued.revocable && issued.previous) {
      ctx.runtime.stderr.write(
        `The new token is issued token "${issued.revocable.entry.namespace}/` +
          `${issued.revocable.entry.name}" (revocable, as the old one)\n`,
      );
      await retireEntry((requester ?? plan).ctx, issued.previous, request.graceMs);
    } else if (request.graceMs > 0) {
      ctx.warn(
        "--grace had no effect: the token is not revocable (the old token works until it expires)",
      );
    }
    return 0;
  } finally {
    await requester?.ctx.close();
  }
}

/** Work out what rotating the user of `ctx` means; throws when its entry cannot be rotated. */
export async function planUser(
  ctx: CommandContext,
  request: { serviceAccount?: string; expirationSeconds?: number },
  now: Date,
): Promise<UserPlan> {
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
      throw new NotRotatable(
        `Cannot rotate ${who}: it gets its credential from the exec plugin "${auth.exec.command}", ` +
          `which renews it; nothing is stored to rotate`,
        `exec plugin "${auth.exec.command}" renews its credential`,
      );
    case "client-certificate":
      throw new NotRotatable(
        `Cannot rotate ${who}: it authenticates with a client certificate; renew the ` +
          `certificate instead, or switch the user to a renewing token with ` +
          `"kubectl token kubeconfig SA --exec --merge FILE"`,
        "client certificate",
      );
    case "basic":
      throw new NotRotatable(
        `Cannot rotate ${who}: it authenticates with a username and password`,
        "username and password",
      );
    case "auth-provider":
      throw new NotRotatable(
        `Cannot rotate ${who}: it uses the auth-provider "${auth.name}", which kubectl no longer supports`,
        `auth-provider "${auth.name}"`,
      );
    case "none":
      throw new NotRotatable(`Cannot rotate ${who}: it has no token`, "no token");
  }
  const credential = await ctx.credential();
  const oldToken = credential.token!;
  let report: TokenReport | undefined;
  try {
    report = inspectToken(oldToken, now);
  } catch {
    report = undefined;
  }
  if (report?.kind === "bootstrap") {
    const command = `kubectl token rotate bootstrap ${report.bootstrap!.tokenId}`;
    throw new NotRotatable(
      `Cannot rotate ${who}: it holds a bootstrap token; use "${command}"`,
      `bootstrap token: use "${command}"`,
    );
  }
  const fromClaims = report?.kubernetes?.namespace && report.kubernetes.serviceAccount?.name
    ? { namespace: report.kubernetes.namespace, name: report.kubernetes.serviceAccount.name }
    : undefined;
  const sa: ServiceAccountRef | undefined = request.serviceAccount
    ? parseServiceAccountFlag("--service-account", request.serviceAccount)
    : fromClaims;
  if (!sa) {
    throw new NotRotatable(
      `Cannot rotate ${who}: its token is not a service-account token; name the service ` +
        `account with --service-account NAMESPACE/NAME`,
      "not a service-account token",
    );
  }
  const expirationSeconds = request.expirationSeconds ?? report?.lifetimeSeconds;
  const bound = report?.kubernetes?.boundObject;
  const plan: UserPlan = {
    ctx,
    userName,
    file,
    who,
    where: auth.kind === "token-file"
      ? `token file "${auth.path}" of ${who}`
      : `${who} in "${file}"`,
    sa,
    report,
    audiences: report?.audiences ?? [],
  };
  if (auth.kind === "token-file") plan.tokenFile = auth.path;
  if (bound?.name && (bound.kind === "Secret" || bound.kind === "Pod")) {
    plan.boundObject = { kind: bound.kind, name: bound.name, uid: bound.uid };
  }
  if (expirationSeconds !== undefined) plan.seconds = Math.round(expirationSeconds);
  return plan;
}

/** Why an expired token cannot ask for its own successor, and what to do instead. */
export function expiredError(plan: UserPlan, now: Date): CliError {
  const { sa } = plan;
  return new CliError(
    `Cannot rotate ${plan.who}: its token expired ${relativeTime(plan.report!.expiresAt!, now)}; ` +
      `rotate it with another identity (--requester-context NAME or --requester-kubeconfig ` +
      `FILE), or get a new one with "kubectl token kubeconfig ${sa.name} -n ${sa.namespace} ` +
      `--merge FILE" using other credentials`,
  );
}

/** Ask for the new token (as the requester, else as the user itself) and check it. */
export async function issueToken(plan: UserPlan, requester: Requester | undefined) {
  const { ctx, sa } = plan;
  const asker = requester?.ctx ?? ctx;
  const client = await asker.client();
  // A revocable token's successor gets its own registry entry.
  const previous = await registryEntryOf(asker, sa, plan.boundObject);
  let issued: IssuedToken & { revocable?: RevocableToken; previous?: IssuedEntry };
  try {
    if (previous) {
      const revocable = await issueSuccessor(asker, sa, previous, {
        audiences: plan.audiences,
        expirationSeconds: plan.seconds,
      });
      issued = { ...revocable, revocable, previous };
    } else {
      issued = await requestToken(client, sa, {
        audiences: plan.audiences,
        expirationSeconds: plan.seconds,
        boundObject: plan.boundObject,
      });
    }
  } catch (e) {
    if (e instanceof ApiError && e.code === 403 && e.message.startsWith("Cannot request token")) {
      throw withHint(
        e,
        requester
          ? `${requester.label} needs permission to create "serviceaccounts/token" for ` +
            `"${sa.namespace}/${sa.name}"`
          : `the token of ${plan.who} may not create "serviceaccounts/token" for its own ` +
            `service account (and should not: a token that can mint its successor never ` +
            `expires): request the new token as a more privileged identity with ` +
            `--requester-context NAME or --requester-kubeconfig FILE`,
      );
    }
    throw e;
  }
  for (const w of issued.warnings) ctx.warn(w);
  try {
    await verifyToken(ctx, issued.token, sa);
  } catch (e) {
    if (issued.revocable) await discardSuccessor(asker, issued.revocable);
    throw e;
  }
  return issued;
}

/**
 * The error of a call that already says what failed, with `; ${hint}` after its message: a new
 * error with `e` as its cause (wrapApiError would put a second action before it).
 */
function withHint(e: ApiError, hint: string): ApiError {
  return new ApiError(`${e.message}; ${hint}`, {
    code: e.code,
    reason: e.reason,
    retryAfterSeconds: e.retryAfterSeconds,
    detail: e.detail,
    cause: e,
  });
}

/** Write the new token where the user keeps it: its token file, or its kubeconfig entry. */
async function writeToken(plan: UserPlan, token: string, backup: boolean): Promise<void> {
  if (plan.tokenFile !== undefined) {
    await rewriteTokenFile(plan.ctx, plan.tokenFile, token, backup);
    return;
  }
  const result = await updateKubeconfigFile(
    plan.ctx.runtime,
    plan.file,
    [tokenChange(plan, token)],
    {
      backup,
    },
  );
  if (result.backupPath) plan.ctx.log(1, `kept the previous kubeconfig as "${result.backupPath}"`);
}

/** The kubeconfig edit that puts `token` into the user's entry. */
export function tokenChange(plan: UserPlan, token: string): KubeconfigChange {
  return { set: ["users", { name: plan.userName }, "user", "token"], value: token };
}

/** The new token must authenticate as the service account, on the user's own cluster, before anything is written. */
async function verifyToken(ctx: CommandContext, token: string, sa: ServiceAccountRef) {
  const check = ctx.withCredential({ token, source: "token" });
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
    throw e instanceof ApiError && e.code === 401
      ? wrapApiError(e, "Cannot use the new token", {
        byCode: {
          401: "the API server does not accept it (401 Unauthorized); nothing was written",
        },
      })
      : e;
  } finally {
    await check.close();
  }
}

/** Write `token` into the user's token file (after a backup when asked). */
export async function rewriteTokenFile(
  ctx: CommandContext,
  path: string,
  token: string,
  backup: boolean,
): Promise<void> {
  await updateTokenFile(ctx.runtime, path, token, { backup });
}
