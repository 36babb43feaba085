/**
 * `kubectl token rotate`: replace the token of the current kubeconfig user with a fresh one for
 * the same service account (checked before it is written), a legacy service-account-token
 * Secret (`rotate secret NAME`) or a bootstrap token (`rotate bootstrap ID`).
 *
 * This file holds the options, their validation and the dispatch; each target has its own file:
 * `_rotate_kubeconfig.ts` (the kubeconfig user, also through another requester),
 * `_rotate_all.ts` (`--all`), `_rotate_secret.ts` (legacy Secrets) and `_rotate_bootstrap.ts`
 * (bootstrap tokens).
 */
import type { CommandContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import { parseDurationFlag } from "../flags/duration.ts";
import { parseDaysFlag } from "../flags/duration.ts";
import { isBootstrapTokenId } from "../bootstrap/token.ts";
import { parseExpirationFlag } from "./_lifetime.ts";
import { parseServiceAccountFlag } from "./_service_account.ts";
import { rotateUser } from "./_rotate_kubeconfig.ts";
import { rotateAll } from "./_rotate_all.ts";
import { rotateSecret } from "./_rotate_secret.ts";
import { rotateBootstrap } from "./_rotate_bootstrap.ts";

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
