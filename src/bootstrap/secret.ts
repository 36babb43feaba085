/**
 * Bootstrap token Secrets as kubeadm writes them: `kube-system/bootstrap-token-<id>` of type
 * `bootstrap.kubernetes.io/token`. The secret half is written, never read back into output.
 */
import { UsageError } from "../errors.ts";
import { rfc3339 } from "../output/duration.ts";
import type { Secret } from "../api/secrets.ts";
import { decodeBase64, encodeBase64 } from "../encoding/base64.ts";
import {
  BOOTSTRAP_NAMESPACE,
  BOOTSTRAP_TOKEN,
  BOOTSTRAP_TOKEN_FORM,
  BOOTSTRAP_TOKEN_TYPE,
  bootstrapSecretName,
  isBootstrapTokenId,
  tokenIdOfSecretName,
} from "./token.ts";

export { BOOTSTRAP_NAMESPACE, BOOTSTRAP_TOKEN_TYPE, bootstrapSecretName } from "./token.ts";

/** The usages a bootstrap token may have. */
export const BOOTSTRAP_USAGES = ["signing", "authentication"] as const;
/** kubeadm's default extra group for node join tokens. */
export const DEFAULT_BOOTSTRAP_GROUP = "system:bootstrappers:kubeadm:default-node-token";

// k8s.io/cluster-bootstrap/token/api: BootstrapGroupPattern.
const GROUP = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;

/** What a bootstrap token Secret says, without its secret. */
export interface BootstrapTokenInfo {
  id: string;
  /** Name of the Secret. */
  name: string;
  created?: Date;
  /** Undefined: the token never expires. */
  expires?: Date;
  /** The `expiration` value when it is not a valid time. */
  invalidExpiration?: string;
  usages: string[];
  groups: string[];
  description?: string;
}

/** Split a token into ID and secret; throws a UsageError naming `what` when it is malformed. */
export function parseBootstrapToken(token: string, what: string): { id: string; secret: string } {
  const m = BOOTSTRAP_TOKEN.exec(token.trim());
  if (!m) {
    throw new UsageError(
      `Invalid ${what}: a bootstrap token has the form ${BOOTSTRAP_TOKEN_FORM}`,
    );
  }
  return { id: m[1], secret: m[2] };
}

/** Take a token ID, or the ID of a whole token (its secret half is dropped at once). */
export function bootstrapTokenIdOf(value: string): string {
  const v = value.trim();
  if (isBootstrapTokenId(v)) return v;
  const m = BOOTSTRAP_TOKEN.exec(v);
  if (m) return m[1];
  // Never echo the value: it may be a mistyped token.
  throw new UsageError(
    "Invalid bootstrap token ID: expected 6 characters [a-z0-9], or a whole token " +
      BOOTSTRAP_TOKEN_FORM,
  );
}

/** Check `--usages`; returns them in canonical order. */
export function parseUsages(values: string[]): string[] {
  const list = values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v);
  for (const u of list) {
    if (!(BOOTSTRAP_USAGES as readonly string[]).includes(u)) {
      throw new UsageError(
        `Invalid value "${u}" for flag --usages: allowed values are ${BOOTSTRAP_USAGES.join(", ")}`,
      );
    }
  }
  if (list.length === 0) {
    throw new UsageError("Flag --usages needs at least one of signing, authentication");
  }
  return BOOTSTRAP_USAGES.filter((u) => list.includes(u));
}

/** Check `--groups` against the bootstrap group pattern. */
export function parseGroups(values: string[]): string[] {
  const list = values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v);
  for (const g of list) {
    if (!GROUP.test(g)) {
      throw new UsageError(
        `Invalid value "${g}" for flag --groups: a group must match ${GROUP.source}`,
      );
    }
  }
  return [...new Set(list)];
}

/** The Secret that makes a bootstrap token work. */
export function bootstrapSecret(
  token: { id: string; secret: string },
  options: { expires?: Date; usages: string[]; groups: string[]; description?: string },
): Secret {
  const data: Record<string, string> = {
    "token-id": token.id,
    "token-secret": token.secret,
  };
  if (options.description) data.description = options.description;
  if (options.expires) data.expiration = rfc3339(options.expires);
  for (const usage of options.usages) data[`usage-bootstrap-${usage}`] = "true";
  if (options.groups.length) data["auth-extra-groups"] = options.groups.join(",");
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: bootstrapSecretName(token.id), namespace: BOOTSTRAP_NAMESPACE },
    type: BOOTSTRAP_TOKEN_TYPE,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, encodeBase64(v)])),
  };
}

/** Read a bootstrap token Secret; the token secret is never looked at. */
export function readBootstrapSecret(secret: Secret): BootstrapTokenInfo | undefined {
  const name = secret.metadata?.name ?? "";
  const data = secret.data ?? {};
  const get = (key: string) => {
    const v = data[key];
    if (typeof v !== "string") return undefined;
    try {
      return new TextDecoder().decode(decodeBase64(v));
    } catch {
      return undefined;
    }
  };
  const id = get("token-id") ?? tokenIdOfSecretName(name) ?? name;
  if (!id) return undefined;
  const expiration = get("expiration");
  let expires: Date | undefined;
  let invalidExpiration: string | undefined;
  if (expiration) {
    const at = Date.parse(expiration);
    if (Number.isNaN(at)) invalidExpiration = expiration;
    else expires = new Date(at);
  }
  const created = secret.metadata?.creationTimestamp
    ? new Date(secret.metadata.creationTimestamp)
    : undefined;
  return {
    id,
    name,
    created,
    expires,
    invalidExpiration,
    usages: BOOTSTRAP_USAGES.filter((u) => get(`usage-bootstrap-${u}`) === "true"),
    groups: (get("auth-extra-groups") ?? "").split(",").map((g) => g.trim()).filter((g) => g),
    description: get("description") || undefined,
  };
}
