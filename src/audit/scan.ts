/**
 * The audit's walk over the cluster: service accounts, legacy token Secrets, bootstrap token
 * Secrets and the registry entries of revocable tokens, listed in pages (`limit`/`continue`)
 * with the Secret type selected on the server.
 * Each page is turned into items and handed on before the next is asked for, so memory holds
 * one page plus the UIDs of the service accounts (needed to tell orphaned Secrets). A list the
 * server refuses (403) is recorded and skipped, so that what may be listed is still audited.
 */
import type { ApiClient } from "../api/client.ts";
import { ApiError } from "../api/errors.ts";
import { listPods, type OwnedObject, readOwner } from "../api/pods.ts";
import { BOOTSTRAP_NAMESPACE, BOOTSTRAP_TOKEN_TYPE } from "../bootstrap/token.ts";
import {
  auditBootstrapSecret,
  auditIssuedSecret,
  type AuditItem,
  type AuditRules,
  auditSecret,
  auditServiceAccount,
} from "./findings.ts";
import {
  listSecretPages,
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_TYPE,
} from "../api/secrets.ts";
import { listServiceAccountPages } from "../api/serviceaccounts.ts";
import { ISSUED_TOKEN_TYPE } from "../registry/issued.ts";
import { ConsumerIndex, resolveWorkloads, withConsumers } from "./consumers.ts";

/** What to walk. */
export interface ScanOptions extends AuditRules {
  /** One namespace, or undefined for all of them. */
  namespace?: string;
  /** Items per list request (`limit`). */
  chunkSize: number;
  /** Whether to include the bootstrap tokens of kube-system. */
  bootstrap: boolean;
  /** Called after each page with the counts so far (for a progress line). */
  progress?: (counts: ScanCounts) => void;
  /**
   * Which kinds to report; service accounts are still read for Secrets. The default, all but
   * "issued", is what revoke's selectors walk: they never pick a registry entry (that is
   * `revoke issued`'s job), so they need not list them.
   */
  kinds?: ReadonlySet<AuditKind>;
  /** A label selector sent with every list that produces items (`labelSelector`). */
  labelSelector?: string;
  /** Called once for each list the server refused, as soon as it did. */
  onRefused?: (refused: RefusedList) => void;
}

/** The kinds of object the audit reports. */
export type AuditKind = "secret" | "bootstrap" | "serviceaccount" | "issued";
/** Every {@link AuditKind}. */
export const AUDIT_KINDS: readonly AuditKind[] = [
  "secret",
  "bootstrap",
  "serviceaccount",
  "issued",
];

/** A list the server would not give (403 Forbidden), and what that means for the audit. */
export interface RefusedList {
  /** "serviceaccounts", "pods", "secrets", "bootstrap tokens" or "issued tokens". */
  resource: string;
  /** Undefined for a list over all namespaces. */
  namespace?: string;
  /** The server's message. */
  reason: string;
  /** What the audit could not do because of it, e.g. "the orphan check was skipped". */
  consequence?: string;
}

/** What was read, and what could not be. */
export interface ScanResult extends ScanCounts {
  refused: RefusedList[];
  /** How many lists were asked for (refused ones included). */
  lists: number;
}

/** How many objects were read so far. */
export interface ScanCounts {
  serviceAccounts: number;
  secrets: number;
  bootstrapTokens: number;
  /** Registry entries (revocable tokens). */
  issuedTokens: number;
}

/**
 * Walk the cluster and call `onPage` with the items of each page, in the server's order:
 * service accounts, then token Secrets, then bootstrap tokens.
 */
