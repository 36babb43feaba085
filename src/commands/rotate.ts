/**
 * `kubectl token rotate`: replace the token of the current kubeconfig user with a fresh one for
 * the same service account (checked before it is written), a legacy service-account-token
 * Secret (`rotate secret NAME`) or a bootstrap token (`rotate bootstrap ID`).
 */
import { parseExpirationFlag } from "./_lifetime.ts";
import { join as joinPath, resolve as resolvePath } from "node:path";
import { CommandContext } from "../cli/context.ts";
import type { ConnectionFlags, MergedKubeconfig } from "../kubeconfig/types.ts";
import { ApiError, wrapApiError } from "../api/errors.ts";
import { CliError, UsageError } from "../errors.ts";
import {
  expiryPhrase,
  formatGoDuration,
  parseDurationFlag,
  relativeTime,
  rfc3339,
} from "../output/duration.ts";
import { parseDaysFlag } from "../audit/duration.ts";
import { renderTable } from "../output/printers.ts";
import { inspectToken, type TokenReport } from "../jwt/inspect.ts";
import { updateKubeconfigFile, updateTokenFile } from "../kubeconfig/write.ts";
import type { KubeconfigChange } from "../kubeconfig/edit.ts";
import { kubeconfigPaths, readKubeconfigFiles } from "../kubeconfig/files.ts";
import { mergeKubeconfigs } from "../kubeconfig/merge.ts";
import {
  createSecret,
  deleteSecret,
  getSecret,
  type Secret,
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_TYPE,
  SERVICE_ACCOUNT_UID_ANNOTATION,
} from "../api/secrets.ts";
import type { ApiClient } from "../api/client.ts";
import { decodeBase64, encodeBase64 } from "../encoding/base64.ts";
import { whoami } from "./whoami.ts";
import { removeAfterGrace } from "./_grace.ts";
import {
  BOOTSTRAP_NAMESPACE,
  BOOTSTRAP_TOKEN_TYPE,
  bootstrapSecretName,
  generateBootstrapToken,
  isBootstrapTokenId,
} from "../bootstrap/token.ts";
import { type IssuedToken, requestToken } from "./_token_request.ts";
import { parseServiceAccountFlag, type ServiceAccountRef } from "./_service_account.ts";
import {
  discardSuccessor,
  issueSuccessor,
  registryEntryOf,
  retireEntry,
} from "./_rotate_revocable.ts";
import type { RevocableToken } from "./_issue_revocable.ts";
import type { IssuedEntry } from "../registry/issued.ts";
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
  /** A context that requests the new token instead of the user being rotated. */
  requesterContext?: string;
  /** A kubeconfig whose current (or --requester-context) context requests the new token. */
  requesterKubeconfig?: string;
  /** Rotate every token user of the kubeconfig (or of every file in a folder). */
  all?: boolean;
  /** With --all: a duration, or a share of the lifetime such as "20%". */
  ifExpiresWithin?: string;
}

/** Who requests the new token when it is not the user being rotated. */
export interface RequesterFlags {
  context?: string;
  kubeconfig?: string;
}

/** When a token is due: it expires within a duration, or within a share of its lifetime. */
export type ExpiryThreshold =
  | { kind: "duration"; ms: number; text: string }
  | { kind: "fraction"; fraction: number; text: string };

