/** Durations of days and more, for flags such as `--unused-for 90d`. */
import { UsageError } from "../errors.ts";
import { parseDurationFlag } from "../output/duration.ts";

const DAY_MS = 24 * 3_600_000;

/**
 * Parse a flag value as a Go duration with a leading number of days allowed: "90d", "1d12h",
 * "2160h", "45m". Throws a UsageError that names the flag.
 */
export function parseDaysFlag(flag: string, text: string): number {
  const m = /^(\d+)d(.*)$/.exec(text.trim());
  if (!m) {
    try {
      return parseDurationFlag(flag, text.trim());
    } catch (e) {
      if (e instanceof UsageError) {
        throw new UsageError(
          `Invalid value "${text}" for flag --${flag}: expected a duration such as 90d, 36h or 1h30m`,
        );
      }
      throw e;
    }
  }
  const days = Number(m[1]) * DAY_MS;
  if (m[2] === "") return days;
  try {
    return days + parseDurationFlag(flag, m[2]);
  } catch {
    throw new UsageError(
      `Invalid value "${text}" for flag --${flag}: expected a duration such as 90d, 36h or 1h30m`,
    );
  }
}
