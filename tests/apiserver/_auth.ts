/**
 * Request authentication in kube-apiserver's order: client certificate, then bearer tokens
 * (static token file, service-account JWTs bound and legacy, bootstrap tokens), then anonymous.
 * Failures carry the upstream error strings, which TokenReview reports in status.error.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { LEGACY_ISSUER, type SigningKey } from "./_jwt.ts";
import { type ResourceInfo, RESOURCES } from "./_resources.ts";
import type { ObjectStore } from "./_store.ts";
import { parseCertificate, type ParsedCertificate, verifyClientCertificate } from "./_x509.ts";
import { isObject, type KubeObject, str, type UserInfo } from "./_types.ts";

/** Extra key holding the credential ID (JTI= for bound tokens, X509SHA256= for certificates). */
export const CREDENTIAL_ID_KEY = "authentication.kubernetes.io/credential-id";
/** The label the legacy token tracker stamps with the last day a Secret token was used. */
export const LEGACY_LAST_USED_LABEL = "kubernetes.io/legacy-token-last-used";
/** The label the legacy token cleaner sets to switch a Secret token off. */
export const LEGACY_INVALID_SINCE_LABEL = "kubernetes.io/legacy-token-invalid-since";

const ANONYMOUS: UserInfo = { username: "system:anonymous", groups: ["system:unauthenticated"] };
const BOOTSTRAP_TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const BOOTSTRAP_GROUP = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;
// go-jose leeway for exp, nbf and iat checks.
const LEEWAY_SECONDS = 60;

/** What a token authenticator concluded: a user, a failure with its reason, or no opinion. */
export type TokenResult =
  | { user: UserInfo; audiences: string[] }
  | { error: string }
  | undefined;

/** The outcome for a whole request. */
export type RequestResult = { user: UserInfo } | { error: string };

/** Everything the authenticators read. */
export interface AuthenticatorOptions {
  store: ObjectStore;
  key: SigningKey;
  ca: ParsedCertificate;
  issuer: string;
  apiAudiences: string[];
  now: () => Date;
}

function resource(resourceName: string): ResourceInfo {
  return RESOURCES.find((r) => r.group === "" && r.resource === resourceName)!;
}

function decodeData(secret: KubeObject, key: string): string | undefined {
  const data = isObject(secret.data) ? str(secret.data[key]) : undefined;
  return data === undefined ? undefined : Buffer.from(data, "base64").toString();
}

function withAuthenticatedGroup(user: UserInfo): UserInfo {
  // The AuthenticatedGroupAdder that wraps every authenticator in kube-apiserver.
  return user.groups.includes("system:authenticated")
    ? user
    : { ...user, groups: [...user.groups, "system:authenticated"] };
}

