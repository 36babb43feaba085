/**
 * `kubectl token create [SA]`: request a service-account token through the TokenRequest API.
 * Shaped like kubectl's create_token.go: options, a pure validate step whose messages name the
 * flag, and run.
 */
import { checkAudiences, parseExpirationFlag } from "./_lifetime.ts";
import type { CommandContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import { formatGoDuration } from "../output/duration.ts";
import { parseOutputFlag, toJson, toYaml } from "../output/printers.ts";
import { decodeJwt } from "../jwt/decode.ts";
import { execCredential } from "../credential/exec_credential.ts";
import { type TokenRequest, tokenRequest } from "../api/serviceaccounts.ts";
import { requestToken, tokenRequestSpec } from "./_token_request.ts";
import { isServiceAccountName, type ServiceAccountRef } from "./_service_account.ts";

/** Flags and argument of `create`, as the command line gives them. */
export interface CreateOptions {
  serviceAccount?: string;
  duration?: string;
  audience: string[];
  boundObjectKind?: string;
  boundObjectName?: string;
  boundObjectUid?: string;
  revocable?: boolean;
  purpose?: string;
  output: string;
}

/** A validated request. */
export interface CreateRequest {
  serviceAccount?: string;
  expirationSeconds?: number;
  audiences: string[];
  boundObject?: { kind: "Pod" | "Secret" | "Node"; name: string; uid?: string };
  /** Bind the token to a new registry entry (a Secret) that records it. */
  revocable?: { purpose?: string };
  output: "token" | "json" | "yaml" | "exec-credential";
}

const BOUND_KINDS = ["Pod", "Secret", "Node"] as const;
const OUTPUTS = ["token", "json", "yaml", "exec-credential"] as const;

/** Check the flags without touching the cluster; messages name the flag. */
export function validateCreate(options: CreateOptions): CreateRequest {
  const output = parseOutputFlag(options.output, OUTPUTS, "token") as CreateRequest["output"];
  // Like kubectl create token, leave the 10-minute minimum to the server.
  const expirationSeconds = parseExpirationFlag(options.duration, { serverMinimum: false });
  checkAudiences(options.audience);
  let boundObject: CreateRequest["boundObject"];
  if (!options.boundObjectKind) {
    if (options.boundObjectName) {
      throw new UsageError("Flag --bound-object-name can only be set with --bound-object-kind");
    }
    if (options.boundObjectUid) {
      throw new UsageError("Flag --bound-object-uid can only be set with --bound-object-kind");
    }
  } else {
    const kind = BOUND_KINDS.find((k) =>
      k.toLowerCase() === options.boundObjectKind!.toLowerCase()
    );
    if (!kind) {
      throw new UsageError(
        `Invalid value "${options.boundObjectKind}" for flag --bound-object-kind: ` +
          `supported values are ${BOUND_KINDS.join(", ")}`,
      );
    }
    if (!options.boundObjectName) {
      throw new UsageError("Flag --bound-object-name is required with --bound-object-kind");
    }
    boundObject = { kind, name: options.boundObjectName, uid: options.boundObjectUid || undefined };
  }
  if (options.purpose !== undefined && !options.revocable) {
    throw new UsageError("Flag --purpose can only be set with --revocable");
  }
  if (options.revocable && options.boundObjectKind) {
    throw new UsageError(
      "Flags --revocable and --bound-object-kind cannot be used together: a revocable token is " +
        "bound to its own registry Secret",
    );
  }
  const sa = options.serviceAccount;
  if (sa !== undefined && !isServiceAccountName(sa)) {
    throw new UsageError(
      `Invalid service account name "${sa}": it must be a lowercase RFC 1123 subdomain`,
    );
  }
  return {
    serviceAccount: sa,
    expirationSeconds,
    audiences: options.audience,
    boundObject,
    ...(options.revocable ? { revocable: { purpose: options.purpose || undefined } } : {}),
    output,
  };
}

/** The TokenRequest the API server receives. */
export function tokenRequestBody(request: CreateRequest): TokenRequest {
  return tokenRequest(tokenRequestSpec(request));
}

/** Request the token and print it; returns the exit code. */
export async function runCreate(ctx: CommandContext, options: CreateOptions): Promise<number> {
  const request = validateCreate(options);
  const config = await ctx.config();
  let namespace = config.namespace;
  let name = request.serviceAccount;
  if (name === undefined) {
    const own = await ownServiceAccount(ctx);
    if (!own) {
      throw new UsageError(
        "A service account name is required (the current credential is not a service-account token)",
      );
    }
    name = own.name;
    if (!config.namespaceFromFlag) namespace = own.namespace;
  }
  const requestedAt = ctx.runtime.now();
  const { tr, token, warnings } = request.revocable
    ? await issueRevocableFor(ctx, { namespace, name }, request)
    : await issueToken(ctx, { namespace, name }, request);
  for (const w of warnings) ctx.warn(w);
  ctx.secret(token);
  const expiry = tr.status?.expirationTimestamp;
  if (request.expirationSeconds && expiry && warnings.length === 0) {
    const granted = (Date.parse(expiry) - requestedAt.getTime()) / 1000;
    // Allow for clock skew between us and the server before calling it shortened.
    if (granted < request.expirationSeconds - 120) {
      ctx.warn(
        `the server shortened the token's lifetime: requested ` +
          `${formatGoDuration(request.expirationSeconds * 1000)}, expires ${expiry}`,
      );
    }
  }
  const out = ctx.runtime.stdout;
  switch (request.output) {
    case "token":
      out.write(out.isTerminal() ? `${token}\n` : token);
      break;
    case "json":
      out.write(toJson(tr));
      break;
    case "yaml":
      out.write(toYaml(tr));
      break;
    case "exec-credential":
      out.write(
        toJson(execCredential(token, { expiresAt: expiry ? new Date(expiry) : undefined })),
      );
      break;
  }
  return 0;
}

/** POST the TokenRequest and return its answer. */
async function issueToken(
  ctx: CommandContext,
  sa: ServiceAccountRef,
  request: CreateRequest,
): Promise<{ tr: TokenRequest; token: string; warnings: string[] }> {
  const issued = await requestToken(await ctx.client(), sa, request);
  return { tr: issued.response, token: issued.token, warnings: issued.warnings };
}

/** Issue a revocable token; say its registry ID on stderr and in the printed object. */
async function issueRevocableFor(
  ctx: CommandContext,
  sa: ServiceAccountRef,
  request: CreateRequest,
): Promise<{ tr: TokenRequest; token: string; warnings: string[] }> {
  const [{ announceIssued, issueRevocable }, { ANNOTATIONS }] = await Promise.all([
    import("./_issue_revocable.ts"),
    import("../registry/issued.ts"),
  ]);
  const issued = await issueRevocable(ctx, sa, {
    audiences: request.audiences,
    expirationSeconds: request.expirationSeconds,
    purpose: request.revocable?.purpose,
  });
  const { name } = issued.entry;
  announceIssued(ctx, issued);
  const body = issued.response;
  const metadata = body.metadata ?? {};
  const tr = {
    ...body,
    metadata: { ...metadata, annotations: { ...metadata.annotations, [ANNOTATIONS.id]: name } },
  };
  return { tr, token: issued.token, warnings: issued.warnings };
}

/** The service account of the current credential, when it is a service-account token. */
async function ownServiceAccount(
  ctx: CommandContext,
): Promise<{ namespace: string; name: string } | undefined> {
  const credential = await ctx.credential();
  if (!credential.token) return undefined;
  try {
    const sub = decodeJwt(credential.token).payload.sub;
    const m = typeof sub === "string" ? /^system:serviceaccount:([^:]+):([^:]+)$/.exec(sub) : null;
    return m ? { namespace: m[1], name: m[2] } : undefined;
  } catch {
    return undefined;
  }
}
