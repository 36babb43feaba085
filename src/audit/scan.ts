/**
 * The audit's walk over the cluster: service accounts, legacy token Secrets and bootstrap token
 * Secrets, listed in pages (`limit`/`continue`) with the Secret type selected on the server.
 * Each page is turned into items and handed on before the next is asked for, so memory holds
 * one page plus the UIDs of the service accounts (needed to tell orphaned Secrets).
 */
import type { ApiClient } from "../api/client.ts";
import { BOOTSTRAP_NAMESPACE, BOOTSTRAP_TOKEN_TYPE, type SecretLike } from "../bootstrap/secret.ts";
import {
  auditBootstrapSecret,
  type AuditItem,
  type AuditRules,
  auditSecret,
  auditServiceAccount,
  SERVICE_ACCOUNT_TOKEN_TYPE,
} from "./findings.ts";

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
}

/** How many objects were read so far. */
export interface ScanCounts {
  serviceAccounts: number;
  secrets: number;
  bootstrapTokens: number;
}

interface ListPage<T> {
  metadata?: { continue?: string };
  items?: T[];
}

interface ServiceAccountObject {
  metadata?: { name?: string; namespace?: string; uid?: string; creationTimestamp?: string };
  automountServiceAccountToken?: boolean;
}

/**
 * Walk the cluster and call `onPage` with the items of each page, in the server's order:
 * service accounts, then token Secrets, then bootstrap tokens.
 */
export async function scan(
  client: ApiClient,
  options: ScanOptions,
  onPage: (items: AuditItem[]) => void | Promise<void>,
): Promise<ScanCounts> {
  const counts: ScanCounts = { serviceAccounts: 0, secrets: 0, bootstrapTokens: 0 };
  const base = options.namespace
    ? `/api/v1/namespaces/${encodeURIComponent(options.namespace)}`
    : "/api/v1";
  // Only "namespace/name" -> UID is kept per service account.
  const accounts = new Map<string, string>();
  await pages<ServiceAccountObject>(
    client,
    `${base}/serviceaccounts`,
    {},
    options,
    async (list) => {
      const items: AuditItem[] = [];
      for (const sa of list) {
        accounts.set(`${sa.metadata?.namespace}/${sa.metadata?.name}`, sa.metadata?.uid ?? "");
        const item = auditServiceAccount(sa);
        if (item) items.push(item);
      }
      counts.serviceAccounts += list.length;
      options.progress?.(counts);
      await onPage(items);
    },
  );
  await pages<SecretLike>(
    client,
    `${base}/secrets`,
    { fieldSelector: `type=${SERVICE_ACCOUNT_TOKEN_TYPE}` },
    options,
    async (list) => {
      const items: AuditItem[] = [];
      for (const secret of list) {
        // A server that ignores the field selector must not make us report other Secrets.
        if (secret.type !== SERVICE_ACCOUNT_TOKEN_TYPE) continue;
        const ns = secret.metadata?.namespace ?? "";
        const saName = secret.metadata?.annotations?.["kubernetes.io/service-account.name"] ?? "";
        const uid = accounts.get(`${ns}/${saName}`);
        items.push(auditSecret(secret, uid === undefined ? undefined : { uid }, options));
      }
      counts.secrets += items.length;
      options.progress?.(counts);
      await onPage(items);
    },
  );
  if (options.bootstrap) {
    await pages<SecretLike>(
      client,
      `/api/v1/namespaces/${BOOTSTRAP_NAMESPACE}/secrets`,
      { fieldSelector: `type=${BOOTSTRAP_TOKEN_TYPE}` },
      options,
      async (list) => {
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
    );
  }
  return counts;
}

/** GET a collection page by page. */
async function pages<T>(
  client: ApiClient,
  path: string,
  query: Record<string, string>,
  options: { chunkSize: number },
  onPage: (items: T[]) => Promise<void>,
): Promise<void> {
  let token: string | undefined;
  do {
    const page = await client.get<ListPage<T>>(path, {
      query: {
        ...query,
        limit: options.chunkSize > 0 ? options.chunkSize : undefined,
        continue: token,
      },
    });
    await onPage(page.items ?? []);
    token = page.metadata?.continue || undefined;
  } while (token);
}
