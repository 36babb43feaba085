/**
 * The HTTP client for the Kubernetes API: one keep-alive TLS connection per run, kubectl's
 * authentication and impersonation headers, `Status` bodies turned into {@link ApiError}.
 *
 * It speaks HTTP itself rather than through the generated `@kubernetes/client-node` APIs: that
 * keeps the Kubernetes client library off the hot paths (it costs 150-500 ms to load), gives
 * access to `Warning` headers, and lets one request shape serve API versions the generated
 * client no longer has (SelfSubjectReview v1alpha1).
 *
 * Two transports, one behaviour. The common case (no proxy, verified TLS, no SNI override,
 * single-valued headers) goes through Deno's `fetch` with a `Deno.createHttpClient` holding the
 * CA and client certificate: it needs none of Deno's Node compatibility layer, which costs about
 * 30 ms to load in every process (issue #12). Everything else goes through `node:https` (loaded
 * only then), which can skip verification, set a server name, tunnel through a proxy agent and
 * send a header twice. See {@link fetchUsable}.
 */
import type { Agent } from "node:http";
import type { AgentOptions } from "node:https";
import type { Credential, RestConfig } from "../kubeconfig/types.ts";
import type { Runtime } from "../runtime.ts";
import { CliError } from "../errors.ts";
import { ApiError, connectionError } from "./errors.ts";
import { encodeBase64 } from "../encoding/base64.ts";

/** A decoded API response. */
export interface ApiResponse<T> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  /** Texts of the `Warning` headers, as kubectl prints them. */
  warnings: string[];
}

/** Options of one request. */
export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Overrides the client's timeout for this request. */
  timeoutMs?: number;
  /** Credential to use instead of the configured one (TokenReview of another token). */
  credential?: Credential;
  /** Content type of the body; default application/json (a PATCH names its patch type). */
  contentType?: string;
}

/** What the client needs besides the configuration. */
export interface ClientDeps {
  runtime: Runtime;
  /** Returns the credential to send; called once per client. */
  credential: () => Promise<Credential>;
  /** kubectl's `-v` level; 6 and up logs each request (never its credential). */
  verbosity?: number;
  userAgent?: string;
}

/** A small Kubernetes REST client bound to one resolved configuration. */
export class ApiClient {
  readonly config: RestConfig;
  #deps: ClientDeps;
  #transport?: Promise<Transport>;
  #credential?: Promise<Credential>;

  constructor(config: RestConfig, deps: ClientDeps) {
    this.config = config;
    this.#deps = deps;
  }

  /** The credential this client authenticates with (obtained once). */
  credential(): Promise<Credential> {
    this.#credential ??= this.#deps.credential();
    return this.#credential;
  }