/** A validated rotation. */
export type RotateRequest =
  | {
    kind: "user";
    serviceAccount?: string;
    expirationSeconds?: number;
    dryRun: boolean;
    backup: boolean;
    requester?: RequesterFlags;
    /** For a revocable token: how long the old registry entry outlives the new token. */
    graceMs: number;
  }
  | {
    kind: "all";
    expirationSeconds?: number;
    dryRun: boolean;
    backup: boolean;
    requester?: RequesterFlags;
    within: ExpiryThreshold;
    /** For revocable tokens: how long the old registry entries outlive the new tokens. */
    graceMs: number;
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

/** The default of --if-expires-within: a fifth of the lifetime left. */
export const DEFAULT_EXPIRES_WITHIN = "20%";

/**
 * Parse `--if-expires-within`: "20%" (of the token's lifetime left), or a duration such as
 * "36h", "7d" or "1d12h".
 */
export function parseExpiryThreshold(text: string): ExpiryThreshold {
  const invalid = (detail: string) =>
    new UsageError(`Invalid value "${text}" for flag --if-expires-within: ${detail}`);
  const share = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  if (share) {
    const percent = Number(share[1]);
    if (percent > 100) throw invalid("a share of the lifetime is at most 100%");
    return { kind: "fraction", fraction: percent / 100, text: `${share[1]}%` };
  }
  try {
    return { kind: "duration", ms: parseDaysFlag("if-expires-within", text), text: text.trim() };
  } catch (e) {
    if (e instanceof UsageError) {
      throw invalid(
        "expected a duration such as 36h or 7d, or a share of the lifetime such as 20%",
      );
    }
    throw e;
  }
}

/** Whether a token is due at `now`, and how the summary says so. Due at the threshold itself. */
export function rotationDue(
  token: { expiresAt: Date; lifetimeSeconds?: number },
  within: ExpiryThreshold,
  now: Date,
): { due: boolean; detail: string } {
  const left = token.expiresAt.getTime() - now.getTime();
  const limit = within.kind === "duration"
    ? within.ms
    : within.fraction * (token.lifetimeSeconds ?? 0) * 1000;
  const due = left <= limit;
  return {
    due,
    detail: `${expiryPhrase(token.expiresAt, now)} (${due ? "" : "not "}within ${within.text})`,
  };
}

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
    onlyFor("--timeout", options.timeout, `"rotate secret"`);
    const expirationSeconds = parseExpirationFlag(options.duration, { allowZero: false });
    const requester = requesterFlags(options);
    const backup = options.backup ?? false;
    // A revocable token's old registry entry is deleted this long after the new token is in.
    const graceMs = options.grace === undefined ? 0 : parseDurationFlag("--grace", options.grace);
    if (options.all) {
      if (options.serviceAccount !== undefined) {
        throw new UsageError(
          "Flag --service-account cannot be used with --all: each token names its own " +
            "service account",
        );
      }
      const within = parseExpiryThreshold(options.ifExpiresWithin ?? DEFAULT_EXPIRES_WITHIN);
      return { kind: "all", expirationSeconds, dryRun, backup, requester, within, graceMs };
    }
    onlyFor("--if-expires-within", options.ifExpiresWithin, "--all");
    if (options.serviceAccount !== undefined) {
      parseServiceAccountFlag("--service-account", options.serviceAccount);
    }
    return {
      kind: "user",
      serviceAccount: options.serviceAccount,
      expirationSeconds,
      dryRun,
      backup,
      requester,
      graceMs,
    };
  }
  for (const [flag, value] of REQUESTER_AND_ALL_FLAGS) {
    onlyFor(flag, options[value], 'the kubeconfig user (plain "rotate")');
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

const REQUESTER_AND_ALL_FLAGS: [string, keyof RotateOptions][] = [
  ["--requester-context", "requesterContext"],
  ["--requester-kubeconfig", "requesterKubeconfig"],
  ["--all", "all"],
  ["--if-expires-within", "ifExpiresWithin"],
];

function requesterFlags(options: RotateOptions): RequesterFlags | undefined {
  for (const [flag, value] of REQUESTER_AND_ALL_FLAGS.slice(0, 2)) {
    if (options[value] === "") throw new UsageError(`Invalid value "" for flag ${flag}`);
  }
  if (options.requesterContext === undefined && options.requesterKubeconfig === undefined) {
    return undefined;
  }
  const flags: RequesterFlags = {};
  if (options.requesterContext !== undefined) flags.context = options.requesterContext;
  if (options.requesterKubeconfig !== undefined) flags.kubeconfig = options.requesterKubeconfig;
  return flags;
}

/** Rotate; returns the exit code. */
export async function runRotate(ctx: CommandContext, options: RotateOptions): Promise<number> {
  const request = validateRotate(options);
  switch (request.kind) {
    case "user":
      return await rotateUser(ctx, request);
    case "all":
      return await rotateAll(ctx, request);
    case "secret":
      return await rotateSecret(ctx, request);
    case "bootstrap":
      return await rotateBootstrap(ctx, request);
  }
}

// ---------------------------------------------------------------------------------------------
// The kubeconfig user

/** A user whose token cannot be rotated at all: `rotate --all` lists it as skipped. */
class NotRotatable extends CliError {
  /** Why, in a few words, for the summary table. */
  reason: string;
  constructor(message: string, reason: string) {
    super(message);
    this.reason = reason;
  }
}

/** A rotation of one kubeconfig user, worked out from its entry and its current token. */
interface UserPlan {
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
interface Requester {
  ctx: CommandContext;
  /** How messages name it: `context "admin"`, `the current context of "ci.kubeconfig"`. */
  label: string;
}

function requesterFor(
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

async function rotateUser(
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
async function planUser(
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

function expiredError(plan: UserPlan, now: Date): CliError {
  const { sa } = plan;
  return new CliError(
    `Cannot rotate ${plan.who}: its token expired ${relativeTime(plan.report!.expiresAt!, now)}; ` +
      `rotate it with another identity (--requester-context NAME or --requester-kubeconfig ` +
      `FILE), or get a new one with "kubectl token kubeconfig ${sa.name} -n ${sa.namespace} ` +
      `--merge FILE" using other credentials`,
  );
}

/** Ask for the new token (as the requester, else as the user itself) and check it. */
async function issueToken(plan: UserPlan, requester: Requester | undefined) {
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

function tokenChange(plan: UserPlan, token: string): KubeconfigChange {
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

// ---------------------------------------------------------------------------------------------
// Every token user of a kubeconfig: rotate --all

/** One line of the summary table. */
interface SummaryRow {
  file: string;
  user: string;
  serviceAccount: string;
  result: "rotated" | "skipped" | "failed" | "due";
  detail: string;
}

/** Kubeconfig files read together (one merged view), and the --kubeconfig that selects them. */
interface KubeconfigSet {
  files: string[];
  kubeconfig?: string;
}

async function rotateAll(
  ctx: CommandContext,
  request: Extract<RotateRequest, { kind: "all" }>,
): Promise<number> {
  const flags = ctx.flags;
  if (flags.token) {
    throw new UsageError(
      "Flag --token cannot be used with rotate: it rotates the tokens stored in the kubeconfig",
    );
  }
  for (
    const [flag, set] of [["--context", flags.context], ["--user", flags.user], [
      "--cluster",
      flags.cluster,
    ]]
  ) {
    if (set) {
      throw new UsageError(
        `Flag ${flag} cannot be used with --all: it rotates every token user of the kubeconfig`,
      );
    }
  }
  const runtime = ctx.runtime;
  const now = runtime.now();
  const { sets, folder } = await kubeconfigSets(ctx);
  if (folder && request.requester?.context !== undefined && !request.requester.kubeconfig) {
    throw new UsageError(
      `Flag --requester-context needs --requester-kubeconfig when --kubeconfig is a folder ` +
        `("${folder}")`,
    );
  }
  const requester = requesterFor(ctx, request.requester);
  await requester?.ctx.config();
  const rows: SummaryRow[] = [];
  const failures: string[] = [];
  const opened: CommandContext[] = [];
  const fail = (row: SummaryRow, e: unknown) => {
    row.result = "failed";
    row.detail = oneLine(e instanceof Error ? e.message : String(e));
    failures.push(`${row.user ? `user "${row.user}" in ` : ""}"${row.file}": ${row.detail}`);
  };
  try {
    // First decide for every user, all at the same instant; then talk to the clusters.
    const due: { plan: UserPlan; row: SummaryRow }[] = [];
    for (const set of sets) {
      let merged: MergedKubeconfig;
      try {
        merged = mergeKubeconfigs(await readKubeconfigFiles(runtime, set.files));
      } catch (e) {
        const row: SummaryRow = {
          file: set.files.join(":"),
          user: "",
          serviceAccount: "",
          result: "failed",
          detail: "",
        };
        fail(row, e);
        rows.push(row);
        continue;
      }
      const contexts = [...merged.contexts.values()];
      for (const user of merged.users.values()) {
        const row: SummaryRow = {
          file: user.file,
          user: user.name,
          serviceAccount: "<none>",
          result: "skipped",
          detail: "",
        };
        rows.push(row);
        // The user's cluster is where the new token must work: the first context that uses it.
        const context = contexts.find((c) => c.value.user === user.name);
        if (!context) {
          row.detail = "no context uses it, so its cluster is unknown";
          continue;
        }
        const connection: ConnectionFlags = { context: context.name };
        if (set.kubeconfig !== undefined) connection.kubeconfig = set.kubeconfig;
        if (flags.requestTimeout !== undefined) connection.requestTimeout = flags.requestTimeout;
        const target = new CommandContext(runtime, connection, ctx.verbosity);
        opened.push(target);
        let plan: UserPlan;
        try {
          plan = await planUser(target, request, now);
        } catch (e) {
          if (e instanceof NotRotatable) row.detail = e.reason;
          else fail(row, e);
          continue;
        }
        row.serviceAccount = `${plan.sa.namespace}/${plan.sa.name}`;
        const expiresAt = plan.report?.expiresAt;
        if (!expiresAt) {
          row.detail = 'its token does not expire (a legacy Secret token: use "rotate secret")';
          continue;
        }
        if (request.within.kind === "fraction" && plan.report?.lifetimeSeconds === undefined) {
          row.detail = `its token has no issue time, so ${request.within.text} of its lifetime ` +
            `is unknown: use --if-expires-within DURATION`;
          continue;
        }
        const decision = rotationDue(
          { expiresAt, lifetimeSeconds: plan.report?.lifetimeSeconds },
          request.within,
          now,
        );
        row.detail = decision.detail;
        if (!decision.due) continue;
        if (plan.seconds === undefined) {
          fail(row, new CliError("its token has no lifetime to copy: give one with --duration"));
          continue;
        }
        if (plan.report?.expired && !requester) {
          fail(row, expiredError(plan, now));
          continue;
        }
        row.result = "due";
        due.push({ plan, row });
      }
    }
    if (request.dryRun) {
      for (const { row } of due) row.detail += "; not rotated (dry run)";
    } else {
      await rotateDue(due, requester, { ...request, now }, fail);
    }
  } finally {
    await requester?.ctx.close();
    for (const target of opened) await target.close();
  }
  if (rows.length === 0) {
    runtime.stderr.write(
      `No users found in ${sets.flatMap((s) => s.files).map((f) => `"${f}"`).join(", ")}\n`,
    );
    return 0;
  }
  runtime.stdout.write(
    renderTable(
      ["FILE", "USER", "SERVICE-ACCOUNT", "RESULT", "DETAIL"],
      rows.map((r) => [r.file, r.user, r.serviceAccount, r.result, r.detail]),
    ),
  );
  if (failures.length > 0) {
    throw new CliError(
      `Cannot rotate ${failures.length} of ${rows.length} users: ${failures.join("; ")}`,
    );
  }
  return 0;
}

/**
 * Issue and check every due token, then write each kubeconfig once, under one lock; last, once
 * every file is written and its lock released, wait --grace once and revoke the old registry
 * entries of the revocable tokens that were replaced.
 */
async function rotateDue(
  due: { plan: UserPlan; row: SummaryRow }[],
  requester: Requester | undefined,
  options: { backup: boolean; graceMs: number; now: Date },
  fail: (row: SummaryRow, e: unknown) => void,
): Promise<void> {
  const { backup, now } = options;
  interface Issued {
    plan: UserPlan;
    row: SummaryRow;
    token: string;
    expiresAt?: Date;
    /** The identity that issued the token, and so retires or discards its entries. */
    asker: CommandContext;
    revocable?: RevocableToken;
    previous?: IssuedEntry;
  }
  const retire: Issued[] = [];
  const done = (entry: Issued) => {
    const { row, expiresAt } = entry;
    row.result = "rotated";
    row.detail = (expiresAt ? `new token ${expiryPhrase(expiresAt, now)}` : "new token") +
      `; the old one ${row.detail}`;
    if (entry.revocable && entry.previous) {
      row.detail += `; revocable: the new token is issued token "${entry.revocable.entry.name}"`;
      retire.push(entry);
    }
  };
  const undo = async (entry: Issued) => {
    if (entry.revocable) await discardSuccessor(entry.asker, entry.revocable);
  };
  const byFile = new Map<string, Issued[]>();
  for (const { plan, row } of due) {
    let entry: Issued;
    try {
      const issued = await issueToken(plan, requester);
      entry = {
        plan,
        row,
        token: issued.token,
        expiresAt: issued.expiresAt,
        asker: requester?.ctx ?? plan.ctx,
        revocable: issued.revocable,
        previous: issued.previous,
      };
    } catch (e) {
      fail(row, e);
      continue;
    }
    if (plan.tokenFile === undefined) {
      byFile.set(plan.file, [...byFile.get(plan.file) ?? [], entry]);
      continue;
    }
    try {
      await rewriteTokenFile(plan.ctx, plan.tokenFile, entry.token, backup);
      done(entry);
      row.detail += ` (token file "${plan.tokenFile}")`;
    } catch (e) {
      await undo(entry);
      fail(row, e);
    }
  }
  for (const [file, entries] of byFile) {
    const { ctx } = entries[0].plan;
    try {
      const result = await updateKubeconfigFile(
        ctx.runtime,
        file,
        entries.map(({ plan, token }) => tokenChange(plan, token)),
        { backup },
      );
      if (result.backupPath) ctx.log(1, `kept the previous kubeconfig as "${result.backupPath}"`);
      entries.forEach(done);
    } catch (e) {
      // Nothing of this file was written: its new entries must not outlive the failure.
      for (const entry of entries) await undo(entry);
      for (const { row } of entries) fail(row, e);
    }
  }
  const stderr = due[0]?.plan.ctx.runtime.stderr;
  if (retire.length === 0) {
    if (options.graceMs > 0 && due.length > 0) {
      due[0].plan.ctx.warn(
        "--grace had no effect: no revocable token was rotated (an old token works until it " +
          "expires)",
      );
    }
    return;
  }
  // One wait for all, outside every lock: the old tokens keep working meanwhile.
  if (options.graceMs > 0) {
    stderr!.write(
      `Revoking ${retire.length} old issued token${retire.length === 1 ? "" : "s"} in ` +
        `${formatGoDuration(options.graceMs)} (--grace)...\n`,
    );
    await due[0].plan.ctx.runtime.sleep(options.graceMs);
  }
  // Two users that held the same token share its entry: it is revoked once.
  const seen = new Set<string>();
  for (const entry of retire) {
    const old = entry.previous!;
    const key = `${old.namespace}/${old.id}/${old.uid ?? ""}`;
    if (seen.has(key)) continue;
    seen.add(key);
    try {
      await retireEntry(entry.asker, old, 0);
    } catch (e) {
      fail(entry.row, e);
    }
  }
}

/**
 * The kubeconfig files --all works on, as sets read together: `--kubeconfig FILE`; every file
 * of `--kubeconfig DIR`, each on its own (not hidden ones, nor *.bak and *.lock); else the
 * files kubectl would merge (KUBECONFIG, ~/.kube/config).
 */
async function kubeconfigSets(
  ctx: CommandContext,
): Promise<{ sets: KubeconfigSet[]; folder?: string }> {
  const runtime = ctx.runtime;
  const given = ctx.flags.kubeconfig;
  if (given !== undefined) {
    const path = resolvePath(runtime.cwd(), given);
    let info;
    try {
      info = await runtime.stat(path);
    } catch {
      throw new CliError(
        `Cannot read kubeconfig "${path}" given by "--kubeconfig": no such file or directory`,
      );
    }
    if (!info.isDirectory) return { sets: [{ files: [path], kubeconfig: path }] };
    const names = (await runtime.readDir(path)).filter((name) =>
      !name.startsWith(".") && !name.endsWith(".bak") && !name.endsWith(".lock")
    ).sort();
    const sets: KubeconfigSet[] = [];
    for (const name of names) {
      const file = joinPath(path, name);
      if ((await runtime.stat(file).catch(() => undefined))?.isFile) {
        sets.push({ files: [file], kubeconfig: file });
      }
    }
    return { sets, folder: path };
  }
  const files = await kubeconfigPaths(runtime, ctx.flags);
  if (files.length === 0) {
    throw new CliError(
      "Cannot rotate: no kubeconfig file found; name a file or a folder of them with --kubeconfig",
    );
  }
  return { sets: [{ files }] };
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, "; ").trim();
}

async function rewriteTokenFile(
  ctx: CommandContext,
  path: string,
  token: string,
  backup: boolean,
): Promise<void> {
  await updateTokenFile(ctx.runtime, path, token, { backup });
}

// ---------------------------------------------------------------------------------------------
// Legacy service-account-token Secrets

async function rotateSecret(
  ctx: CommandContext,
  request: Extract<RotateRequest, { kind: "secret" }>,
): Promise<number> {
  const config = await ctx.config();
  const client = await ctx.client();
  const namespace = config.namespace;
  const old = await readSecret(client, namespace, request.name);
  if (old.type !== SERVICE_ACCOUNT_TOKEN_TYPE) {
    throw new CliError(
      `Cannot rotate Secret "${namespace}/${request.name}": it is of type "${old.type ?? ""}", ` +
        `not "${SERVICE_ACCOUNT_TOKEN_TYPE}"`,
    );
  }
  const saName = old.metadata?.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION];
  if (!saName) {
    throw new CliError(
      `Cannot rotate Secret "${namespace}/${request.name}": it has no ` +
        `"${SERVICE_ACCOUNT_NAME_ANNOTATION}" annotation`,
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
  const created = await createSecret(client, namespace, {
    metadata: {
      generateName: `${saName}-token-`,
      namespace,
      annotations: { [SERVICE_ACCOUNT_NAME_ANNOTATION]: saName },
      ...(Object.keys(labels).length ? { labels } : {}),
    },
    type: SERVICE_ACCOUNT_TOKEN_TYPE,
  });
  const newName = created.metadata?.name;
  if (!newName) {
    throw new CliError("Cannot create the new token Secret: the server returned no name");
  }
  await waitForToken(ctx, client, { namespace, name: newName }, request.timeoutMs);
  ctx.runtime.stdout.write(`${newName}\n`);
  if (request.deleteOld) {
    await removeAfterGrace(
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

/** GET a Secret; errors name it. */
async function readSecret(client: ApiClient, namespace: string, name: string): Promise<Secret> {
  try {
    return await getSecret(client, namespace, name);
  } catch (e) {
    throw wrapApiError(e, `Cannot read Secret "${namespace}/${name}"`);
  }
}

/** Wait (bounded) for the token controller to put a token into the new Secret. */
async function waitForToken(
  ctx: CommandContext,
  client: ApiClient,
  secret: { namespace: string; name: string },
  timeoutMs: number,
): Promise<void> {
  const { namespace, name } = secret;
  const runtime = ctx.runtime;
  const started = runtime.now().getTime();
  const terminal = runtime.stderr.isTerminal();
  let delay = 100;
  let shown = false;
  for (;;) {
    let secret: Secret;
    try {
      secret = await readSecret(client, namespace, name);
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) {
        throw new CliError(
          `Cannot rotate: the token controller deleted the new Secret "${namespace}/${name}" ` +
            `(its service account is gone or was recreated)`,
        );
      }
      throw e;
    }
    if (secret.data?.token && secret.metadata?.annotations?.[SERVICE_ACCOUNT_UID_ANNOTATION]) break;
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

// ---------------------------------------------------------------------------------------------
// Bootstrap tokens

const BOOTSTRAP_KEYS_KEPT = ["description", "auth-extra-groups"];

async function rotateBootstrap(
  ctx: CommandContext,
  request: Extract<RotateRequest, { kind: "bootstrap" }>,
): Promise<number> {
  const client = await ctx.client();
  const oldName = bootstrapSecretName(request.id);
  const old = await readSecret(client, BOOTSTRAP_NAMESPACE, oldName);
  if (old.type !== BOOTSTRAP_TOKEN_TYPE) {
    throw new CliError(
      `Cannot rotate bootstrap token "${request.id}": Secret "${BOOTSTRAP_NAMESPACE}/${oldName}" ` +
        `is of type "${old.type ?? ""}", not "${BOOTSTRAP_TOKEN_TYPE}"`,
    );
  }
  const data = old.data ?? {};
  const text = (key: string) => data[key] === undefined ? undefined : decodeText(data[key]);
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
  // The kept values go over as they were (their base64 untouched): bootstrapSecret() would
  // drop keys it does not know and reorder the rest.
  const newData: Record<string, string> = {
    "token-id": encodeBase64(fresh.id),
    "token-secret": encodeBase64(fresh.secret),
    ...kept,
  };
  if (ttlMs) newData.expiration = encodeBase64(rfc3339(new Date(now.getTime() + ttlMs)));
  try {
    await createSecret(client, BOOTSTRAP_NAMESPACE, {
      metadata: { name: bootstrapSecretName(fresh.id), namespace: BOOTSTRAP_NAMESPACE },
      type: BOOTSTRAP_TOKEN_TYPE,
      data: newData,
    });
  } catch (e) {
    throw wrapApiError(e, "Cannot create the new bootstrap token");
  }
  // The token is what the user asked for: it goes to stdout, as kubeadm token create does.
  ctx.runtime.stdout.write(`${fresh.token}\n`);
  if (request.deleteOld) {
    await removeAfterGrace(
      ctx,
      `bootstrap token "${request.id}"`,
      request.graceMs,
      () => deleteSecret(client, BOOTSTRAP_NAMESPACE, oldName, { uid: old.metadata?.uid }),
    );
  }
  return 0;
}

/** A base64 value as UTF-8 text; undefined when it is not base64. */
function decodeText(value: string): string | undefined {
  try {
    return new TextDecoder().decode(decodeBase64(value));
  } catch {
    return undefined;
  }
}
