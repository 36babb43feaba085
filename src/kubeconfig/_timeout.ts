/** kubectl's `--request-timeout` (client-go's `clientcmd.ParseTimeout`). */

import { UsageError } from "../errors.ts";

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "\u00b5s": 1e-3,
  "\u03bcs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's `time.ParseDuration`, in milliseconds; undefined when the text is not a duration. */
export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest[0] === "-") sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let total = 0;
  const component = /^(\d*)(?:\.(\d*))?([^\d.]+)/;
  while (rest !== "") {
    const m = component.exec(rest);
    if (!m || (m[1] === "" && (m[2] ?? "") === "")) return undefined;
    const unit = UNIT_MS[m[3]];
    if (unit === undefined) return undefined;
    total += Number(`${m[1] || "0"}.${m[2] || "0"}`) * unit;
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}

/**
 * `--request-timeout` in milliseconds, undefined for none: a non-negative integer is seconds,
 * otherwise a Go duration ("5s", "1m30s"); zero or a negative duration means no timeout.
 */
export function parseRequestTimeout(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  let ms: number | undefined;
  if (/^[+-]?\d+$/.test(value) && Number(value) >= 0) ms = Number(value) * 1000;
  else ms = parseGoDuration(value);
  if (ms === undefined) {
    throw new UsageError(
      `Invalid "--request-timeout" value "${value}": use a whole number of seconds or a number ` +
        `with a unit (for example 1s, 2m, 3h)`,
    );
  }
  return ms > 0 ? ms : undefined;
}