  /** GET a path and return the decoded body. */
  async get<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return (await this.request<T>("GET", path, options)).body;
  }

  /** POST a body and return the decoded response. */
  post<T>(path: string, body: unknown, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    return this.request<T>("POST", path, { ...options, body });
  }

  /** Send one request; non-2xx answers throw {@link ApiError}. */
  async request<T>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    // Like client-go: a 429 or 5xx that carries Retry-After was not processed, so it is sent
    // again after the wait the server asks for (a few times, and never a long wait).
    for (let attempt = 1;; attempt++) {
      try {
        return await this.#send<T>(method, path, options);
      } catch (e) {
        const wait = e instanceof ApiError ? e.retryAfterSeconds : undefined;
        if (wait === undefined || wait > MAX_RETRY_WAIT_S || attempt > MAX_RETRIES) throw e;
        this.#log(
          `${method} ${path}: ${e instanceof ApiError ? e.code : ""}, retrying in ${wait}s`,
        );
        await this.#deps.runtime.sleep(wait * 1000);
      }
    }
  }

  async #send<T>(
    method: string,
    path: string,
    options: RequestOptions,
  ): Promise<ApiResponse<T>> {
    const url = new URL(joinPath(this.config.server, path));
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const credential = options.credential ?? await this.credential();
    const headers: Record<string, string | string[]> = {
      "Accept": "application/json, */*",
      "User-Agent": this.#deps.userAgent ?? "kubectl-token",
    };
    if (credential.token) headers["Authorization"] = `Bearer ${credential.token}`;
    else if (credential.username !== undefined) {
      const basic = encodeBase64(`${credential.username}:${credential.password ?? ""}`);
      headers["Authorization"] = `Basic ${basic}`;
    }
    const imp = this.config.impersonate;
    if (imp) {
      if (imp.user) headers["Impersonate-User"] = imp.user;
      if (imp.uid) headers["Impersonate-Uid"] = imp.uid;
      if (imp.groups.length > 0) headers["Impersonate-Group"] = imp.groups;
      for (const [key, values] of Object.entries(imp.extra)) {
        headers[`Impersonate-Extra-${encodeURIComponent(key)}`] = values;
      }
    }
    let payload: Uint8Array | undefined;
    if (options.body !== undefined) {
      payload = new TextEncoder().encode(JSON.stringify(options.body));
      headers["Content-Type"] = options.contentType ?? "application/json";
      headers["Content-Length"] = String(payload.length);
    }
    const transport = await this.#transportFor(credential, headers);
    const timeoutMs = options.timeoutMs ?? this.config.timeoutMs;
    const started = performance.now();
    let raw: RawResponse;
    try {
      raw = await transport.send(url, method, headers, payload, timeoutMs);
    } catch (e) {
      this.#log(`${method} ${url} in ${elapsed(started)} milliseconds: ${errorText(e)}`);
      throw connectionError(e, this.config, timeoutMs);
    }
    this.#log(
      `${method} ${url} ${raw.status} ${raw.statusText} in ${elapsed(started)} milliseconds`,
    );
    const text = new TextDecoder().decode(raw.body);
    let body: unknown = undefined;
    const type = String(raw.headers["content-type"] ?? "");
    if (text.length > 0 && type.includes("json")) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new ApiError(
          `Cannot read the response to ${method} ${url.pathname}: the body is not valid JSON` +
            ` (${raw.body.length} bytes, status ${raw.status})`,
          { code: raw.status },
        );
      }
    }
    if (raw.status < 200 || raw.status > 299) {
      throw ApiError.fromResponse(method, url.pathname, raw.status, raw.headers, body, text);
    }
    // Every API answer is a JSON object; anything else (an empty body, `null`, a login page of
    // a proxy) would otherwise fail later as "Cannot read properties of undefined".
    if (method !== "HEAD" && raw.status !== 204 && !isJsonObject(body)) {
      throw new ApiError(
        `Cannot read the response to ${method} ${url.pathname}: expected a JSON object, got ` +
          `${unexpectedBody(text, type, body)} (status ${raw.status})`,
        { code: raw.status, detail: text.slice(0, 200) },
      );
    }
    return { status: raw.status, headers: raw.headers, body: body as T, warnings: warnings(raw) };
  }

  /** Release the keep-alive connection so the process can exit. */
  close(): void {
    this.#transport?.then((t) => t.close()).catch(() => {});
  }

  #log(line: string, level = 6) {
    if ((this.#deps.verbosity ?? 0) >= level) {
      this.#deps.runtime.stderr.write(`I ${line}\n`);
    }
  }

  /**
   * The transport of this client, chosen at its first request (the only headers that can be
   * multi-valued are the impersonation ones, the same on every request of a client).
   */
  #transportFor(
    credential: Credential,
    headers: Record<string, string | string[]>,
  ): Promise<Transport> {
    if (!this.#transport) {
      const viaFetch = fetchUsable(this.config, headers, this.#deps.runtime);
      this.#log(`transport: ${viaFetch ? "fetch" : "node:https"}`, 7);
      this.#transport = viaFetch
        ? Promise.resolve(fetchTransport(this.config, credential))
        : nodeTransport(this.config, credential);
    }
    return this.#transport;
  }
}

