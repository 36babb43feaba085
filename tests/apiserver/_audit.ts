/**
 * Audit events as kube-apiserver writes them at Metadata level with the RequestReceived stage
 * omitted: one `audit.k8s.io/v1` Event per request (two for a watch: ResponseStarted when the
 * stream starts, ResponseComplete when it ends), to a JSON-lines file before the answer is sent
 * (the log backend's blocking mode) and in `EventList` batches to a webhook (the webhook
 * backend's batch mode: it never blocks or fails a request; what it cannot send is dropped).
 * Field names and order follow k8s.io/apiserver/pkg/apis/audit/v1 and audit/request.go; the
 * shape is that of a 1.32 server (responseStatus keeps message and details, credential-id
 * extras, issued-credential-id and legacy-token annotations). No body is ever recorded.
 */
import { Buffer } from "node:buffer";
import type { ClientRequest } from "node:http";
import { request } from "node:https";
import type { RequestInfo } from "./_request_info.ts";
import { isObject, type UserInfo } from "./_types.ts";

/** Where the server sends a copy of every event, as `--audit-webhook-config-file` names it. */
export interface AuditWebhookOptions {
  /** https://HOST:PORT/PATH of the receiver. */
  url: string;
  /** The CA that signed the receiver's serving certificate. */
  caPem: string;
  /** Like --audit-webhook-batch-max-wait; default 1000 ms. */
  batchMaxWaitMs?: number;
  /** Like --audit-webhook-batch-max-size; default 400. */
  batchMaxSize?: number;
}

/** What the server learnt about one request while answering it, for its audit event. */
export interface AuditFacts {
  /** The request attributes (parsed before authentication, as upstream does). */
  info?: RequestInfo;
  /** The authenticated user; undefined when authentication failed. */
  user?: UserInfo;
  /** The user impersonated, once impersonation was allowed. */
  impersonatedUser?: UserInfo;
  /** Audit annotations, in the order they were added. */
  annotations: Record<string, string>;
  /** Metadata of the decoded request object (create, update), as LogRequestObject reads it. */
  objectMeta?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

/** The transport-level part of a request's audit event. */
export interface AuditRequest {
  auditID: string;
  requestURI: string;
  sourceIPs: string[];
  userAgent?: string;
  received: Date;
}

/** An `audit.k8s.io/v1` Event object, fields in upstream order. */
export type AuditEventObject = Record<string, unknown>;

const MAX_USER_AGENT = 1024;
const BUFFER_SIZE = 10_000;
const MAX_IN_FLIGHT = 4;
const POST_TIMEOUT_MS = 5_000;
// How long close() waits for batches in flight before dropping them.
const CLOSE_GRACE_MS = 2_000;

/** JSON as Go's encoding/json writes it: <, > and & (and U+2028/9) escaped as \u00XX. */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** RFC 3339 with six fraction digits, as metav1.MicroTime marshals. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

function parseIp(text: string): string | undefined {
  const s = text.trim();
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    return parts.every((p) => p <= 255) ? parts.join(".") : undefined;
  }
  if (!s.includes(":") || !/^[0-9A-Fa-f:.]+$/.test(s)) return undefined;
  try {
    const host = new URL(`http://[${s}]/`).hostname.slice(1, -1);
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
    if (mapped) {
      const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
      return [hi >> 8, hi & 255, lo >> 8, lo & 255].join(".");
    }
    return host;
  } catch {
    return undefined;
  }
}

/**
 * The request's source IPs as utilnet.SourceIPs gives them: every valid X-Forwarded-For entry,
 * then X-Real-Ip unless already listed, then the remote address unless it is the last one.
 * Clients can forge the headers; only the remote address is certain.
 */
