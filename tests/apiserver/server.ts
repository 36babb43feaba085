/**
 * A local Kubernetes API server for tests that speaks the real protocol over TLS with client
 * certificates: discovery, core CRUD, TokenRequest, the review APIs, RBAC and the controllers
 * that token tests rely on. kubectl 1.32 is the referee for what it sends.
 */
import { Buffer } from "node:buffer";
import { createServer, type Server } from "node:https";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { join } from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  auditEvent,
  type AuditFacts,
  type AuditRequest,
  AuditSink,
  type AuditWebhookOptions,
  responseStatus,
  sourceIPs,
} from "./_audit.ts";
import { Authenticator } from "./_auth.ts";
import { impersonationHeaders } from "./_impersonation.ts";
import { Controllers } from "./_controllers.ts";
import { SigningKey } from "./_jwt.ts";
import { renderKubeconfig } from "./_kubeconfig.ts";
import { CertificateAuthority, type ClientKeyType } from "./_pki.ts";
import { defaultRbacObjects, RbacAuthorizer } from "./_rbac.ts";
import { parseRequestInfo } from "./_request_info.ts";
import { ApiVersions } from "./_resources.ts";
import { type Reply, Router, VERSION_INFO } from "./_routes.ts";
import { ObjectStore } from "./_store.ts";
import { ApiError, statusForCode } from "./_status.ts";
import type { KubeObject } from "./_types.ts";
import { applyDefaults, generateName } from "./_validation.ts";

export type { KubeObject, ObjectMeta, UserInfo } from "./_types.ts";
export type { AuditWebhookOptions } from "./_audit.ts";

/** How to start the server; every field is optional. */
export interface ApiServerOptions {
  /**
   * Group/versions switched off to play an older server, e.g. ["authentication.k8s.io/v1"]; an
   * entry "group/version/resource" switches off one resource, e.g.
   * "authentication.k8s.io/v1/selfsubjectreviews" keeps TokenReview v1 as servers before 1.28 do.
   */
  disabledVersions?: string[];
  /** Like --service-account-max-token-expiration: longer requests are shortened with a Warning. */
  maxTokenExpirationSeconds?: number;
  /** Service-account token issuer; default "https://kubernetes.default.svc.cluster.local". */
  issuer?: string;
  /** Like --api-audiences; default [issuer]. */
  apiAudiences?: string[];
  /** Clock used for signing and validating; default the real clock. */
  now?: () => Date;
  /** Delay before the token controller fills a new service-account-token Secret; default 0. */
  tokenControllerDelayMs?: number;
  /** TCP port on 127.0.0.1; default 0, a free port. */
  port?: number;
  /**
   * Play Kubernetes v1.23 (the last release whose token controller creates a legacy token
   * Secret for every service account): /version says v1.23.17 and the controller keeps one
   * token Secret listed in each ServiceAccount's `secrets`, as before 1.24.
   */
  legacyTokenAutoCreation?: boolean;
  /**
   * Like --audit-log-path with a Metadata-level policy omitting RequestReceived: one
   * `audit.k8s.io/v1` Event per line, appended before the answer is sent (blocking mode).
   */
  auditLog?: string;
  /**
   * Like --audit-webhook-config-file in batch mode: EventList batches POSTed at most ~1 s apart
   * and at close; a receiver that is absent or failing never delays a request, its batches are
   * dropped.
   */
  auditWebhook?: AuditWebhookOptions;
}

/** One request as the server saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  userAgent?: string;
  /** The authenticated user name; undefined when authentication failed. */
  user?: string;
}

/** A fault to inject into the next matching requests. */
export interface Fault {
  /** Requests whose path matches; all requests when absent. */
  path?: RegExp;
  /**
   * delay: wait then answer; reset: drop the connection; truncate: half a body; status: a Status;
   * answer: reply with what `answer` returns (a server, proxy or webhook that misbehaves); warn:
   * answer normally plus a `Warning` header with the text `warning` returns.
   */
  kind: "delay" | "reset" | "truncate" | "status" | "answer" | "warn";
  ms?: number;
  code?: number;
  retryAfterSeconds?: number;
  /** For "answer": the reply to send, from what the request carried. */
  answer?: (req: FaultRequest) => FaultAnswer;
  /** For "warn": the text of the Warning header (quotes and backslashes are escaped). */
  warning?: (req: FaultRequest) => string;
  /** How many requests it applies to; default 1. */
  times?: number;
}

