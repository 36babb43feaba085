/**
 * metav1.Status failures with the reasons, codes and message shapes of k8s.io/apimachinery's
 * api/errors package, so clients see exactly what a kube-apiserver would send.
 */

/** One field-level cause of an Invalid error; Go's StatusCause.Type goes on the wire as "reason". */
export interface StatusCause {
  reason: string;
  message: string;
  field: string;
}

/** The details block of a Status; empty strings are left out as Go's omitempty does. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** An error that the server answers with as a metav1.Status body. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  /** The Status object to send. */
  toStatus(): Record<string, unknown> {
    const status: Record<string, unknown> = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
    };
    if (this.details) status.details = compact(this.details);
    status.code = this.code;
    return status;
  }
}

function compact(details: StatusDetails): StatusDetails {
  const out: StatusDetails = {};
  if (details.name) out.name = details.name;
  if (details.group) out.group = details.group;
  if (details.kind) out.kind = details.kind;
  if (details.uid) out.uid = details.uid;
  if (details.causes?.length) out.causes = details.causes;
  if (details.retryAfterSeconds) out.retryAfterSeconds = details.retryAfterSeconds;
  return out;
}

/** "secrets" or "roles.rbac.authorization.k8s.io", like schema.GroupResource.String(). */
export function groupResource(group: string, resource: string): string {
  return group ? `${resource}.${group}` : resource;
}

/** 404 NotFound for a named object. */
export function notFound(group: string, resource: string, name: string): ApiError {
  return new ApiError(404, "NotFound", `${groupResource(group, resource)} "${name}" not found`, {
    name,
    group,
    kind: resource,
  });
}

/** 404 for a path no handler serves; the generic message a kube-apiserver uses. */
export function pathNotFound(): ApiError {
  return new ApiError(404, "NotFound", "the server could not find the requested resource", {});
}

/** 409 AlreadyExists. */
export function alreadyExists(group: string, resource: string, name: string): ApiError {
  return new ApiError(
    409,
    "AlreadyExists",
    `${groupResource(group, resource)} "${name}" already exists`,
    { name, group, kind: resource },
  );
}

/** 409 Conflict, as for a stale resourceVersion or a UID that no longer matches. */
export function conflict(group: string, resource: string, name: string, detail: string): ApiError {
  return new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${groupResource(group, resource)} "${name}": ${detail}`,
    { name, group, kind: resource },
  );
}

/** One field error, in field.Error form. */
export interface FieldError {
  type:
    | "FieldValueRequired"
    | "FieldValueInvalid"
    | "FieldValueNotSupported"
    | "FieldValueForbidden";
  field: string;
  /** The offending value, rendered as Go's %#v would for strings and numbers. */
  value?: unknown;
  detail?: string;
}

function fieldErrorBody(e: FieldError): string {
  const rendered = typeof e.value === "string" ? JSON.stringify(e.value) : String(e.value);
  switch (e.type) {
    case "FieldValueRequired":
      return e.detail ? `Required value: ${e.detail}` : "Required value";
    case "FieldValueForbidden":
      return e.detail ? `Forbidden: ${e.detail}` : "Forbidden";
    case "FieldValueNotSupported":
      return `Unsupported value: ${rendered}${e.detail ? `: ${e.detail}` : ""}`;
    default:
      return `Invalid value: ${rendered}${e.detail ? `: ${e.detail}` : ""}`;
  }
}

/** 422 Invalid with causes; kind is "Secret" or "TokenRequest.authentication.k8s.io"-style. */
export function invalid(group: string, kind: string, name: string, errors: FieldError[]): ApiError {
  const bodies = errors.map((e) => `${e.field}: ${fieldErrorBody(e)}`);
  const aggregate = bodies.length === 1 ? bodies[0] : `[${bodies.join(", ")}]`;
  const qualified = group ? `${kind}.${group}` : kind;
  return new ApiError(422, "Invalid", `${qualified} "${name}" is invalid: ${aggregate}`, {
    name,
    group,
    kind,
    causes: errors.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field })),
  });
}

/** 400 BadRequest. */
export function badRequest(message: string): ApiError {
  return new ApiError(400, "BadRequest", message);
}

/** 401 Unauthorized, with the bare message a kube-apiserver sends. */
export function unauthorized(): ApiError {
  return new ApiError(401, "Unauthorized", "Unauthorized");
}

/** 403 Forbidden, message already formed by the authorizer. */
export function forbidden(
  group: string,
  resource: string,
  name: string,
  message: string,
): ApiError {
  const prefix = resource
    ? name
      ? `${groupResource(group, resource)} "${name}" is forbidden`
      : `${groupResource(group, resource)} is forbidden`
    : "forbidden";
  return new ApiError(403, "Forbidden", `${prefix}: ${message}`, { name, group, kind: resource });
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(): ApiError {
  return new ApiError(
    405,
    "MethodNotAllowed",
    "the server does not allow this method on the requested resource",
    {},
  );
}

/** 415 UnsupportedMediaType. */
export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got "${contentType}")`,
    {},
  );
}

/** A Status for an arbitrary code, used by injected faults. */
export function statusForCode(code: number, retryAfterSeconds?: number): ApiError {
  const known: Record<number, [string, string]> = {
    400: ["BadRequest", "the server rejected our request for an unknown reason"],
    401: ["Unauthorized", "Unauthorized"],
    403: ["Forbidden", "forbidden"],
    404: ["NotFound", "the server could not find the requested resource"],
    409: ["Conflict", "the object has been modified"],
    410: ["Expired", "too old resource version"],
    429: ["TooManyRequests", "Too many requests, please try again later."],
    500: ["InternalError", "Internal error occurred: injected fault"],
    503: ["ServiceUnavailable", "the server is currently unable to handle the request"],
    504: ["Timeout", "the server was unable to return a response in the time allotted"],
  };
  const [reason, message] = known[code] ?? ["InternalError", `injected fault with code ${code}`];
  return new ApiError(code, reason, message, retryAfterSeconds ? { retryAfterSeconds } : {});
}