export function sourceIPs(
  forwardedFor: string | undefined,
  realIp: string | undefined,
  remoteAddress: string | undefined,
): string[] {
  const ips: string[] = [];
  if (forwardedFor) {
    for (const part of forwardedFor.split(",")) {
      const ip = parseIp(part);
      if (ip) ips.push(ip);
    }
  }
  const real = realIp ? parseIp(realIp) : undefined;
  if (real && !ips.includes(real)) ips.push(real);
  const remote = remoteAddress ? parseIp(remoteAddress) : undefined;
  if (remote && ips[ips.length - 1] !== remote) ips.push(remote);
  return ips;
}

/** A user-agent header, cut as upstream's maybeTruncateUserAgent does. */
export function auditUserAgent(ua: string | undefined): string | undefined {
  if (!ua) return undefined;
  return ua.length > MAX_USER_AGENT ? `${ua.slice(0, MAX_USER_AGENT)}...TRUNCATED` : ua;
}

function userObject(user: UserInfo | undefined): Record<string, unknown> {
  if (!user) return {};
  const out: Record<string, unknown> = { username: user.username };
  if (user.uid) out.uid = user.uid;
  if (user.groups.length) out.groups = [...user.groups];
  if (user.extra && Object.keys(user.extra).length) out.extra = sortedKeys(user.extra);
  return out;
}

/** A copy with keys in byte order: Go's encoding/json writes maps that way. */
function sortedKeys<T>(map: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of Object.keys(map).sort()) out[key] = structuredClone(map[key]);
  return out;
}

function objectRef(facts: AuditFacts): Record<string, string> | undefined {
  const info = facts.info;
  if (!info?.resourceRequest) return undefined;
  const meta = facts.objectMeta ?? {};
  const ref: Record<string, string> = {};
  const put = (key: string, value: string | undefined) => {
    if (value) ref[key] = value;
  };
  put("resource", info.resource);
  put("namespace", info.namespace || meta.namespace);
  put("name", info.name || meta.name);
  put("uid", meta.uid);
  put("apiGroup", info.apiGroup);
  put("apiVersion", info.apiVersion);
  put("resourceVersion", meta.resourceVersion);
  put("subresource", info.subresource);
  return ref;
}

/**
 * The responseStatus of an answer: the code, plus status, message, reason and details when the
 * body is a metav1.Status (LogResponseObject copies those bounded fields).
 */
export function responseStatus(code: number, body?: unknown): Record<string, unknown> {
  const status: Record<string, unknown> = { metadata: {} };
  if (isObject(body) && body.kind === "Status") {
    for (const key of ["status", "message", "reason", "details"]) {
      const v = body[key];
      if (v !== undefined && v !== "" && !(isObject(v) && Object.keys(v).length === 0)) {
        status[key] = v;
      }
    }
  }
  status.code = code;
  return status;
}

/** Build one event. */
export function auditEvent(
  req: AuditRequest,
  facts: AuditFacts,
  stage: "ResponseStarted" | "ResponseComplete",
  status: Record<string, unknown>,
  at: Date,
): AuditEventObject {
  const event: AuditEventObject = {
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    level: "Metadata",
    auditID: req.auditID,
    stage,
    requestURI: req.requestURI,
    verb: facts.info?.verb ?? "",
    user: userObject(facts.user),
  };
  if (facts.impersonatedUser) event.impersonatedUser = userObject(facts.impersonatedUser);
  event.sourceIPs = req.sourceIPs;
  const ua = auditUserAgent(req.userAgent);
  if (ua) event.userAgent = ua;
  const ref = objectRef(facts);
  if (ref) event.objectRef = ref;
  event.responseStatus = status;
  event.requestReceivedTimestamp = microTime(req.received);
  event.stageTimestamp = microTime(at);
  if (Object.keys(facts.annotations).length) event.annotations = sortedKeys(facts.annotations);
  return event;
}

/** Sends EventList batches to a webhook, dropping what it cannot send, like the batch backend. */
class WebhookBatcher {
  readonly #o: Required<AuditWebhookOptions>;
  #buffer: AuditEventObject[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #inFlight = new Map<Promise<void>, ClientRequest>();
  #dropped = 0;

