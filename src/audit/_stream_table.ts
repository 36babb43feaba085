/**
 * A kubectl-style table printed a page at a time. Column widths only grow: a page is laid out
 * with the widest cell seen so far, so rows line up unless a later page brings a wider cell
 * (kubectl's chunked `get` has the same trade-off). Same layout rules as renderTable().
 */
import type { Output } from "../runtime.ts";

const MIN_WIDTH = 6;
const PADDING = 3;

/** Rows written in batches under one header. */
export class StreamTable {
  #out: Output;
  #headers: string[];
  #widths: number[];
  #rows: string[][] = [];
  #headerWritten = false;

  constructor(out: Output, headers: string[]) {
    this.#out = out;
    this.#headers = headers.map((h) => h.toUpperCase());
    this.#widths = this.#headers.map(() => MIN_WIDTH);
  }

  /** Queue a row until the next flush. */
  add(row: string[]): void {
    this.#rows.push(row);
  }

  /** Write the queued rows (and the header before the first). */
  flush(): void {
    if (this.#rows.length === 0) return;
    const lines = this.#headerWritten ? this.#rows : [this.#headers, ...this.#rows];
    for (const line of lines) {
      for (let c = 0; c < line.length - 1; c++) {
        this.#widths[c] = Math.max(this.#widths[c], [...line[c]].length + PADDING);
      }
    }
    let text = "";
    for (const line of lines) {
      text += line.map((cell, c) =>
        c < line.length - 1 ? cell + " ".repeat(this.#widths[c] - [...cell].length) : cell
      ).join("").trimEnd() + "\n";
    }
    this.#out.write(text);
    this.#rows = [];
    this.#headerWritten = true;
  }

  /** Whether any row was written. */
  get empty(): boolean {
    return !this.#headerWritten;
  }
}
