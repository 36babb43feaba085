/**
 * The `audit.k8s.io/v1` Event, as the API server's log backend writes it (one JSON object per
 * line) and its webhook backend sends it (an `EventList`). Only the fields `usage` reads are
 * typed; everything is optional because policies and server versions leave fields out.
 * Source: k8s.io/apiserver/pkg/apis/audit/v1/types.go.
 */

/** The user an event names (authentication.k8s.io/v1 UserInfo). */
export interface AuditUser {
  username?: string;
  uid?: string;
  groups?: string[];
  /** e.g. `authentication.kubernetes.io/pod-name`, `.../credential-id` (`["JTI=..."]`, 1.29+). */
  extra?: Record<string, string[]>;
}

/** The object a request is about. */
export interface AuditObjectRef {
  resource?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiGroup?: string;
  apiVersion?: string;
  resourceVersion?: string;
  subresource?: string;
}

/** One audit event. */
export interface AuditEvent {
  kind?: string;
  apiVersion?: string;
  level?: string;
  auditID?: string;
  /** RequestReceived, ResponseStarted, ResponseComplete or Panic. */
  stage?: string;
  requestURI?: string;
  /** The Kubernetes verb (get, list, watch, create, ...), or the lower-case HTTP method for non-resource URLs. */
  verb?: string;
  user?: AuditUser;
  impersonatedUser?: AuditUser;
  sourceIPs?: string[];
  userAgent?: string;
  objectRef?: AuditObjectRef;
  responseStatus?: { code?: number; status?: string; reason?: string; message?: string };
  /** Only at Request level and above; `usage` never needs it (and a policy should not log it for tokens). */
  requestObject?: unknown;
  responseObject?: unknown;
  requestReceivedTimestamp?: string;
  stageTimestamp?: string;
  /** e.g. `authentication.k8s.io/legacy-token`, `authentication.kubernetes.io/issued-credential-id`, `authorization.k8s.io/decision`. */
  annotations?: Record<string, string>;
}

/** What the webhook backend POSTs: a batch of events. */
export interface AuditEventList {
  kind?: "EventList";
  apiVersion?: string;
  items?: AuditEvent[];
}

/** `user.extra` keys and annotations that the API server sets and `usage` reads. */
export const AUDIT_KEYS = {
  podName: "authentication.kubernetes.io/pod-name",
  podUid: "authentication.kubernetes.io/pod-uid",
  nodeName: "authentication.kubernetes.io/node-name",
  nodeUid: "authentication.kubernetes.io/node-uid",
  /** `["JTI=<jti>"]` for a bound service-account token (1.29+). */
  credentialId: "authentication.kubernetes.io/credential-id",
  /** On the TokenRequest event: the minted token's credential ID, `JTI=<jti>` (1.30+). */
  issuedCredentialId: "authentication.kubernetes.io/issued-credential-id",
  /** On events authenticated by a legacy Secret token: `"Secret/<name>"` style note (1.24+ warning annotation). */
  legacyToken: "authentication.k8s.io/legacy-token",
  decision: "authorization.k8s.io/decision",
  reason: "authorization.k8s.io/reason",
} as const;

/** The instant an event happened: when the request was received, else its stage time; undefined when neither parses. */
export function eventTime(event: AuditEvent): Date | undefined {
  for (const value of [event.requestReceivedTimestamp, event.stageTimestamp]) {
    if (typeof value !== "string") continue;
    const t = Date.parse(value);
    if (!Number.isNaN(t)) return new Date(t);
  }
  return undefined;
}
