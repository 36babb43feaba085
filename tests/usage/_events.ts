/** Audit events for the usage tests, built from a few fields. */
import type { AuditEvent } from "../../src/usage/event.ts";

let next = 0;

/** Fields of {@link event}: `at` is the request's time, the rest as in an Event. */
export interface EventFields {
  at: string;
  id?: string;
  stage?: string;
  user?: string;
  extra?: Record<string, string[]>;
  as?: string;
  ips?: string[];
  agent?: string;
  verb?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  code?: number;
  annotations?: Record<string, string>;
  requestObject?: unknown;
  responseObject?: unknown;
}

/** An `audit.k8s.io/v1` Event at Metadata level, ResponseComplete unless told. */
export function event(f: EventFields): AuditEvent {
  const e: AuditEvent = {
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    level: "Metadata",
    auditID: f.id ?? `id-${++next}`,
    stage: f.stage ?? "ResponseComplete",
    requestURI: `/api/v1/${f.resource ?? "pods"}`,
    verb: f.verb ?? "get",
    user: {
      username: f.user ?? "system:serviceaccount:team:robot",
      ...(f.extra ? { extra: f.extra } : {}),
    },
    sourceIPs: f.ips ?? ["10.0.0.5"],
    userAgent: f.agent ?? "app/1.0",
    objectRef: {
      resource: f.resource ?? "pods",
      apiVersion: "v1",
      ...(f.subresource ? { subresource: f.subresource } : {}),
      ...(f.namespace ? { namespace: f.namespace } : { namespace: "team" }),
      ...(f.name ? { name: f.name } : {}),
    },
    requestReceivedTimestamp: f.at,
    stageTimestamp: f.at,
  };
  if (f.stage !== "RequestReceived") e.responseStatus = { code: f.code ?? 200 };
  if (f.as) e.impersonatedUser = { username: f.as };
  if (f.annotations) e.annotations = f.annotations;
  if (f.requestObject) e.requestObject = f.requestObject;
  if (f.responseObject) e.responseObject = f.responseObject;
  return e;
}

/** `user.extra` of a Pod-bound token, with its jti when given. */
export function podExtra(pod: string, uid: string, jti?: string, node?: string) {
  return {
    "authentication.kubernetes.io/pod-name": [pod],
    "authentication.kubernetes.io/pod-uid": [uid],
    ...(node ? { "authentication.kubernetes.io/node-name": [node] } : {}),
    ...(jti ? { "authentication.kubernetes.io/credential-id": [`JTI=${jti}`] } : {}),
  };
}
