/**
 * `rotate bootstrap ID`: a new bootstrap token with the old one's usages, groups, description
 * and TTL, printed on stdout; the old one deleted on request (`--delete-old`, after `--grace`).
 */
import type { CommandContext } from "../context.ts";
import { wrapApiError } from "../api/errors.ts";
import { CliError } from "../errors.ts";
import { formatGoDuration, rfc3339 } from "../output/duration.ts";
import { createSecret, deleteSecret } from "../api/secrets.ts";
import { decodeBase64, encodeBase64 } from "../encoding/base64.ts";
import {
  BOOTSTRAP_NAMESPACE,
  BOOTSTRAP_TOKEN_TYPE,
  bootstrapSecretName,
  generateBootstrapToken,
} from "../bootstrap/token.ts";
import { removeAfterGrace } from "./_grace.ts";
import { readSecret } from "./_rotate_secret.ts";
import type { RotateRequest } from "./rotate.ts";

const BOOTSTRAP_KEYS_KEPT = ["description", "auth-extra-groups"];

/** `rotate bootstrap ID`; returns the exit code. */
export async function rotateBootstrap(
  ctx: CommandContext,
  request: Extract<RotateRequest, { kind: "bootstrap" }>,
): Promise<number> {
  const client = await ctx.client();
  const oldName = bootstrapSecretName(request.id);
  const old = await readSecret(client, BOOTSTRAP_NAMESPACE, oldName);
  if (old.type !== BOOTSTRAP_TOKEN_TYPE) {
    throw new CliError(
      `Cannot rotate bootstrap token "${request.id}": Secret "${BOOTSTRAP_NAMESPACE}/${oldName}" ` +
        `is of type "${old.type ?? ""}", not "${BOOTSTRAP_TOKEN_TYPE}"`,
    );
  }
  const data = old.data ?? {};
  const text = (key: string) => data[key] === undefined ? undefined : decodeText(data[key]);
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key.startsWith("usage-bootstrap-") || BOOTSTRAP_KEYS_KEPT.includes(key)) kept[key] = value;
  }
  // The TTL the old token was given: from its creation to its expiration.
  const expiration = text("expiration");
  const created = old.metadata?.creationTimestamp;
  let ttlMs: number | undefined;
  if (expiration && created) {
    const ms = Date.parse(expiration) - Date.parse(created);
    if (Number.isFinite(ms) && ms > 0) ttlMs = ms;
  }
  const now = ctx.runtime.now();
  const usages = Object.keys(kept).filter((k) =>
    k.startsWith("usage-bootstrap-") && text(k) === "true"
  )
    .map((k) => k.slice("usage-bootstrap-".length));
  if (request.dryRun) {
    ctx.runtime.stdout.write(
      `Would create a new bootstrap token with usages ${usages.join(",") || "none"}` +
        (text("auth-extra-groups") ? `, groups ${text("auth-extra-groups")}` : "") +
        (ttlMs ? `, TTL ${formatGoDuration(ttlMs)}` : ", no expiration") +
        (request.deleteOld ? `, then delete "${request.id}"` : "") + " (dry run)\n",
    );
    return 0;
  }
  const fresh = generateBootstrapToken();
  // The kept values go over as they were (their base64 untouched): bootstrapSecret() would
  // drop keys it does not know and reorder the rest.
  const newData: Record<string, string> = {
    "token-id": encodeBase64(fresh.id),
    "token-secret": encodeBase64(fresh.secret),
    ...kept,
  };
  if (ttlMs) newData.expiration = encodeBase64(rfc3339(new Date(now.getTime() + ttlMs)));
  try {
    await createSecret(client, BOOTSTRAP_NAMESPACE, {
      metadata: { name: bootstrapSecretName(fresh.id), namespace: BOOTSTRAP_NAMESPACE },
      type: BOOTSTRAP_TOKEN_TYPE,
      data: newData,
    });
  } catch (e) {
    throw wrapApiError(e, "Cannot create the new bootstrap token");
  }
  // The token is what the user asked for: it goes to stdout, as kubeadm token create does.
  ctx.runtime.stdout.write(`${fresh.token}\n`);
  if (request.deleteOld) {
    await removeAfterGrace(
      ctx,
      `bootstrap token "${request.id}"`,
      request.graceMs,
      () => deleteSecret(client, BOOTSTRAP_NAMESPACE, oldName, { uid: old.metadata?.uid }),
    );
  }
  return 0;
}

/** A base64 value as UTF-8 text; undefined when it is not base64. */
function decodeText(value: string): string | undefined {
  try {
    return new TextDecoder().decode(decodeBase64(value));
  } catch {
    return undefined;
  }
}