/** One way of sending a request and reading its whole answer. */
interface Transport {
  send(
    url: URL,
    method: string,
    headers: Record<string, string | string[]>,
    payload: Uint8Array | undefined,
    timeoutMs: number | undefined,
  ): Promise<RawResponse>;
  close(): void;
}

/**
 * Whether Deno's `fetch` can send exactly what `node:https` would: not through a proxy (a
 * kubeconfig `proxy-url`, or any proxy variable in the environment, which Deno's fetch would
 * apply by its own rules), not without verification and not with another server name (a Deno
 * HTTP client has neither setting), no header sent twice (fetch joins the values into one line,
 * and the API server reads each `Impersonate-Group` line as one group), and not to a port the
 * Fetch standard blocks (fetch refuses it where kubectl connects).
 */
export function fetchUsable(
  config: RestConfig,
  headers: Record<string, string | string[]>,
  runtime: Pick<Runtime, "env">,
): boolean {
  if (config.proxyUrl || config.insecureSkipTlsVerify || config.tlsServerName) return false;
  for (const name of PROXY_VARIABLES) {
    if (runtime.env(name) || runtime.env(name.toLowerCase())) return false;
  }
  if (Object.values(headers).some((v) => Array.isArray(v) && v.length > 1)) return false;
  let url: URL;
  try {
    url = new URL(config.server);
  } catch {
    return false;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return false;
  return !(url.port !== "" && BAD_PORTS.has(Number(url.port)));
}

const PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"];

/** The Fetch standard's "bad ports" (https://fetch.spec.whatwg.org/#bad-port), which fetch refuses. */
const BAD_PORTS = new Set(
  (
    "0 1 7 9 11 13 15 17 19 20 21 22 23 25 37 42 43 53 69 77 79 87 95 101 102 103 104 109 110 " +
    "111 113 115 117 119 123 135 137 139 143 161 179 389 427 465 512 513 514 515 526 530 531 " +
    "532 540 548 554 556 563 587 601 636 989 990 993 995 1719 1720 1723 2049 3659 4045 4190 " +
    "5060 5061 6000 6566 6665 6666 6667 6668 6669 6679 6697 10080"
  ).split(" ").map(Number),
);

function fetchTransport(config: RestConfig, credential: Credential): Transport {
  const options: Deno.CreateHttpClientOptions = { http1: true, http2: false };
  if (config.caPem) options.caCerts = [config.caPem];
  const client = credential.certPem && credential.keyPem
    ? Deno.createHttpClient({
      ...options,
      cert: credential.certPem,
      key: credential.keyPem,
    })
    : Deno.createHttpClient(options);
  return {
    async send(url, method, headers, payload, timeoutMs) {
      // Only the timeout aborts, so an aborted signal means the request timed out.
      // AbortSignal.timeout rather than setTimeout: Deno's setTimeout and clearTimeout load
      // node:timers and the Node compatibility layer under it (about 12 ms) on first use.
      const signal = timeoutMs && timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined;
      const fail = (e: unknown, stage: "request" | "body") =>
        signal?.aborted ? timeoutError() : fetchError(e, stage);
      const sent = new Headers();
      for (const [name, value] of Object.entries(headers)) {
        sent.set(name, Array.isArray(value) ? value.join(", ") : value);
      }
      // Like node:https, which asks for no compression; fetch would otherwise ask for gzip
      // and brotli.
      if (!sent.has("Accept-Encoding")) sent.set("Accept-Encoding", "identity");
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: sent,
          body: payload as BodyInit | undefined,
          client,
          signal,
          redirect: "manual",
        });
      } catch (e) {
        throw fail(e, "request");
      }
      let body: Uint8Array;
      try {
        body = new Uint8Array(await res.arrayBuffer());
      } catch (e) {
        throw fail(e, "body");
      }
      const received: Record<string, string> = {};
      res.headers.forEach((value, name) => {
        received[name] = value;
      });
      return { status: res.status, statusText: res.statusText, headers: received, body };
    },
    close() {
      client.close();
    },
  };
}

