/**
 * Deleting a legacy token Secret the way the token controller lets it stay deleted.
 *
 * Before 1.24 kube-controller-manager keeps one token Secret for every service account: one that
 * its `secrets` list names and that exists. Deleting that Secret ends its token (the API server
 * looks the Secret up on every use), but the controller then drops it from the list and, finding
 * no listed token left, creates a new Secret with a new token within seconds. Removing the entry
 * from the list first does not help: the controller reacts to the list change the same way
 * (measured on a real v1.20.2). What does help, when there is a successor (`rotate secret`), is
 * to list the successor in place of the old Secret before deleting it: then the account still
 * has a listed token and the controller creates none. For `revoke`, where there is no successor,
 * the new Secret is announced before the deletion and named after it.
 */
import type { ApiClient } from "../api/client.ts";
import { ApiError } from "../api/errors.ts";
import type { Output, Runtime } from "../runtime.ts";
import {
  deleteSecret,
  getSecret,
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_TYPE,
} from "../api/secrets.ts";
import {
  getServiceAccount,
  patchServiceAccount,
  type ServiceAccount,
} from "../api/serviceaccounts.ts";
import { getServerVersion } from "../api/discovery.ts";

/** The Secret to delete. */
export interface LegacySecretRef {
  namespace: string;
  name: string;
  uid?: string;
  serviceAccount: string;
}

/** What the token controller will do about the Secret, as far as can be read beforehand. */
export interface ControllerOutlook {
  /** The server's version, e.g. "v1.20.2" (undefined when unreadable). */
  version?: string;
  /** The controller creates a token Secret for every account that lists none (before 1.24). */
  autoCreates: boolean;
  /** The account's `secrets` names, when the account could be read. */
  listed?: string[];
  /** resourceVersion of the account as read. */
  resourceVersion?: string;
  /** Deleting the Secret will make the controller create a new one for the account. */
  replacedOnDelete: boolean;
}

/** Read the server's version and the account, and say what deleting the Secret will cause. */
export async function controllerOutlook(
  client: ApiClient,
  ref: LegacySecretRef,
): Promise<ControllerOutlook> {
  const { version, autoCreates } = await serverVersion(client);
  let sa: ServiceAccount | undefined;
  try {
    sa = await getServiceAccount(client, ref.namespace, ref.serviceAccount);
  } catch (e) {
    // A user who may delete Secrets but not read accounts (or an account that is gone).
    if (!(e instanceof ApiError)) throw e;
  }
  const listed = sa ? (sa.secrets ?? []).map((s) => s.name ?? "") : undefined;
  let replacedOnDelete = false;
  if (autoCreates && listed?.includes(ref.name)) {
    replacedOnDelete = true;
    // Another listed token Secret that exists keeps the controller quiet.
    for (const other of listed.filter((n) => n && n !== ref.name)) {
      if (await isTokenSecretOf(client, ref, other)) replacedOnDelete = false;
    }
  }
  return {
    version,
    autoCreates,
    listed,
    resourceVersion: sa?.metadata?.resourceVersion,
    replacedOnDelete,
  };
}

const versions = new WeakMap<ApiClient, Promise<{ version?: string; autoCreates: boolean }>>();

/** The server's version, read once per client. */
function serverVersion(client: ApiClient): Promise<{ version?: string; autoCreates: boolean }> {
  let known = versions.get(client);
  if (!known) {
    known = getServerVersion(client)
      .then((v) => ({
        version: v.gitVersion,
        autoCreates: v.major === "1" && parseInt(v.minor ?? "", 10) < 24,
      }))
      // Unknown version: nothing is predicted.
      .catch(() => ({ autoCreates: false }));
    versions.set(client, known);
  }
  return known;
}

async function isTokenSecretOf(
  client: ApiClient,
  ref: LegacySecretRef,
  name: string,
): Promise<boolean> {
  try {
    const s = await getSecret(client, ref.namespace, name);
    return s.type === SERVICE_ACCOUNT_TOKEN_TYPE &&
      s.metadata?.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION] === ref.serviceAccount;
  } catch (e) {
    if (e instanceof ApiError) return false;
    throw e;
  }
}

