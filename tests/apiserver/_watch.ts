/**
 * Watch streams: newline-delimited `{"type","object"}` events over a chunked response. With no
 * resourceVersion (or "0") the current objects come first as ADDED, as from the watch cache;
 * history older than the stream is not kept, so a later resourceVersion only sees new events.
 */
import type { ResourceInfo } from "./_resources.ts";
import type { ObjectStore, StoreEvent } from "./_store.ts";
import { toTable, wantsTable } from "./_table.ts";
import type { KubeObject } from "./_types.ts";

/** Where a watch writes; the server adapts its HTTP response to this. */
export interface WatchSink {
  write(chunk: string): void;
  end(): void;
  onClose(listener: () => void): void;
}

/** Stream changes of one resource to the sink until it closes, times out or the server stops. */
export function startWatch(
  store: ObjectStore,
  info: ResourceInfo,
  namespace: string,
  filter: (o: KubeObject) => boolean,
  query: URLSearchParams,
  accept: string | undefined,
  now: () => Date,
  sink: WatchSink,
): () => void {
  const table = wantsTable(accept);
  let columnsSent = false;
  const render = (o: KubeObject): unknown => {
    if (!table) return o;
    const t = toTable(
      info.kind,
      [o],
      now(),
      { resourceVersion: o.metadata.resourceVersion },
      query.get("includeObject"),
    );
    // Column definitions go with the first event only, like the real server's watch encoder.
    if (columnsSent) t.columnDefinitions = [];
    columnsSent = true;
    return t;
  };
  const send = (type: string, o: KubeObject) =>
    sink.write(`${JSON.stringify({ type, object: render(o) })}\n`);

  const rv = query.get("resourceVersion");
  if (!rv || rv === "0") {
    for (const o of store.list(info, namespace || undefined)) if (filter(o)) send("ADDED", o);
  }
  const unsubscribe = store.subscribe((e: StoreEvent) => {
    if (e.resource !== info) return;
    if (info.namespaced && namespace && e.object.metadata.namespace !== namespace) return;
    if (filter(e.object)) send(e.type, e.object);
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    unsubscribe();
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const timeout = Number(query.get("timeoutSeconds") ?? "0");
  if (timeout > 0) {
    timer = setTimeout(() => {
      stop();
      sink.end();
    }, timeout * 1000);
  }
  sink.onClose(stop);
  return () => {
    stop();
    sink.end();
  };
}