function timeoutError(): Error {
  return Object.assign(new Error("request timed out"), { code: "ETIMEDOUT_KT" });
}

/**
 * A fetch failure as an error {@link connectionError} reads: fetch throws `TypeError("fetch
 * failed")` with what happened in its cause ("client error (Connect): tcp connect error:
 * Connection refused", "invalid peer certificate: UnknownIssuer", ...); a body that stops early
 * is the truncation node:https reports as ETRUNCATED.
 */
function fetchError(e: unknown, stage: "request" | "body"): Error {
  const cause = (e as { cause?: unknown })?.cause;
  const text = cause instanceof Error ? cause.message : e instanceof Error ? e.message : String(e);
  const error = new Error(text, { cause: e });
  if (stage === "body") return Object.assign(error, { code: "ETRUNCATED" });
  if (/connection refused/i.test(text)) return Object.assign(error, { code: "ECONNREFUSED" });
  if (/peer closed connection|connection (?:closed|reset)|broken pipe|unexpected eof/i.test(text)) {
    return Object.assign(error, { code: "ECONNRESET" });
  }
  return error;
}

async function nodeTransport(config: RestConfig, credential: Credential): Promise<Transport> {
  const [http, https] = await Promise.all([import("node:http"), import("node:https")]);
  const agent = await makeAgent(config, credential, http.default, https.default);
  return {
    send: (url, method, headers, payload, timeoutMs) =>
      send(http.default, https.default, url, method, headers, payload, agent, {
        servername: config.tlsServerName,
        proxyUrl: config.proxyUrl,
      }, timeoutMs),
    close: () => agent.destroy(),
  };
}

type NodeHttp = typeof import("node:http");
type NodeHttps = typeof import("node:https");

const MAX_RETRIES = 3;
const MAX_RETRY_WAIT_S = 10;

