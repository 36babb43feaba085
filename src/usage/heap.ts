/**
 * Keeping the heap of a long streaming read near what is live. V8 sizes its old generation by
 * how cheap its collections are: reading a large audit log, whose aggregate grows slowly and
 * whose garbage is mostly young, it lets the heap grow to two or three times the aggregate
 * before a full collection, and the process's peak memory with it (docs/benchmarks.md). A full
 * collection whenever the heap in use has grown by half since the last one (and past a floor,
 * so that a small input never pays for one) keeps the peak at about one and a half times what
 * is live, for some tens of milliseconds a collection.
 */
import type { HeapControl } from "../runtime.ts";

/** When {@link HeapKeeper} collects. */
export interface HeapKeeperOptions {
  /** Bytes in use below which it never collects; default 48 MB. */
  floor?: number;
  /** Collect once the heap in use is this many times what the last collection left; 1.5. */
  growth?: number;
}

/** Collects the heap when it has grown enough since the last collection. */
export class HeapKeeper {
  #heap: HeapControl;
  #floor: number;
  #growth: number;
  #next: number;
  /** Collections made. */
  collections = 0;

  constructor(heap: HeapControl, options: HeapKeeperOptions = {}) {
    this.#heap = heap;
    this.#floor = options.floor ?? 48_000_000;
    this.#growth = options.growth ?? 1.5;
    this.#next = this.#floor;
  }

  /** Look at the heap (now and then: every 100,000 lines read), and collect when due. */
  check(): void {
    if (this.#heap.used() >= this.#next) this.collect();
  }

  /** Collect now (at the end of a phase, when what it held is garbage). */
  collect(): void {
    this.#heap.collect();
    this.collections++;
    this.#next = Math.max(this.#floor, this.#heap.used() * this.#growth);
  }
}