  constructor(options: AuditWebhookOptions) {
    this.#o = { batchMaxWaitMs: 1000, batchMaxSize: 400, ...options };
  }

  get dropped(): number {
    return this.#dropped;
  }

  add(event: AuditEventObject): void {
    if (this.#buffer.length >= BUFFER_SIZE) {
      // "audit buffer queue blocked": the event is lost, the request goes on.
      this.#dropped++;
      return;
    }
    this.#buffer.push(event);
    if (this.#buffer.length >= this.#o.batchMaxSize) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.#o.batchMaxWaitMs);
  }

  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#buffer.length) {
      const items = this.#buffer.splice(0, this.#o.batchMaxSize);
      if (this.#inFlight.size >= MAX_IN_FLIGHT) {
        this.#dropped += items.length;
        continue;
      }
      const { done, req } = this.#post(items);
      const sent = done.catch(() => {
        this.#dropped += items.length;
      });
      this.#inFlight.set(sent, req);
      sent.finally(() => this.#inFlight.delete(sent));
    }
  }

  #post(events: AuditEventObject[]): { done: Promise<void>; req: ClientRequest } {
    // As the real webhook sends them (checked on 1.20): the list has kind and apiVersion, its
    // items do not; the REST client adds ?timeout=30s.
    const items = events.map(({ kind: _k, apiVersion: _v, ...rest }) => rest);
    const body = Buffer.from(
      goJson({ kind: "EventList", apiVersion: "audit.k8s.io/v1", metadata: {}, items }),
    );
    const url = new URL(this.#o.url);
    url.searchParams.set("timeout", "30s");
    let req!: ClientRequest;
    const done = new Promise<void>((resolve, reject) => {
      req = request(url, {
        method: "POST",
        ca: this.#o.caPem,
        headers: {
          "Content-Type": "application/json",
          "Content-Length": String(body.length),
          "User-Agent": "Go-http-client/1.1",
        },
        timeout: POST_TIMEOUT_MS,
      }, (res) => {
        res.resume();
        res.on("end", () => {
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve();
          else reject(new Error(`webhook answered ${code}`));
        });
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error("webhook timed out")));
      req.on("error", reject);
      req.end(body);
    });
    return { done, req };
  }

  /** Send what is buffered; wait a little for batches in flight, then drop the rest. */
  async close(): Promise<void> {
    this.flush();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, CLOSE_GRACE_MS));
    await Promise.race([Promise.allSettled([...this.#inFlight.keys()]), grace]);
    clearTimeout(timer);
    for (const req of this.#inFlight.values()) req.destroy(new Error("server closed"));
    await Promise.allSettled([...this.#inFlight.keys()]);
  }
}

/** Writes events to the audit log file and the webhook. */
export class AuditSink {
  readonly #file: Deno.FsFile | undefined;
  readonly #webhook: WebhookBatcher | undefined;
  readonly #encoder = new TextEncoder();

  constructor(options: { logPath?: string; webhook?: AuditWebhookOptions }) {
    this.#file = options.logPath
      ? Deno.openSync(options.logPath, { append: true, create: true, mode: 0o600 })
      : undefined;
    this.#webhook = options.webhook ? new WebhookBatcher(options.webhook) : undefined;
  }

  /** Whether any backend is configured. */
  get enabled(): boolean {
    return this.#file !== undefined || this.#webhook !== undefined;
  }

  /** Events the webhook backend could not deliver. */
  get webhookDropped(): number {
    return this.#webhook?.dropped ?? 0;
  }

  /** Record one event: appended to the log now (blocking), queued for the webhook. */
  process(event: AuditEventObject): void {
    if (this.#file) {
      const bytes = this.#encoder.encode(`${goJson(event)}\n`);
      for (let off = 0; off < bytes.length;) off += this.#file.writeSync(bytes.subarray(off));
    }
    this.#webhook?.add(event);
  }

  /** Flush the webhook's last batch and close the log. */
  async close(): Promise<void> {
    await this.#webhook?.close();
    this.#file?.close();
  }
}
