/** Kubernetes `Status` answers and connection failures as one-line errors that say what to check. */
import { CliError } from "../errors.ts";
import type { RestConfig } from "../kubeconfig/types.ts";

/** A failed API call: HTTP status, the Status reason and its message. */
export class ApiError extends CliError {
  override name = "ApiError";
  /** HTTP status code (0 when the server was not reached). */
  code: number;
  /** `Status.reason`, e.g. "NotFound", "Forbidden". */
  reason?: string;
  /** Seconds to wait, from `Retry-After`. */
  retryAfterSeconds?: number;

  constructor(
    message: string,
    options: {
      code: number;
      reason?: string;
      retryAfterSeconds?: number;
      detail?: string;
      cause?: unknown;
    },
  ) {
    super(message, { detail: options.detail, cause: options.cause });
    this.code = options.code;
    this.reason = options.reason;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** Build the error for a non-2xx answer, from its `Status` body when there is one. */
  static fromResponse(
    method: string,
    path: string,
    code: number,
    headers: Record<string, string | string[] | undefined>,
    body: unknown,
    text: string,
  ): ApiError {
    const status = isStatus(body) ? body : undefined;
    const reason = status?.reason ?? reasonForCode(code);
    // Only throttling and server errors invite a retry (client-go's rule).
    const retry = code === 429 || code >= 500 ? Number(headers["retry-after"]) : NaN;
    const retryAfterSeconds = Number.isFinite(retry) && retry > 0 ? retry : undefined;
    let message: string;
    if (code === 401) {
      message = "You must be logged in to the server (Unauthorized): the server rejected the" +
        " credential; check that it has not expired or been revoked";
    } else if (status?.message) {
      message = status.message;
    } else {
      message = `the server returned ${code} ${reason ?? ""}`.trim() +
        ` for ${method} ${path}`;
    }
    if (code === 429 && retryAfterSeconds) message += ` (retry after ${retryAfterSeconds}s)`;
    return new ApiError(message, {
      code,
      reason,
      retryAfterSeconds,
      detail: status ? undefined : text.slice(0, 200),
    });
  }
}

/**
 * A failed call again, its message saying first what failed: `${action}: ${e.message}`, or
 * `${action}: ${byCode[e.code]}` when the status code has its own explanation, and `; ${hint}`
 * after it when a hint says what to do instead. The new error
 * keeps the code, reason and detail and has `e` as its cause; anything that is not an
 * {@link ApiError} is returned as it is. Use it as `throw wrapApiError(e, "Cannot read ...")`.
 */
export function wrapApiError(
  e: unknown,
  action: string,
  options: { byCode?: Partial<Record<number, string>>; hint?: string } = {},
): unknown {
  if (!(e instanceof ApiError)) return e;
  const hint = options.hint ? `; ${options.hint}` : "";
  return new ApiError(`${action}: ${options.byCode?.[e.code] ?? e.message}${hint}`, {
    code: e.code,
    reason: e.reason,
    retryAfterSeconds: e.retryAfterSeconds,
    detail: e.detail,
    cause: e,
  });
}

interface Status {
  kind: "Status";
  message?: string;
  reason?: string;
  code?: number;
}

function isStatus(body: unknown): body is Status {
  return typeof body === "object" && body !== null && (body as Status).kind === "Status";
}

function reasonForCode(code: number): string | undefined {
  return ({
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
  } as Record<number, string>)[code];
}

/** Turn a socket or TLS failure into a message that says what to check. */
export function connectionError(
  e: unknown,
  config: RestConfig,
  timeoutMs: number | undefined,
): CliError {
  const err = e as { code?: string; message?: string };
  const code = err?.code ?? "";
  const msg = err?.message ?? String(e);
  const server = config.server;
  const host = (() => {
    try {
      return new URL(server).host;
    } catch {
      return server;
    }
  })();
  const options = { detail: `${code} ${msg}`.trim(), cause: e };
  if (code === "ETIMEDOUT_KT") {
    return new CliError(
      `Unable to connect to the server "${server}": no answer within ` +
        `${Math.round((timeoutMs ?? 0) / 1000)}s (raise --request-timeout, or check the server)`,
      options,
    );
  }
  if (code === "ECONNREFUSED" || /connection refused/i.test(msg)) {
    return new CliError(
      `The connection to the server ${host} was refused - did you specify the right host or port?`,
      options,
    );
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || /dns|lookup|name resolution/i.test(msg)) {
    return new CliError(
      `Unable to connect to the server "${server}": cannot resolve its host name "${host}"`,
      options,
    );
  }
  // An exact code first: a reset's text can name TLS ("peer closed connection without sending
  // TLS close_notify"), which the certificate test below would take for a trust problem.
  if (code === "ECONNRESET" || code === "ETRUNCATED") return closedEarly(server, options);
  if (
    /certificate|self[- ]signed|unknown ?issuer|UnknownIssuer|CERT_|unable to verify|x509|tls|ssl|altname|hostname/i
      .test(code + " " + msg)
  ) {
    const hint = /altname|hostname|not valid for|NotValidForName|Hostname mismatch/i.test(msg)
      ? "the certificate is not valid for this host name (check the server address, or tls-server-name)"
      : "the server's certificate is not trusted (check certificate-authority in the kubeconfig, or --certificate-authority)";
    return new CliError(`Unable to connect to the server "${server}": ${hint}`, options);
  }
  if (/reset|closed|ended|EOF/i.test(msg)) return closedEarly(server, options);
  return new CliError(`Unable to connect to the server "${server}": ${oneLine(msg)}`, options);
}

function closedEarly(server: string, options: { detail: string; cause: unknown }): CliError {
  return new CliError(
    `Unable to connect to the server "${server}": the connection was closed before the answer ` +
      `was complete (check the server, a proxy, or the network)`,
    options,
  );
}

function oneLine(s: string): string {
  return s.split("\n")[0].slice(0, 200);
}
