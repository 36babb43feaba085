/**
 * POST .../serviceaccounts/NAME/token, after pkg/registry/core/serviceaccount/storage/token.go
 * (1.30-1.32): metadata checks, service account lookup, defaulting, validation, bound object
 * lookup (Pod with its Node, Secret, Node), max-expiration shortening with a warning, the
 * extended-expiration trick for kubelet's 3607-second pod tokens, then signing.
 */
import { boundClaims, type SigningKey } from "./_jwt.ts";
import { RESOURCES, splitApiVersion } from "./_resources.ts";
import type { ObjectStore } from "./_store.ts";
import { rfc3339 } from "./_store.ts";
import { ApiError, badRequest, invalid, notFound } from "./_status.ts";
import { isObject, type JsonObject, type KubeObject, str, strings } from "./_types.ts";

/** Server settings that shape issued tokens. */
export interface TokenIssuerOptions {
  store: ObjectStore;
  key: SigningKey;
  issuer: string;
  apiAudiences: string[];
  maxTokenExpirationSeconds?: number;
  now: () => Date;
}

const WARN_ONLY_EXPIRATION_SECONDS = 3607;
const EXTENDED_EXPIRATION_SECONDS = 365 * 24 * 60 * 60;
const core = (resource: string) =>
  RESOURCES.find((r) => r.group === "" && r.resource === resource)!;

/** Issue a token for a service account; returns the TokenRequest to send and any warnings. */
export function createToken(
  o: TokenIssuerOptions,
  namespace: string,
  name: string,
  body: JsonObject,
): { object: JsonObject; warnings: string[]; jti?: string } {
  const metadata = isObject(body.metadata) ? body.metadata : {};
  const spec = isObject(body.spec) ? body.spec : {};
  const invalidMeta = (field: string, value: string, what: string) =>
    invalid("authentication.k8s.io", "TokenRequest", name, [{
      type: "FieldValueInvalid",
      field: `metadata.${field}`,
      value,
      detail: `must match the service account ${what} if specified`,
    }]);
  if (str(metadata.name) && metadata.name !== name) {
    throw invalidMeta("name", str(metadata.name)!, "name");
  }
  if (str(metadata.namespace) && metadata.namespace !== namespace) {
    throw invalidMeta("namespace", str(metadata.namespace)!, "namespace");
  }

  const sa = o.store.get(core("serviceaccounts"), namespace, name);
  if (!sa) throw notFound("", "serviceaccounts", name);

  const requestedAudiences = strings(spec.audiences);
  const audiences = requestedAudiences.length ? requestedAudiences : o.apiAudiences;
  // Defaulting: an absent expirationSeconds means one hour.
  let expirationSeconds = typeof spec.expirationSeconds === "number"
    ? spec.expirationSeconds
    : 3600;
  const now = o.now();

  const tooShort = expirationSeconds < 600;
  const tooLong = expirationSeconds > 2 ** 32;
  if (tooShort || tooLong) {
    throw invalid("authentication.k8s.io", "TokenRequest", "", [{
      type: "FieldValueInvalid",
      field: "spec.expirationSeconds",
      value: expirationSeconds,
      detail: tooShort
        ? "may not specify a duration less than 10 minutes"
        : "may not specify a duration larger than 2^32 seconds",
    }]);
  }

  let pod: KubeObject | undefined;
  let secret: KubeObject | undefined;
  let node: { name: string; uid?: string } | undefined;
  const ref = isObject(spec.boundObjectRef) ? spec.boundObjectRef : undefined;
  if (ref) {
    const kind = str(ref.kind) ?? "";
    const refName = str(ref.name) ?? "";
    const { group, version } = splitApiVersion(str(ref.apiVersion) ?? "");
    let uid: string | undefined;
    if (group === "" && kind === "Pod") {
      pod = o.store.get(core("pods"), namespace, refName);
      if (!pod) throw notFound("", "pods", refName);
      const podSpec = isObject(pod.spec) ? pod.spec : {};
      if (podSpec.serviceAccountName !== name) {
        throw badRequest(
          `cannot bind token for serviceaccount "${name}" to pod running with different serviceaccount name.`,
        );
      }
      uid = pod.metadata.uid;
      const nodeName = str(podSpec.nodeName);
      if (nodeName) {
        // A missing Node still leaves its name in the claims, as upstream does.
        const n = o.store.get(core("nodes"), undefined, nodeName);
        node = { name: nodeName, uid: n?.metadata.uid };
      }
    } else if (group === "" && kind === "Node") {
      const n = o.store.get(core("nodes"), undefined, refName);
      if (!n) throw notFound("", "nodes", refName);
      node = { name: refName, uid: n.metadata.uid };
      uid = n.metadata.uid;
    } else if (group === "" && kind === "Secret") {
      secret = o.store.get(core("secrets"), namespace, refName);
      if (!secret) throw notFound("", "secrets", refName);
      uid = secret.metadata.uid;
    } else {
      throw badRequest(`cannot bind token to object of type ${group}/${version}, Kind=${kind}`);
    }
    const wantedUid = str(ref.uid);
    if (wantedUid && wantedUid !== uid) {
      throw new ApiError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${kind} "${refName}": the UID in the bound object reference (${wantedUid}) does not match the UID in record. The object might have been deleted and then recreated`,
        { name: refName, kind },
      );
    }
  }

  const warnings: string[] = [];
  const max = o.maxTokenExpirationSeconds;
  if (max && max > 0 && expirationSeconds > max) {
    warnings.push(
      `requested expiration of ${expirationSeconds} seconds shortened to ${max} seconds`,
    );
    expirationSeconds = max;
  }
  let exp = expirationSeconds;
  let warnAfter: number | undefined;
  const kubeAudiences = audiences.every((a) => o.apiAudiences.includes(a));
  if (pod && expirationSeconds === WARN_ONLY_EXPIRATION_SECONDS && kubeAudiences) {
    warnAfter = exp;
    exp = EXTENDED_EXPIRATION_SECONDS;
  }

  const claims = boundClaims({
    issuer: o.issuer,
    audiences,
    namespace,
    serviceAccount: { name, uid: sa.metadata.uid! },
    pod: pod && { name: pod.metadata.name!, uid: pod.metadata.uid! },
    secret: secret && { name: secret.metadata.name!, uid: secret.metadata.uid! },
    node,
    issuedAt: now,
    expirationSeconds: exp,
    warnAfterSeconds: warnAfter,
  });
  const token = o.key.sign(claims);
  return {
    object: {
      kind: "TokenRequest",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { name, namespace, creationTimestamp: rfc3339(now) },
      // boundObjectRef has no omitempty upstream, so an unbound request shows null.
      spec: { audiences, expirationSeconds, boundObjectRef: ref ?? null },
      status: {
        token,
        expirationTimestamp: rfc3339(new Date(now.getTime() + expirationSeconds * 1000)),
      },
    },
    warnings,
    ...(typeof claims.jti === "string" ? { jti: claims.jti } : {}),
  };
}