export async function scan(
  client: ApiClient,
  options: ScanOptions,
  onPage: (items: AuditItem[]) => void | Promise<void>,
): Promise<ScanResult> {
  const counts: ScanCounts = {
    serviceAccounts: 0,
    secrets: 0,
    bootstrapTokens: 0,
    issuedTokens: 0,
  };
  const result: ScanResult = { ...counts, refused: [], lists: 0 };
  const kinds = options.kinds ?? new Set(AUDIT_KINDS.filter((k) => k !== "issued"));
  const selector: { labelSelector?: string } = options.labelSelector
    ? { labelSelector: options.labelSelector }
    : {};
  const chunkSize = options.chunkSize;
  const namespace = options.namespace || undefined;
  /** Run one list; a 403 is recorded instead of ending the audit. Returns whether it ran. */
  const attempt = async (
    resource: string,
    namespace: string | undefined,
    consequence: string | undefined,
    walk: () => Promise<void>,
  ): Promise<boolean> => {
    result.lists++;
    try {
      await walk();
      return true;
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== 403) throw e;
      const refused = { resource, namespace, reason: e.message, consequence };
      result.refused.push(refused);
      options.onRefused?.(refused);
      return false;
    }
  };
  // Only "namespace/name" -> UID is kept per service account.
  const accounts = new Map<string, string>();
  const reportAccounts = kinds.has("serviceaccount");
  const reportSecrets = kinds.has("secret");
  // Orphan detection needs every service account, not only those the selector picks: with a
  // selector the accounts are read once for the UIDs and once more for the items.
  const separateAccountWalk = reportSecrets && reportAccounts && options.labelSelector;
  let accountsKnown = true;
  if (reportSecrets || reportAccounts) {
    const uidsOnly = reportSecrets && (!reportAccounts || separateAccountWalk);
    accountsKnown = await attempt(
      "serviceaccounts",
      options.namespace,
      reportSecrets ? "the orphaned check was skipped" : undefined,
      () =>
        listServiceAccountPages(client, namespace, {
          ...(uidsOnly ? {} : selector),
          chunkSize,
          onPage: async (list) => {
            const items: AuditItem[] = [];
            for (const sa of list) {
              if (reportSecrets) {
                accounts.set(
                  `${sa.metadata?.namespace}/${sa.metadata?.name}`,
                  sa.metadata?.uid ?? "",
                );
              }
              if (uidsOnly) continue;
              const item = auditServiceAccount(sa);
              if (item) items.push(item);
            }
            if (!uidsOnly) counts.serviceAccounts += list.length;
            options.progress?.(counts);
            await onPage(items);
          },
        }),
    );
    if (separateAccountWalk && accountsKnown) {
      await attempt(
        "serviceaccounts",
        options.namespace,
        undefined,
        () =>
          listServiceAccountPages(client, namespace, {
            ...selector,
            chunkSize,
            onPage: async (list) => {
              const items: AuditItem[] = [];
              for (const sa of list) {
                const item = auditServiceAccount(sa);
                if (item) items.push(item);
              }
              counts.serviceAccounts += list.length;
              options.progress?.(counts);
              await onPage(items);
            },
          }),
      );
    }
  }
  // The Pods come before the Secrets, so that each page of Secrets is reported with its
  // consumers; only the references are kept, not the Pods.
  const consumers = new ConsumerIndex();
  let consumersKnown = true;
  const owners = new Map<string, Promise<OwnedObject | undefined>>();
  if (reportSecrets) {
    consumersKnown = await attempt(
      "pods",
      options.namespace,
      "the consumers of the token Secrets are unknown",
      () =>
        listPods(client, options.namespace, {
          chunkSize: options.chunkSize,
          onPage: (pods) => consumers.add(pods),
        }),
    );
  }
  if (reportSecrets) {
    await attempt("secrets", options.namespace, undefined, () =>
      listSecretPages(client, {
        namespace,
        fieldSelector: `type=${SERVICE_ACCOUNT_TOKEN_TYPE}`,
        ...selector,
        chunkSize,
        onPage: async (list) => {
          const items: AuditItem[] = [];
          for (const secret of list) {
            // A server that ignores the field selector must not make us report other Secrets.
            if (secret.type !== SERVICE_ACCOUNT_TOKEN_TYPE) continue;
            const ns = secret.metadata?.namespace ?? "";
            const saName = secret.metadata?.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION] ?? "";
            const uid = accounts.get(`${ns}/${saName}`);
            const sa = !accountsKnown ? "unknown" : uid === undefined ? undefined : { uid };
            const users = consumersKnown ? consumers.of(ns, secret.metadata?.name ?? "") : [];
            await resolveWorkloads(
              users,
              (kind, namespace, name) => readOwner(client, kind, namespace, name),
              owners,
            );
            items.push(
              withConsumers(auditSecret(secret, sa, options), consumersKnown ? users : "unknown"),
            );
          }
          counts.secrets += items.length;
          options.progress?.(counts);
          await onPage(items);
        },
      }));
  }
  if (options.bootstrap && kinds.has("bootstrap")) {
    await attempt(
      "bootstrap tokens",
      BOOTSTRAP_NAMESPACE,
      undefined,
      () =>
        listSecretPages(client, {
          namespace: BOOTSTRAP_NAMESPACE,
          fieldSelector: `type=${BOOTSTRAP_TOKEN_TYPE}`,
          ...selector,
          chunkSize,
          onPage: async (list) => {
            const items: AuditItem[] = [];
            for (const secret of list) {
              if (secret.type !== BOOTSTRAP_TOKEN_TYPE) continue;
              const item = auditBootstrapSecret(secret, options);
              if (item) items.push(item);
            }
            counts.bootstrapTokens += items.length;
            options.progress?.(counts);
            await onPage(items);
          },
        }),
    );
  }
  if (kinds.has("issued")) {
    // The entries are Secrets of their own type: never legacy tokens, so never "orphaned" (the
    // garbage collector deletes an entry with its service account) and never revoke's to take.
    await attempt("issued tokens", options.namespace, undefined, () =>
      listSecretPages(client, {
        namespace,
        fieldSelector: `type=${ISSUED_TOKEN_TYPE}`,
        ...selector,
        chunkSize,
        onPage: async (list) => {
          const items: AuditItem[] = [];
          for (const secret of list) {
            const item = secret.metadata && auditIssuedSecret(secret, options);
            if (!item) continue;
            counts.issuedTokens++;
            // Only an entry with a finding is an item (as a service account that mounts no
            // token is not): a live revocable token is fine, and `issued` lists them all.
            if (item.findings.length) items.push(item);
          }
          options.progress?.(counts);
          await onPage(items);
        },
      }));
  }
  return { ...result, ...counts };
}
