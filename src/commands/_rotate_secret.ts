/**
 * `rotate secret NAME`: a new legacy service-account-token Secret for the same service account,
 * filled by the token controller, and the old one deleted on request (`--delete-old`, after
 * `--grace`) in the way that keeps the controller from bringing it back.
 */
import type { CommandContext } from "../context.ts";
import type { ApiClient } from "../api/client.ts";
import { ApiError, wrapApiError } from "../api/errors.ts";
import { CliError } from "../errors.ts";
import { formatGoDuration } from "../output/duration.ts";
import {
  createSecret,
  getSecret,
  type Secret,
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_TYPE,
  SERVICE_ACCOUNT_UID_ANNOTATION,
} from "../api/secrets.ts";
import { removeAfterGrace } from "./_grace.ts";
import { retireSecret } from "./_legacy_secret.ts";
import type { RotateRequest } from "./rotate.ts";

/** `rotate secret NAME`; returns the exit code. */
export async function rotateSecret(
  ctx: CommandContext,
  request: Extract<RotateRequest, { kind: "secret" }>,
): Promise<number> {
  const config = await ctx.config();
  const client = await ctx.client();
  const namespace = config.namespace;
  const old = await readSecret(client, namespace, request.name);
  if (old.type !== SERVICE_ACCOUNT_TOKEN_TYPE) {
    throw new CliError(
      `Cannot rotate Secret "${namespace}/${request.name}": it is of type "${old.type ?? ""}", ` +
        `not "${SERVICE_ACCOUNT_TOKEN_TYPE}"`,
    );
  }
  const saName = old.metadata?.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION];
  if (!saName) {
    throw new CliError(
      `Cannot rotate Secret "${namespace}/${request.name}": it has no ` +
        `"${SERVICE_ACCOUNT_NAME_ANNOTATION}" annotation`,
    );
  }
  const err = ctx.runtime.stderr;
  if (request.dryRun) {
    ctx.runtime.stdout.write(
      `Would create a new token Secret for service account "${namespace}/${saName}" to replace ` +
        `"${request.name}"` +
        (request.deleteOld
          ? `, then delete "${request.name}"${
            request.graceMs ? ` after ${formatGoDuration(request.graceMs)}` : ""
          }`
          : "") +
        " (dry run)\n",
    );
    return 0;
  }
  const labels = Object.fromEntries(
    Object.entries(old.metadata?.labels ?? {}).filter(([k]) => !k.startsWith("kubernetes.io/")),
  );
  const created = await createSecret(client, namespace, {
    metadata: {
      generateName: `${saName}-token-`,
      namespace,
      annotations: { [SERVICE_ACCOUNT_NAME_ANNOTATION]: saName },
      ...(Object.keys(labels).length ? { labels } : {}),
    },
    type: SERVICE_ACCOUNT_TOKEN_TYPE,
  });
  const newName = created.metadata?.name;
  if (!newName) {
    throw new CliError("Cannot create the new token Secret: the server returned no name");
  }
  await waitForToken(ctx, client, { namespace, name: newName }, request.timeoutMs);
  ctx.runtime.stdout.write(`${newName}\n`);
  if (request.deleteOld) {
    await removeAfterGrace(
      ctx,
      `Secret "${namespace}/${request.name}"`,
      request.graceMs,
      () =>
        retireSecret(client, err, {
          namespace,
          name: request.name,
          uid: old.metadata?.uid,
          serviceAccount: saName,
        }, newName),
    );
  } else if (err.isTerminal()) {
    err.write(
      `The old Secret "${request.name}" still works; delete it once nothing uses it ` +
        `(or rerun with --delete-old --grace DURATION)\n`,
    );
  }
  return 0;
}

/** GET a Secret; errors name it. */
export async function readSecret(
  client: ApiClient,
  namespace: string,
  name: string,
): Promise<Secret> {
  try {
    return await getSecret(client, namespace, name);
  } catch (e) {
    throw wrapApiError(e, `Cannot read Secret "${namespace}/${name}"`);
  }
}

/** Wait (bounded) for the token controller to put a token into the new Secret. */
async function waitForToken(
  ctx: CommandContext,
  client: ApiClient,
  secret: { namespace: string; name: string },
  timeoutMs: number,
): Promise<void> {
  const { namespace, name } = secret;
  const runtime = ctx.runtime;
  const started = runtime.now().getTime();
  const terminal = runtime.stderr.isTerminal();
  let delay = 100;
  let shown = false;
  for (;;) {
    let secret: Secret;
    try {
      secret = await readSecret(client, namespace, name);
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) {
        throw new CliError(
          `Cannot rotate: the token controller deleted the new Secret "${namespace}/${name}" ` +
            `(its service account is gone or was recreated)`,
        );
      }
      throw e;
    }
    if (secret.data?.token && secret.metadata?.annotations?.[SERVICE_ACCOUNT_UID_ANNOTATION]) break;
    const elapsed = runtime.now().getTime() - started;
    if (elapsed >= timeoutMs) {
      if (shown) runtime.stderr.write("\n");
      throw new CliError(
        `Cannot rotate: the token controller did not fill Secret "${namespace}/${name}" within ` +
          `${formatGoDuration(timeoutMs)} (is kube-controller-manager running?); the empty ` +
          `Secret is left in place`,
      );
    }
    if (terminal) {
      runtime.stderr.write(
        `\rWaiting for the token controller to fill Secret "${name}"... ` +
          `${Math.floor(elapsed / 1000)}s`,
      );
      shown = true;
    }
    await runtime.sleep(delay);
    delay = Math.min(delay * 2, 1000);
  }
  if (shown) runtime.stderr.write("\n");
}