/** What an "answer" or "warn" fault sees of the request. */
export interface FaultRequest {
  method: string;
  path: string;
  authorization?: string;
}

/** The reply of an "answer" fault. */
export interface FaultAnswer {
  code: number;
  /** Default "application/json". */
  contentType?: string;
  headers?: Record<string, string>;
  body: string | Uint8Array;
}

/** Direct access to stored objects, for seeding and asserting. */
export interface ApiServerStore {
  /** Store an object (defaults applied), filling uid, resourceVersion and creationTimestamp. */
  create(obj: KubeObject): KubeObject;
  /** A copy of one object, or undefined. */
  get(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): KubeObject | undefined;
  /** Copies of all objects of a kind, optionally in one namespace. */
  list(apiVersion: string, kind: string, namespace?: string): KubeObject[];
  /** Delete an object (controllers react as to an API delete); false when it did not exist. */
  delete(apiVersion: string, kind: string, namespace: string | undefined, name: string): boolean;
  /** Replace an object, bumping its resourceVersion. */
  update(obj: KubeObject): KubeObject;
}

/** A running server. */
export interface ApiServer {
  /** https://127.0.0.1:PORT */
  url: string;
  /** The cluster CA certificate. */
  caPem: string;
  /** Temporary folder with ca.crt, admin.crt, admin.key and kubeconfig; removed by close(). */
  dir: string;
  /** Admin kubeconfig: cluster "local", user "admin" (system:masters), context "local", namespace default. */
  kubeconfigPath: string;
  /**
   * Issue a client certificate from the cluster CA: CN is the user, each O a group; its key is
   * EC P-256 (SEC1 PEM) unless `keyType` says otherwise (RSA keys come as PKCS#1 PEM).
   */
  issueClientCert(
    user: string,
    groups?: string[],
    opts?: { notAfter?: Date; keyType?: ClientKeyType },
  ): Promise<{ certPem: string; keyPem: string }>;
  /** Add an entry to the static token file. */
  addStaticToken(token: string, user: { username: string; uid?: string; groups?: string[] }): void;
  /** Write `<dir>/<name>.kubeconfig` for a token or client certificate; returns its path. */
  writeKubeconfig(
    name: string,
    user: { token?: string; certPem?: string; keyPem?: string },
    opts?: { namespace?: string },
  ): Promise<string>;
  /** The stored objects. */
  store: ApiServerStore;
  /** Replace the switched-off group/versions. */
  setDisabledVersions(versions: string[]): void;
  /** Inject a fault on the next `times` (default 1) matching requests. */
  injectFault(fault: Fault): void;
  /** Drop the faults not used up yet. */
  clearFaults(): void;
  /** Every request seen, oldest first. */
  requests: RecordedRequest[];
  /** Stop serving, end open connections and watches, remove the temporary folder. */
  close(): Promise<void>;
}

/** Default service-account issuer, as kubeadm configures it. */
export const DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local";
const MAX_BODY_BYTES = 3 * 1024 * 1024;
const HOUR_MS = 3_600_000;
const YEAR_MS = 365 * 24 * HOUR_MS;

function readBody(req: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    req.on("data", (chunk: Uint8Array) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError(413, "RequestEntityTooLarge", "limit is 3145728"));
      } else resolve(new Uint8Array(Buffer.concat(chunks)));
    });
    req.on("error", reject);
  });
}

