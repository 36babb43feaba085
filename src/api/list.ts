/**
 * Paged lists: the one `limit`/`continue` loop that every list call of the API layer goes
 * through, so that a large cluster is read in pages everywhere and in the same way.
 */
import type { ApiClient } from "./client.ts";

/** Options of a list call. */
export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Objects per request (`limit`); 0 or undefined: all in one answer. */
  chunkSize?: number;
  /** Overrides the client's timeout for each request. */
  timeoutMs?: number;
}

/** One answer of a list request. */
interface ListPage<T> {
  metadata?: { continue?: string };
  items?: T[];
}

/**
 * GET the collection at `path` page by page, handing each page's items to `onPage` before
 * asking for the next.
 */
export async function listPages<T>(
  client: ApiClient,
  path: string,
  options: ListOptions & { onPage: (items: T[]) => void | Promise<void> },
): Promise<void> {
  let token: string | undefined;
  do {
    const page = await client.get<ListPage<T>>(path, {
      query: {
        labelSelector: options.labelSelector || undefined,
        fieldSelector: options.fieldSelector || undefined,
        limit: options.chunkSize ? options.chunkSize : undefined,
        continue: token,
      },
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    await options.onPage(page.items ?? []);
    token = page.metadata?.continue || undefined;
  } while (token);
}

/** Every item of the collection at `path`, read page by page. */
export async function listAll<T>(
  client: ApiClient,
  path: string,
  options: ListOptions = {},
): Promise<T[]> {
  const items: T[] = [];
  await listPages<T>(client, path, { ...options, onPage: (page) => void items.push(...page) });
  return items;
}
