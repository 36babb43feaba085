/**
 * Request handling behind the transport, in kube-apiserver's filter order: authenticate,
 * parse the request info, authorize, then route to discovery, health, OIDC, the review APIs,
 * TokenRequest or the CRUD endpoints.
 */
import { parse as parseYaml } from "yaml";
import type { AuditFacts } from "./_audit.ts";
import type { Authenticator } from "./_auth.ts";
import { impersonate, type ImpersonationHeaders } from "./_impersonation.ts";
import { checkScope, CoreApi, objectFilter } from "./_core_api.ts";
import { accepts, jwks, openidConfiguration } from "./_oidc.ts";
import { openApiV3 } from "./_openapi.ts";
import { decodeProtobufBody, ProtobufError } from "./_protobuf.ts";
import { type Attributes, forbiddenMessage, type RbacAuthorizer } from "./_rbac.ts";
import { parseRequestInfo, type RequestInfo } from "./_request_info.ts";
import type { ApiVersions } from "./_resources.ts";
import type { ObjectStore } from "./_store.ts";
import {
  ApiError,
  badRequest,
  forbidden,
  methodNotAllowed,
  pathNotFound,
  unauthorized,
  unsupportedMediaType,
} from "./_status.ts";
import { createToken, type TokenIssuerOptions } from "./_token_request.ts";
import {
  selfSubjectAccessReview,
  selfSubjectReview,
  selfSubjectRulesReview,
  tokenReview,
} from "./_reviews.ts";
import { isObject, type JsonObject, str, type UserInfo } from "./_types.ts";
import { startWatch, type WatchSink } from "./_watch.ts";

/** One request as the transport hands it over. */
export interface IncomingRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  accept?: string;
  contentType?: string;
  authorization?: string;
  /** The Impersonate-* headers, when any was sent. */
  impersonate?: ImpersonationHeaders;
  peerCertificate?: Uint8Array;
  body: Uint8Array;
}

/** What to answer: a JSON or text body, or a watch stream. */
export type Reply =
  | { code: number; json: unknown; headers?: Record<string, string> }
  | { code: number; text: string }
  | { watch: (sink: WatchSink) => () => void };

/** 406, as go-restful answers a route whose one media type the Accept header excludes. */
function notAcceptable(): Reply {
  return {
    code: 406,
    json: new ApiError(406, "NotAcceptable", "406: Not Acceptable", {}).toStatus(),
  };
}

/** Audit annotation on a TokenRequest's event: the minted token's credential ID (1.30+). */
export const ISSUED_CREDENTIAL_ID_ANNOTATION = "authentication.kubernetes.io/issued-credential-id";

/** The server-wide pieces the router uses. */
export interface RouterOptions {
  store: ObjectStore;
  versions: ApiVersions;
  authn: Authenticator;
  rbac: RbacAuthorizer;
  tokens: TokenIssuerOptions;
  issuer: string;
  serverAddress: () => string;
  now: () => Date;
  /** The /version document; default {@link VERSION_INFO}. */
  version?: typeof VERSION_INFO;
}

/** The /version document of a v1.32.0 kube-apiserver. */
export const VERSION_INFO = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0",
  gitCommit: "70d3cc986aa8221cd1dfb1121852688902d3bf53",
  gitTreeState: "clean",
  buildDate: "2024-12-11T17:59:15Z",
  goVersion: "go1.23.3",
  compiler: "gc",
  platform: "linux/amd64",
};

const JSON_TYPE = "application/json";
const PROTOBUF_TYPE = "application/vnd.kubernetes.protobuf";

function warningHeader(warnings: string[]): Record<string, string> {
  // RFC 7234 warn-code 299, agent "-", quoted text, as apiserver's warning recorder writes it.
  return warnings.length
    ? { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(", ") }
    : {};
}

/** Decides and answers requests. */
export class Router {
  readonly #o: RouterOptions;
  readonly #core: CoreApi;

  constructor(options: RouterOptions) {
    this.#o = options;
    this.#core = new CoreApi(options.store, options.now);
  }