/** Start a server on 127.0.0.1 with a fresh CA, signing key and default cluster state. */
export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServer> {
  const now = options.now ?? (() => new Date());
  const issuer = options.issuer ?? DEFAULT_ISSUER;
  const apiAudiences = options.apiAudiences ?? [issuer];
  const key = await SigningKey.generate();

  // Serving and admin certificates must satisfy kubectl's real clock and the server's clock.
  const real = Date.now();
  const clock = now().getTime();
  const from = new Date(Math.min(real, clock) - HOUR_MS);
  const until = new Date(Math.max(real, clock) + YEAR_MS);
  const ca = new CertificateAuthority(from, until);
  const serving = ca.issueServing(from, until);
  const admin = ca.issueClient("kubernetes-admin", ["system:masters"], from, until);

  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-apiserver-" });
  const caFile = join(dir, "ca.crt");
  await Deno.writeTextFile(caFile, ca.certPem);
  await Deno.writeTextFile(join(dir, "admin.crt"), admin.certPem);
  await Deno.writeTextFile(join(dir, "admin.key"), admin.keyPem, { mode: 0o600 });

  const versions = new ApiVersions();
  versions.setDisabled(options.disabledVersions ?? []);
  const store = new ObjectStore(now);
  const controllers = new Controllers({
    store,
    key,
    caPem: ca.certPem,
    tokenControllerDelayMs: options.tokenControllerDelayMs ?? 0,
    legacyTokenAutoCreation: options.legacyTokenAutoCreation,
  });
  const seed = (obj: KubeObject) => {
    const info = versions.forKind(obj.apiVersion, obj.kind);
    if (!info) {
      throw new Error(`Cannot store object of kind "${obj.apiVersion}/${obj.kind}": not served`);
    }
    const copy = structuredClone(obj);
    copy.metadata ??= {};
    if (info.namespaced) copy.metadata.namespace ??= "default";
    if (!copy.metadata.name && copy.metadata.generateName) {
      copy.metadata.name = generateName(copy.metadata.generateName);
    }
    applyDefaults(info, copy);
    return store.create(info, copy);
  };
  for (const obj of defaultRbacObjects()) seed(obj);
  for (const name of ["default", "kube-node-lease", "kube-public", "kube-system"]) {
    seed({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  }

  const authn = new Authenticator({
    store,
    key,
    ca: ca.cert,
    issuer,
    apiAudiences,
    now,
    // A 1.23 server does not name the Secret of a legacy token in its audit events yet.
    legacySecretAnnotations: !options.legacyTokenAutoCreation,
  });
  const rbac = new RbacAuthorizer(store);
  let address = "127.0.0.1:0";
  const router = new Router({
    store,
    versions,
    authn,
    rbac,
    tokens: {
      store,
      key,
      issuer,
      apiAudiences,
      maxTokenExpirationSeconds: options.maxTokenExpirationSeconds,
      now,
    },
    issuer,
    serverAddress: () => address,
    now,
    version: options.legacyTokenAutoCreation
      ? { ...VERSION_INFO, minor: "23", gitVersion: "v1.23.17" }
      : undefined,
  });

  const audit = new AuditSink({ logPath: options.auditLog, webhook: options.auditWebhook });
  const requests: RecordedRequest[] = [];
  const faults: (Fault & { remaining: number })[] = [];
  const sockets = new Set<Socket>();
  const watches = new Set<() => void>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let closing = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  /** Records the audit event of one answer at the given stage. */
  type Stage = (
    stage: "ResponseStarted" | "ResponseComplete",
    code: number,
    body?: unknown,
  ) => void;
  const write = (
    res: ServerResponse,
    reply: Reply,
    head: boolean,
    truncate: boolean,
    auditID: string = crypto.randomUUID(),
    stage?: Stage,
  ) => {
    if ("watch" in reply) {
      res.writeHead(200, {
        "Audit-Id": auditID,
        "Content-Type": "application/json",
        "Cache-Control": "no-cache, private",
      });
      // A watch is long-running: one event when the stream starts, one when it ends.
      stage?.("ResponseStarted", 200);
      let completed = false;
      const complete = () => {
        if (completed) return;
        completed = true;
        stage?.("ResponseComplete", 200);
      };
      let ended = false;
      const stop = reply.watch({
        write: (chunk) => {
          if (!ended) res.write(chunk);
        },
        end: () => {
          if (ended) return;
          ended = true;
          watches.delete(stop);
          complete();
          res.end();
        },
        onClose: (listener) => res.on("close", listener),
      });
      watches.add(stop);
      res.on("close", () => {
        watches.delete(stop);
        complete();
      });
      return;
    }
    const isText = "text" in reply;
    const payload = Buffer.from(isText ? reply.text : JSON.stringify(reply.json));
    stage?.("ResponseComplete", reply.code, isText ? undefined : reply.json);
    const headers: Record<string, string> = {
      "Audit-Id": auditID,
      "Cache-Control": "no-cache, private",
      "Content-Type": isText ? "text/plain; charset=utf-8" : "application/json",
      "X-Content-Type-Options": "nosniff",
      ...(!isText ? reply.headers : {}),
      "Content-Length": String(payload.length),
    };
    res.writeHead(reply.code, headers);
    if (head) return res.end();
    if (truncate) {
      // Promise the whole body, send half, then drop the connection.
      res.write(payload.subarray(0, Math.floor(payload.length / 2)), () => res.socket?.destroy());
      return;
    }
    res.end(payload);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const contentType = req.headers["content-type"];
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(", ") : v;
    };
    const auditReq: AuditRequest = {
      // Upstream keeps a client's Audit-ID, else makes one.
      auditID: header("audit-id") || crypto.randomUUID(),
      requestURI: req.url ?? "/",
      sourceIPs: sourceIPs(
        header("x-forwarded-for"),
        header("x-real-ip"),
        req.socket.remoteAddress,
      ),
      userAgent: header("user-agent"),
      received: now(),
    };
    const stageOf = (facts: AuditFacts): Stage | undefined =>
      audit.enabled
        ? (stage, code, body) =>
          audit.process(auditEvent(auditReq, facts, stage, responseStatus(code, body), now()))
        : undefined;
    const unauthenticated = (): AuditFacts => ({
      info: parseRequestInfo(req.method ?? "GET", url.pathname, url.searchParams),
      annotations: {},
    });
    const record: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(contentType ? { contentType } : {}),
      ...(req.headers["user-agent"] ? { userAgent: req.headers["user-agent"] } : {}),
    };
    requests.push(record);
    const fault = faults.find((f) => f.remaining > 0 && (!f.path || f.path.test(url.pathname)));
    if (fault) fault.remaining--;
    if (fault?.kind === "reset") {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "delay") await sleep(fault.ms ?? 1000);
    if (closing) {
      req.socket.destroy();
      return;
    }
    let body: Uint8Array;
    try {
      body = await readBody(req);
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(400, "BadRequest", String(e));
      write(
        res,
        { code: err.code, json: err.toStatus() },
        false,
        false,
        auditReq.auditID,
        stageOf(unauthenticated()),
      );
      return;
    }
    if (fault?.kind === "status") {
      const err = statusForCode(fault.code ?? 500, fault.retryAfterSeconds);
      const headers: Record<string, string> = fault.retryAfterSeconds
        ? { "Retry-After": String(fault.retryAfterSeconds) }
        : {};
      write(
        res,
        { code: err.code, json: err.toStatus(), headers },
        false,
        false,
        auditReq.auditID,
        stageOf(unauthenticated()),
      );
      return;
    }
    const seen: FaultRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    };
    if (fault?.kind === "answer" && fault.answer) {
      const a = fault.answer(seen);
      const payload = typeof a.body === "string" ? Buffer.from(a.body) : Buffer.from(a.body);
      stageOf(unauthenticated())?.("ResponseComplete", a.code);
      res.writeHead(a.code, {
        "Content-Type": a.contentType ?? "application/json",
        ...a.headers,
        "Content-Length": String(payload.length),
      });
      res.end(payload);
      return;
    }
    if (fault?.kind === "warn" && fault.warning) {
      // Node refuses C0 controls in a header value; C1 ones (\x9b) pass.
      const text = fault.warning(seen).replace(/["\\]/g, "\\$&");
      res.setHeader("Warning", `299 - "${text}"`);
    }
    const peer = (req.socket as TLSSocket).getPeerCertificate?.();
    const { reply, user, audit: facts } = router.handle({
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      accept: req.headers.accept,
      contentType,
      authorization: req.headers.authorization,
      impersonate: impersonationHeaders(req.rawHeaders),
      peerCertificate: peer?.raw ? new Uint8Array(peer.raw) : undefined,
      body,
    });
    if (user) record.user = user.username;
    const stage = stageOf(facts);
    write(
      res,
      reply,
      req.method === "HEAD",
      fault?.kind === "truncate",
      auditReq.auditID,
      // A failed authentication is recorded once, at ResponseStarted, with an empty user
      // (WithFailedAuthenticationAudit).
      user || !stage ? stage : (_stage, code, body) => stage("ResponseStarted", code, body),
    );
  };

  const server: Server = createServer({
    key: serving.keyPem,
    cert: serving.certPem,
    ca: ca.certPem,
    // Like Go's tls.RequestClientCert: ask for a certificate, let authentication judge it.
    requestCert: true,
    rejectUnauthorized: false,
  }, (req, res) => {
    handle(req, res).catch((e) => {
      const err = new ApiError(
        500,
        "InternalError",
        `Internal error occurred: ${e instanceof Error ? e.message : e}`,
      );
      if (!res.headersSent) write(res, { code: 500, json: err.toStatus() }, false, false);
      else res.destroy();
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
    });
  } catch (e) {
    controllers.stop();
    await audit.close();
    throw e;
  }
  const port = (server.address() as { port: number }).port;
  address = `127.0.0.1:${port}`;
  const url = `https://${address}`;

  const kubeconfigPath = join(dir, "kubeconfig");
  await Deno.writeTextFile(
    kubeconfigPath,
    renderKubeconfig(url, caFile, { user: "admin", context: "local" }, {
      certFile: join(dir, "admin.crt"),
      keyFile: join(dir, "admin.key"),
    }),
    { mode: 0o600 },
  );

  const infoFor = (apiVersion: string, kind: string) => {
    const info = versions.forKind(apiVersion, kind);
    if (!info) throw new Error(`Cannot find kind "${apiVersion}/${kind}": not served`);
    return info;
  };

  return {
    url,
    caPem: ca.certPem,
    dir,
    kubeconfigPath,
    issueClientCert(user, groups = [], opts = {}) {
      const clockNow = now().getTime();
      const notAfter = opts.notAfter ?? new Date(clockNow + YEAR_MS);
      const notBefore = new Date(Math.min(clockNow, notAfter.getTime()) - HOUR_MS);
      return Promise.resolve(ca.issueClient(user, groups, notBefore, notAfter, opts.keyType));
    },
    addStaticToken: (token, user) => authn.addStaticToken(token, user),
    async writeKubeconfig(name, user, opts = {}) {
      if (!/^[A-Za-z0-9._-]+$/.test(name)) {
        throw new Error(`Cannot write kubeconfig "${name}": use letters, digits, '.', '_' or '-'`);
      }
      const path = join(dir, `${name}.kubeconfig`);
      await Deno.writeTextFile(
        path,
        renderKubeconfig(
          url,
          caFile,
          { user: name, context: name },
          user,
          opts.namespace ?? "default",
        ),
        { mode: 0o600 },
      );
      return path;
    },
    store: {
      create: seed,
      get: (apiVersion, kind, namespace, name) =>
        store.get(infoFor(apiVersion, kind), namespace, name),
      list: (apiVersion, kind, namespace) => store.list(infoFor(apiVersion, kind), namespace),
      delete: (apiVersion, kind, namespace, name) =>
        store.remove(infoFor(apiVersion, kind), namespace, name) !== undefined,
      update: (obj) => store.update(infoFor(obj.apiVersion, obj.kind), obj),
    },
    setDisabledVersions: (list) => versions.setDisabled(list),
    injectFault: (fault) => faults.push({ ...fault, remaining: fault.times ?? 1 }),
    clearFaults: () => {
      faults.length = 0;
    },
    requests,
    async close() {
      if (closing) return;
      closing = true;
      controllers.stop();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const stop of [...watches]) stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await audit.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