interface RawResponse {
  status: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

function joinPath(server: string, path: string): string {
  return server.replace(/\/+$/, "") + (path.startsWith("/") ? path : `/${path}`);
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function warnings(raw: RawResponse): string[] {
  const value = raw.headers["warning"];
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  // RFC 7234 warning: `299 - "text"`; kubectl prints only the text. Node hands header bytes over
  // as latin1; servers send UTF-8, as Go's net/http passes it through.
  return list.map(utf8FromLatin1).map((w) => {
    const m = /^\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"/.exec(w);
    return m ? m[1].replace(/\\(.)/g, "$1") : w;
  });
}

function isJsonObject(body: unknown): boolean {
  return typeof body === "object" && body !== null && !Array.isArray(body);
}

function unexpectedBody(text: string, type: string, body: unknown): string {
  if (text.trim() === "") return "an empty body";
  if (!type.includes("json")) return `"${type.split(";")[0].trim() || "no content type"}" content`;
  return body === null ? "null" : Array.isArray(body) ? "a list" : `a ${typeof body}`;
}

function utf8FromLatin1(text: string): string {
  if (!/[\u0080-\u00ff]/.test(text) || /[^\x20-\xff\t]/.test(text)) return text;
  return new TextDecoder().decode(Uint8Array.from(text, (ch) => ch.charCodeAt(0)));
}

async function makeAgent(
  config: RestConfig,
  credential: Credential,
  http: NodeHttp,
  https: NodeHttps,
): Promise<Agent> {
  // A plain HTTP server (kubectl proxy): no TLS settings apply, and resolve sends no credential
  // to it, as kubectl does not. Through a proxy, requests carry the absolute URL (see send).
  if (isPlainHttp(config.server)) {
    if (config.proxyUrl && !config.proxyUrl.toLowerCase().startsWith("http://")) {
      throw new CliError(
        `Cannot use proxy "${config.proxyUrl}" for the plain HTTP server "${config.server}": ` +
          `only an http:// proxy is supported there`,
      );
    }
    return new http.Agent({ keepAlive: true, maxSockets: 4 });
  }
  const options: AgentOptions = {
    keepAlive: true,
    maxSockets: 4,
    rejectUnauthorized: !config.insecureSkipTlsVerify,
  };
  if (config.caPem && !config.insecureSkipTlsVerify) options.ca = config.caPem;
  if (credential.certPem && credential.keyPem) {
    options.cert = credential.certPem;
    options.key = credential.keyPem;
  }
  if (config.tlsServerName) options.servername = config.tlsServerName;
  if (config.proxyUrl) return await proxyAgent(config, options);
  return new https.Agent(options);
}

/**
 * The agent through `config.proxyUrl`, as @kubernetes/client-node builds it (its
 * `KubeConfig.createAgent()`: socks* through socks-proxy-agent, else an HTTP CONNECT tunnel
 * through hpagent), from those two small packages directly: loading the whole client library for
 * it cost 280-540 ms. Loaded only when a proxy is set.
 */
async function proxyAgent(config: RestConfig, options: AgentOptions): Promise<Agent> {
  const proxyUrl = config.proxyUrl!;
  if (proxyUrl.startsWith("socks")) {
    const { SocksProxyAgent } = await import("socks-proxy-agent");
    return new SocksProxyAgent(proxyUrl, options) as unknown as Agent;
  }
  const { HttpsProxyAgent } = await import("hpagent");
  return new HttpsProxyAgent({ ...options, proxy: proxyUrl }) as unknown as Agent;
}

function isPlainHttp(server: string): boolean {
  return server.toLowerCase().startsWith("http://");
}

/** Where a request goes: the server, or for plain HTTP through a proxy, the proxy. */
function target(
  url: URL,
  proxyUrl: string | undefined,
  headers: Record<string, string | string[]>,
) {
  if (url.protocol === "http:" && proxyUrl) {
    const proxy = new URL(proxyUrl);
    const withAuth = { ...headers };
    if (proxy.username) {
      const user = decodeURIComponent(proxy.username);
      const basic = encodeBase64(`${user}:${decodeURIComponent(proxy.password)}`);
      withAuth["Proxy-Authorization"] = `Basic ${basic}`;
    }
    return { host: proxy.hostname, port: proxy.port || "80", path: url.href, headers: withAuth };
  }
  return {
    host: url.hostname,
    port: url.port || (url.protocol === "http:" ? "80" : "443"),
    path: url.pathname + url.search,
    headers,
  };
}

function send(
  http: NodeHttp,
  https: NodeHttps,
  url: URL,
  method: string,
  headers: Record<string, string | string[]>,
  payload: Uint8Array | undefined,
  agent: Agent,
  tls: { servername?: string; proxyUrl?: string },
  timeoutMs: number | undefined,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const plain = url.protocol === "http:";
    const to = target(url, tls.proxyUrl, headers);
    const req = (plain ? http : https).request(
      {
        method,
        protocol: url.protocol,
        hostname: to.host.replace(/^\[|\]$/g, ""),
        port: to.port,
        path: to.path,
        headers: to.headers,
        agent,
        ...(plain ? {} : { servername: tls.servername }),
      },
      (res) => {
        const chunks: Uint8Array[] = [];
        res.on("data", (c: Uint8Array) => chunks.push(c));
        res.on("error", (e) => {
          clearTimeout(timer);
          reject(e);
        });
        res.on("end", () => {
          clearTimeout(timer);
          if (!res.complete) {
            reject(Object.assign(new Error("the response ended early"), { code: "ETRUNCATED" }));
            return;
          }
          let length = 0;
          for (const c of chunks) length += c.length;
          const body = new Uint8Array(length);
          let offset = 0;
          for (const c of chunks) {
            body.set(c, offset);
            offset += c.length;
          }
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? "",
            headers: res.headers,
            body,
          });
        });
      },
    );
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    if (timeoutMs && timeoutMs > 0) {
      timer = setTimeout(() => {
        req.destroy(timeoutError());
      }, timeoutMs);
    }
    req.end(payload);
  });
}