/** The one-line prediction shown before deleting, or undefined when nothing will happen. */
export function outlookNote(ref: LegacySecretRef, outlook: ControllerOutlook): string | undefined {
  if (!outlook.replacedOnDelete) return undefined;
  return `the token controller (${outlook.version ?? "before 1.24"}) will then create a new ` +
    `token Secret for "${ref.serviceAccount}"`;
}

/**
 * List `successor` in the account's `secrets` in place of the Secret, so that deleting the Secret
 * leaves the account with a listed token. A JSON patch whose `test` op checks the entry, so a
 * concurrent change of the list is not overwritten. Returns an error message when not done.
 */
export async function listSuccessor(
  client: ApiClient,
  ref: LegacySecretRef,
  outlook: ControllerOutlook,
  successor: string,
): Promise<string | undefined> {
  const index = outlook.listed?.indexOf(ref.name) ?? -1;
  if (index < 0) return undefined;
  try {
    await patchServiceAccount(client, ref.namespace, ref.serviceAccount, [
      { op: "test", path: `/secrets/${index}/name`, value: ref.name },
      { op: "replace", path: `/secrets/${index}`, value: { name: successor } },
    ]);
    return undefined;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return e.code === 422 ? "its secrets list changed meanwhile" : e.message;
  }
}

/**
 * After deleting the Secret, wait (bounded) for the token controller to list a new one in
 * the account, and return its name; undefined when none came within `timeoutMs`.
 */
export async function awaitReplacement(
  client: ApiClient,
  runtime: Runtime,
  ref: LegacySecretRef,
  outlook: ControllerOutlook,
  timeoutMs = 10_000,
): Promise<string | undefined> {
  const before = new Set(outlook.listed ?? []);
  const started = runtime.now().getTime();
  let delay = 200;
  for (;;) {
    try {
      const sa = await getServiceAccount(client, ref.namespace, ref.serviceAccount);
      const added = (sa.secrets ?? []).map((s) => s.name ?? "").find((n) => n && !before.has(n));
      if (added) return added;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      return undefined;
    }
    if (runtime.now().getTime() - started >= timeoutMs) return undefined;
    await runtime.sleep(delay);
    delay = Math.min(delay * 2, 1000);
  }
}

/** Say truthfully what the controller did after a deletion it was expected to answer. */
export function reportReplacement(
  err: Output,
  ref: LegacySecretRef,
  outlook: ControllerOutlook,
  replacement: string | undefined,
): void {
  const version = outlook.version ?? "before 1.24";
  if (replacement) {
    err.write(
      `Note: the deleted token no longer works, but the token controller (${version}) created ` +
        `Secret "${ref.namespace}/${replacement}" with a new token for service account ` +
        `"${ref.serviceAccount}", as it does for every account that lists none: before 1.24 ` +
        `only deleting the service account ends its last legacy token\n`,
    );
  } else {
    err.write(
      `Note: the deleted token no longer works; the token controller (${version}) was expected ` +
        `to create a new token Secret for service account "${ref.serviceAccount}" but none ` +
        `appeared yet (check with: kubectl get serviceaccount ${ref.serviceAccount} -n ` +
        `${ref.namespace} -o yaml)\n`,
    );
  }
}

/**
 * Delete a Secret that `successor` replaces (`rotate secret --delete-old`): list the successor in
 * the account's `secrets` in its place first, so that the controller of a server before 1.24
 * does not add a third token Secret once the old one is gone. Throws the DELETE's ApiError.
 */
export async function retireSecret(
  client: ApiClient,
  err: Output,
  ref: LegacySecretRef,
  successor: string,
): Promise<void> {
  const outlook = await controllerOutlook(client, ref);
  const failed = await listSuccessor(client, ref, outlook, successor);
  if (failed && outlook.replacedOnDelete) {
    err.write(
      `Warning: cannot list Secret "${successor}" in service account "${ref.serviceAccount}" ` +
        `in place of "${ref.name}": ${failed}; the token controller (${
          outlook.version ?? "before 1.24"
        }) will create one more token Secret for the account\n`,
    );
  }
  await deleteSecret(client, ref.namespace, ref.name, { uid: ref.uid });
}
