/**
 * The worker thread of a read on two threads (src/usage/parallel.ts): started by the program's
 * entry point (mod.ts) under the name {@link USAGE_PART_WORKER}, it reads the whole input for its
 * users' events and sends back its aggregate.
 */
import { denoRuntime } from "../runtime.ts";
import { partBuffers, UsageAggregator } from "./aggregate.ts";
import { usageEventOfLine } from "./event_line.ts";
import { HeapKeeper } from "./heap.ts";
import { type PartJob, type PartResult, routeOf } from "./parallel.ts";
import { readAuditEvents } from "./reader.ts";

/** Its heap holds few credentials: collected from a lower floor than the main thread's. */
const HEAP_FLOOR = 16_000_000;

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<PartJob>) => void) | null;
  postMessage(message: PartResult | "ready", transfer?: Transferable[]): void;
};

scope.onmessage = async (e) => {
  scope.onmessage = null;
  const job = e.data;
  let result: PartResult;
  let transfer: Transferable[] = [];
  try {
    const runtime = denoRuntime();
    const aggregator = new UsageAggregator({ since: job.since ? new Date(job.since) : undefined });
    const heap = runtime.heap?.();
    const keeper = heap ? new HeapKeeper(heap, { floor: HEAP_FLOOR }) : undefined;
    const stats = await readAuditEvents(runtime, job.source, (event) => aggregator.add(event), {
      onProgress: () => keeper?.check(),
      eventOfLine: usageEventOfLine,
      route: routeOf(job.assignment, 1, aggregator),
    });
    const part = aggregator.part();
    transfer = partBuffers(part);
    result = {
      ok: true,
      part,
      lines: stats.lines,
      events: stats.events,
      malformed: stats.malformed,
    };
  } catch (err) {
    result = { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
  scope.postMessage(result, transfer);
};
// A message sent before this module ran (it is imported by the entry point) would be lost.
scope.postMessage("ready");
