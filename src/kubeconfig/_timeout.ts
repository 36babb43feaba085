/** kubectl's `--request-timeout` (client-go's `clientcmd.ParseTimeout`). */

import { UsageError } from "../errors.ts";
import { parseGoDuration } from "../flags/duration.ts";

/**
 * `--request-timeout` in milliseconds, undefined for none: a non-negative integer is seconds,
 * otherwise a Go duration ("5s", "1m30s"); zero or a negative duration means no timeout.
 */
export function parseRequestTimeout(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  let ms: number;
  if (/^[+-]?\d+$/.test(value) && Number(value) >= 0) ms = Number(value) * 1000;
  else {
    try {
      ms = parseGoDuration(value);
    } catch {
      throw new UsageError(
        `Invalid value "${value}" for flag --request-timeout: use a whole number of seconds or ` +
          `a number with a unit (for example 1s, 2m, 3h)`,
      );
    }
  }
  return ms > 0 ? ms : undefined;
}