  /**
   * Handle a request; returns the reply, the user it ran as (none when authentication failed)
   * and what its audit event records.
   */
  handle(req: IncomingRequest): { reply: Reply; user?: UserInfo; audit: AuditFacts } {
    // Request info comes first upstream, so even a 401's event names verb and object.
    const audit: AuditFacts = {
      info: parseRequestInfo(req.method, req.path, req.query),
      annotations: {},
    };
    const auth = this.#o.authn.authenticateRequest(req.peerCertificate, req.authorization);
    Object.assign(audit.annotations, auth.annotations);
    if ("error" in auth) return { reply: this.#error(unauthorized()), audit };
    let user = auth.user;
    audit.user = user;
    try {
      if (req.impersonate) {
        user = impersonate(user, req.impersonate, this.#o.rbac);
        audit.impersonatedUser = user;
      }
      return { reply: this.#authorized(req, user, audit), user, audit };
    } catch (e) {
      return { reply: this.#error(e), user, audit };
    }
  }

  #error(e: unknown): Reply {
    const err = e instanceof ApiError ? e : new ApiError(
      500,
      "InternalError",
      `Internal error occurred: ${e instanceof Error ? e.message : String(e)}`,
    );
    const headers: Record<string, string> = {};
    if (err.details?.retryAfterSeconds) {
      headers["Retry-After"] = String(err.details.retryAfterSeconds);
    }
    return { code: err.code, json: err.toStatus(), headers };
  }

  #authorized(req: IncomingRequest, user: UserInfo, audit: AuditFacts): Reply {
    const info = audit.info ?? parseRequestInfo(req.method, req.path, req.query);
    const attrs: Attributes = { user, ...info };
    const decision = this.#o.rbac.authorize(attrs);
    audit.annotations["authorization.k8s.io/decision"] = decision.allowed ? "allow" : "forbid";
    audit.annotations["authorization.k8s.io/reason"] = decision.reason;
    if (!decision.allowed) {
      throw forbidden(
        info.resourceRequest ? info.apiGroup : "",
        info.resourceRequest ? info.resource : "",
        info.resourceRequest ? info.name : "",
        forbiddenMessage(attrs),
      );
    }
    return info.resourceRequest
      ? this.#resource(req, info, user, audit)
      : this.#nonResource(req, info);
  }

  #nonResource(req: IncomingRequest, info: RequestInfo): Reply {
    if (req.method !== "GET" && req.method !== "HEAD") throw methodNotAllowed();
    const path = req.path.replace(/\/+$/, "") || "/";
    const v = this.#o.versions;
    const found = (doc: unknown) => {
      if (!doc) throw pathNotFound();
      return { code: 200, json: doc };
    };
    switch (path) {
      case "/api":
        return found(v.coreVersions(this.#o.serverAddress()));
      case "/apis":
        return found(v.groupList());
      case "/version":
        return found(this.#o.version ?? VERSION_INFO);
      case "/healthz":
      case "/livez":
      case "/readyz":
        return { code: 200, text: "ok" };
      case "/.well-known/openid-configuration":
        if (!accepts(req.accept, "application/json")) return notAcceptable();
        return {
          code: 200,
          json: openidConfiguration(this.#o.issuer, this.#o.serverAddress()),
          headers: { "Cache-Control": "public, max-age=3600" },
        };
      case "/openid/v1/jwks":
        if (!accepts(req.accept, "application/jwk-set+json")) return notAcceptable();
        return {
          code: 200,
          json: jwks(this.#o.tokens.key),
          headers: {
            "Content-Type": "application/jwk-set+json",
            "Cache-Control": "public, max-age=3600",
          },
        };
    }
    if (path === "/openapi/v3" || path.startsWith("/openapi/v3/")) {
      return found(openApiV3(v, path.slice("/openapi/v3".length).replace(/^\//, "")));
    }
    if (info.apiPrefix === "api" && info.apiVersion) {
      return found(v.resourceList("", info.apiVersion));
    }
    if (info.apiPrefix === "apis" && info.apiGroup && !info.apiVersion) {
      return found(v.group(info.apiGroup));
    }
    if (info.apiPrefix === "apis" && info.apiVersion) {
      return found(v.resourceList(info.apiGroup, info.apiVersion));
    }
    throw pathNotFound();
  }

  #decode(req: IncomingRequest, audit?: AuditFacts): JsonObject {
    const body = this.#decodeBody(req);
    // LogRequestObject: the object's metadata fills what the path did not name.
    if (audit && isObject(body.metadata)) {
      const m = body.metadata;
      audit.objectMeta = {
        name: str(m.name),
        namespace: str(m.namespace),
        uid: str(m.uid),
        resourceVersion: str(m.resourceVersion),
      };
    }
    return body;
  }

  #decodeBody(req: IncomingRequest): JsonObject {
    const type = (req.contentType ?? JSON_TYPE).split(";")[0].trim();
    if (req.body.length === 0) return {};
    try {
      let parsed: unknown;
      if (type === PROTOBUF_TYPE) parsed = decodeProtobufBody(req.body);
      else if (type === JSON_TYPE || type === "*/*") {
        parsed = JSON.parse(new TextDecoder().decode(req.body));
      } else if (type === "application/yaml") {
        parsed = parseYaml(new TextDecoder().decode(req.body));
      } else throw unsupportedMediaType(type);
      if (!isObject(parsed)) throw badRequest("the body of the request must be a JSON object");
      return parsed;
    } catch (e) {
      if (e instanceof ApiError) throw e;
      if (e instanceof ProtobufError && e.unsupported) {
        throw new ApiError(415, "UnsupportedMediaType", e.message, {});
      }
      throw badRequest(
        `error decoding request body: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  #resource(req: IncomingRequest, info: RequestInfo, user: UserInfo, audit: AuditFacts): Reply {
    const { apiGroup: group, apiVersion: version, namespace, name, subresource, verb } = info;
    const resourcePath = subresource ? `${info.resource}/${subresource}` : info.resource;
    const resource = this.#o.versions.find(group, version, resourcePath);
    if (!resource) throw pathNotFound();

    if (resourcePath === "serviceaccounts/token") {
      if (verb !== "create") throw methodNotAllowed();
      const { object, warnings, jti } = createToken(
        this.#o.tokens,
        namespace,
        name,
        this.#decode(req, audit),
      );
      if (jti) audit.annotations[ISSUED_CREDENTIAL_ID_ANNOTATION] = `JTI=${jti}`;
      return { code: 201, json: object, headers: warningHeader(warnings) };
    }
    if (!resource.stored) {
      if (verb !== "create" || name) throw methodNotAllowed();
      const body = this.#decode(req, audit);
      const now = this.#o.now();
      switch (resource.kind) {
        case "TokenReview":
          return { code: 201, json: tokenReview(this.#o.authn, body) };
        case "SelfSubjectReview":
          return { code: 201, json: selfSubjectReview(user, version, now) };
        case "SelfSubjectAccessReview":
          return { code: 201, json: selfSubjectAccessReview(this.#o.rbac, user, body) };
        case "SelfSubjectRulesReview":
          return { code: 201, json: selfSubjectRulesReview(this.#o.rbac, user, body) };
      }
      throw pathNotFound();
    }
    if (subresource) throw pathNotFound();
    // For /api/v1/namespaces/NAME the "namespace" of the request is the object itself.
    const ns = resource.kind === "Namespace" ? "" : namespace;
    checkScope(resource, ns, name, verb);
    const core = this.#core;
    switch (verb) {
      case "get":
        return {
          code: 200,
          json: core.read(resource, ns, name, { query: req.query, accept: req.accept }),
        };
      case "list":
        return {
          code: 200,
          json: core.list(resource, ns, { query: req.query, accept: req.accept }),
        };
      case "watch": {
        const filter = objectFilter(resource, req.query);
        return {
          watch: (sink) =>
            startWatch(
              this.#o.store,
              resource,
              ns,
              filter,
              req.query,
              req.accept,
              this.#o.now,
              sink,
            ),
        };
      }
      case "create":
        return {
          code: 201,
          json: core.create(resource, ns, this.#decode(req, audit), req.query),
        };
      case "update":
        return { code: 200, json: core.update(resource, ns, name, this.#decode(req, audit)) };
      case "patch": {
        let body: unknown;
        try {
          body = JSON.parse(new TextDecoder().decode(req.body));
        } catch (e) {
          throw badRequest(`error decoding patch: ${e instanceof Error ? e.message : String(e)}`);
        }
        return { code: 200, json: core.patch(resource, ns, name, req.contentType ?? "", body) };
      }
      case "delete": {
        // DeleteOptions only matter for preconditions; a body in a form not read here is ignored.
        let options: JsonObject = {};
        try {
          options = this.#decode(req);
        } catch {
          options = {};
        }
        return { code: 200, json: core.delete(resource, ns, name, options) };
      }
      case "deletecollection":
        return { code: 200, json: core.deleteCollection(resource, ns, req.query) };
    }
    throw methodNotAllowed();
  }
}