function goQuoteList(values: string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(" ")}]`;
}

/** Authenticates requests and tokens against the store's current state. */
export class Authenticator {
  readonly #o: AuthenticatorOptions;
  readonly #staticTokens = new Map<string, UserInfo>();

  constructor(options: AuthenticatorOptions) {
    this.#o = options;
  }

  /** Add an entry of the static token file (--token-auth-file). */
  addStaticToken(token: string, user: { username: string; uid?: string; groups?: string[] }): void {
    this.#staticTokens.set(token, {
      username: user.username,
      uid: user.uid,
      groups: user.groups ?? [],
    });
  }

  /** Authenticate a request by its client certificate and Authorization header. */
  authenticateRequest(
    peerCertificate: Uint8Array | undefined,
    authorization: string | undefined,
  ): RequestResult {
    const errors: string[] = [];
    if (peerCertificate?.length) {
      const result = this.#x509(peerCertificate);
      if (result && "user" in result) return { user: withAuthenticatedGroup(result.user) };
      if (result) errors.push(result.error);
    }
    const m = authorization ? /^\s*bearer\s+(\S*)\s*$/i.exec(authorization) : null;
    if (m && m[1]) {
      const result = this.authenticateToken(m[1]);
      if ("user" in result) return { user: result.user };
      errors.push(result.error);
    }
    if (errors.length) return { error: errors.length === 1 ? errors[0] : `[${errors.join(", ")}]` };
    return { user: ANONYMOUS };
  }

  /**
   * Authenticate a bearer token for the given audiences (the API audiences when none are given),
   * as both request authentication and TokenReview do.
   */
  authenticateToken(
    token: string,
    audiences?: string[],
  ): { user: UserInfo; audiences: string[] } | { error: string } {
    const requested = audiences?.length ? audiences : this.#o.apiAudiences;
    const errors: string[] = [];
    for (
      const authenticate of [
        () => this.#static(token),
        () => this.#serviceAccount(token, requested),
        () => this.#bootstrap(token),
      ]
    ) {
      const result = authenticate();
      if (result && "user" in result) {
        return { user: withAuthenticatedGroup(result.user), audiences: result.audiences };
      }
      if (result) errors.push(result.error);
    }
    if (!errors.length) return { error: "invalid bearer token" };
    return { error: errors.length === 1 ? errors[0] : `[${errors.join(", ")}]` };
  }

  #x509(der: Uint8Array): TokenResult {
    let cert: ParsedCertificate;
    try {
      cert = parseCertificate(der);
    } catch {
      return { error: "x509: malformed certificate" };
    }
    const problem = verifyClientCertificate(cert, this.#o.ca, this.#o.now());
    if (problem) return { error: problem };
    if (!cert.subject.commonName) return undefined;
    const fingerprint = createHash("sha256").update(der).digest("hex");
    return {
      user: {
        username: cert.subject.commonName,
        groups: cert.subject.organizations,
        extra: { [CREDENTIAL_ID_KEY]: [`X509SHA256=${fingerprint}`] },
      },
      audiences: this.#o.apiAudiences,
    };
  }

  #static(token: string): TokenResult {
    const user = this.#staticTokens.get(token);
    return user ? { user: structuredClone(user), audiences: this.#o.apiAudiences } : undefined;
  }

  #bootstrap(token: string): TokenResult {
    // plugin/pkg/auth/authenticator/token/bootstrap: every mismatch is "no opinion", not an error.
    const m = BOOTSTRAP_TOKEN.exec(token);
    if (!m) return undefined;
    const [, id, secretPart] = m;
    const secret = this.#o.store.get(resource("secrets"), "kube-system", `bootstrap-token-${id}`);
    if (!secret || secret.metadata.deletionTimestamp) return undefined;
    if (secret.type !== "bootstrap.kubernetes.io/token" || !isObject(secret.data)) return undefined;
    if (decodeData(secret, "token-secret") !== secretPart) return undefined;
    if (decodeData(secret, "token-id") !== id) return undefined;
    const expiration = decodeData(secret, "expiration");
    if (expiration) {
      const at = Date.parse(expiration);
      if (Number.isNaN(at) || at < this.#o.now().getTime()) return undefined;
    }
    if (decodeData(secret, "usage-bootstrap-authentication") !== "true") return undefined;
    const groups = ["system:bootstrappers"];
    for (const g of (decodeData(secret, "auth-extra-groups") ?? "").split(",")) {
      const group = g.trim();
      if (!group) continue;
      if (!BOOTSTRAP_GROUP.test(group)) return undefined;
      if (!groups.includes(group)) groups.push(group);
    }
    return {
      user: { username: `system:bootstrap:${id}`, groups },
      audiences: this.#o.apiAudiences,
    };
  }

  #serviceAccount(token: string, requested: string[]): TokenResult {
    const decoded = this.#o.key.decode(token);
    if (!decoded) return undefined;
    const { payload } = decoded.jwt;
    const legacy = payload.iss === LEGACY_ISSUER;
    // Tokens of another issuer belong to another authenticator (OIDC, webhook...).
    if (!legacy && payload.iss !== this.#o.issuer) return undefined;
    if (!decoded.verified) return { error: "go-jose/go-jose: error in cryptographic primitive" };

    const tokenAudiences = Array.isArray(payload.aud)
      ? payload.aud.filter((a): a is string => typeof a === "string")
      : typeof payload.aud === "string"
      ? [payload.aud]
      : [];
    // Legacy tokens carry no audience and count as issued for the API server itself.
    const effective = tokenAudiences.length ? tokenAudiences : this.#o.apiAudiences;
    const audiences = effective.filter((a) => requested.includes(a));
    if (!audiences.length) {
      return {
        error: `token audiences ${goQuoteList(effective)} is invalid for the target audiences ${
          goQuoteList(requested)
        }`,
      };
    }
    const outcome = legacy ? this.#validateLegacy(token, payload) : this.#validateBound(payload);
    if ("error" in outcome) return outcome;
    return { user: outcome.user, audiences };
  }

  #validateBound(payload: Record<string, unknown>): { user: UserInfo } | { error: string } {
    const now = Math.floor(this.#o.now().getTime() / 1000);
    const num = (v: unknown) => (typeof v === "number" ? v : undefined);
    const nbf = num(payload.nbf);
    const exp = num(payload.exp);
    const iat = num(payload.iat);
    if (nbf !== undefined && now + LEEWAY_SECONDS < nbf) {
      return { error: "service account token is not valid yet" };
    }
    if (exp !== undefined && now - LEEWAY_SECONDS > exp) {
      return { error: "service account token has expired" };
    }
    if (iat !== undefined && now + LEEWAY_SECONDS < iat) {
      return { error: "service account token is issued in the future" };
    }

    const k = isObject(payload["kubernetes.io"]) ? payload["kubernetes.io"] : {};
    const namespace = str(k.namespace) ?? "";
    const ref = (
      v: unknown,
    ) => (isObject(v) ? { name: str(v.name) ?? "", uid: str(v.uid) ?? "" } : undefined);
    const sa = ref(k.serviceaccount) ?? { name: "", uid: "" };
    const pod = ref(k.pod);
    const secret = ref(k.secret);
    const node = ref(k.node);
    // The validator reads live objects; a deleted or recreated one invalidates the token.
    const deletedBefore = (o: KubeObject) =>
      o.metadata.deletionTimestamp !== undefined &&
      Date.parse(o.metadata.deletionTimestamp) < (now - LEEWAY_SECONDS) * 1000;

    const account = this.#o.store.get(resource("serviceaccounts"), namespace, sa.name);
    if (!account) return { error: `serviceaccounts "${sa.name}" not found` };
    if (account.metadata.uid !== sa.uid) {
      return {
        error: `service account UID (${account.metadata.uid}) does not match claim (${sa.uid})`,
      };
    }
    if (deletedBefore(account)) {
      return { error: `service account ${namespace}/${sa.name} has been deleted` };
    }
    if (secret) {
      const s = this.#o.store.get(resource("secrets"), namespace, secret.name);
      if (!s) return { error: "service account token has been invalidated" };
      if (s.metadata.uid !== secret.uid) {
        return {
          error:
            `secret UID (${s.metadata.uid}) does not match service account secret ref claim (${secret.uid})`,
        };
      }
      if (deletedBefore(s)) return { error: "service account token has been invalidated" };
    }
    const extra: Record<string, string[]> = {};
    if (pod) {
      const p = this.#o.store.get(resource("pods"), namespace, pod.name);
      if (!p) return { error: "service account token has been invalidated" };
      if (p.metadata.uid !== pod.uid) {
        return {
          error:
            `pod UID (${p.metadata.uid}) does not match service account pod ref claim (${pod.uid})`,
        };
      }
      if (deletedBefore(p)) return { error: "service account token has been invalidated" };
      extra["authentication.kubernetes.io/pod-name"] = [pod.name];
      extra["authentication.kubernetes.io/pod-uid"] = [pod.uid];
    }
    if (node) {
      if (!pod) {
        // A Node-bound token lives only as long as its Node; a pod's node is informational.
        const n = this.#o.store.get(resource("nodes"), undefined, node.name);
        if (!n) return { error: "service account token has been invalidated" };
        if (n.metadata.uid !== node.uid) {
          return {
            error:
              `node UID (${n.metadata.uid}) does not match service account node ref claim (${node.uid})`,
          };
        }
        if (deletedBefore(n)) return { error: "service account token has been invalidated" };
      }
      extra["authentication.kubernetes.io/node-name"] = [node.name];
      if (node.uid) extra["authentication.kubernetes.io/node-uid"] = [node.uid];
    }
    const jti = str(payload.jti);
    if (jti) extra[CREDENTIAL_ID_KEY] = [`JTI=${jti}`];
    return {
      user: withAuthenticatedGroup({
        username: `system:serviceaccount:${namespace}:${sa.name}`,
        uid: sa.uid,
        groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`],
        ...(Object.keys(extra).length ? { extra } : {}),
      }),
    };
  }

  #validateLegacy(
    token: string,
    payload: Record<string, unknown>,
  ): { user: UserInfo } | { error: string } {
    const prefix = "kubernetes.io/serviceaccount/";
    const namespace = str(payload[`${prefix}namespace`]);
    const secretName = str(payload[`${prefix}secret.name`]);
    const saName = str(payload[`${prefix}service-account.name`]);
    const saUid = str(payload[`${prefix}service-account.uid`]);
    if (!str(payload.sub)) return { error: "sub claim is missing" };
    if (!namespace) return { error: "namespace claim is missing" };
    if (!secretName) return { error: "secretName claim is missing" };
    if (!saName) return { error: "serviceAccountName claim is missing" };
    if (!saUid) return { error: "serviceAccountUID claim is missing" };
    if (payload.sub !== `system:serviceaccount:${namespace}:${saName}`) {
      return { error: "sub claim is invalid" };
    }

    const secrets = resource("secrets");
    const secret = this.#o.store.get(secrets, namespace, secretName);
    if (!secret || secret.metadata.deletionTimestamp) {
      return { error: "Token has been invalidated" };
    }
    if (decodeData(secret, "token") !== token) {
      return { error: "Token does not match server's copy" };
    }
    const account = this.#o.store.get(resource("serviceaccounts"), namespace, saName);
    if (!account) return { error: `serviceaccounts "${saName}" not found` };
    if (account.metadata.deletionTimestamp) {
      return { error: `ServiceAccount ${namespace}/${saName} has been deleted` };
    }
    if (account.metadata.uid !== saUid) {
      return {
        error: `ServiceAccount UID (${account.metadata.uid}) does not match claim (${saUid})`,
      };
    }
    const invalid = secret.metadata.labels?.[LEGACY_INVALID_SINCE_LABEL];
    this.#stampLastUsed(secret);
    if (invalid) {
      return {
        error:
          `the token in secret ${namespace}/${secretName} for service account ${namespace}/${saName} has been marked invalid. Use tokens from the TokenRequest API or manually created secret-based tokens, or remove the '${LEGACY_INVALID_SINCE_LABEL}' label from the secret to temporarily allow use of this token`,
      };
    }
    return {
      user: withAuthenticatedGroup({
        username: `system:serviceaccount:${namespace}:${saName}`,
        uid: saUid,
        groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`],
      }),
    };
  }

  #stampLastUsed(secret: KubeObject): void {
    const now = this.#o.now();
    const today = now.toISOString().slice(0, 10);
    const tomorrow = new Date(now.getTime() + 86_400_000).toISOString().slice(0, 10);
    const last = secret.metadata.labels?.[LEGACY_LAST_USED_LABEL];
    if (last === today || last === tomorrow) return;
    secret.metadata.labels = { ...secret.metadata.labels, [LEGACY_LAST_USED_LABEL]: today };
    this.#o.store.update(resource("secrets"), secret);
  }
}
