/**
 * Durations on the command line, read as kubectl reads them: Go's `time.ParseDuration`
 * ("90m", "1h30m", "1.5h"), and for long spans a leading number of days ("90d", "1d12h").
 * Durations are milliseconds (a `number`) throughout, like `Date` arithmetic.
 */
import { UsageError } from "../errors.ts";

/** Nanoseconds per millisecond. */
export const NS_PER_MS = 1_000_000n;
const MAX_NS = (1n << 63n) - 1n;

// Nanoseconds per unit, as in Go's time.unitMap (both spellings of the micro sign).
export const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  "\u00b5s": 1_000n,
  "\u03bcs": 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/**
 * Parses a duration with Go's `time.ParseDuration` rules ("90m", "1h30m", "1.5h", "-2s", "0")
 * and returns milliseconds; throws a plain Error naming the problem (callers add the flag).
 */
export function parseGoDuration(text: string): number {
  return nsToMs(parseGoDurationNs(text));
}

/** Options for {@link parseDurationFlag}. */
export interface DurationFlagOptions {
  /** Refuse values that are not a whole number of seconds, as `kubectl create token` does. */
  wholeSeconds?: boolean;
  /** Accept negative durations; they are refused by default. */
  allowNegative?: boolean;
}

/**
 * Parses the value of a duration flag (`--duration 90m`) into milliseconds; throws a
 * UsageError that names the flag and the value.
 */
export function parseDurationFlag(
  flag: string,
  text: string,
  opts: DurationFlagOptions = {},
): number {
  const name = flag.startsWith("-") ? flag : `--${flag}`;
  const prefix = `Invalid value "${text}" for flag ${name}`;
  let ns: bigint;
  try {
    ns = parseGoDurationNs(text);
  } catch {
    throw new UsageError(`${prefix}: expected a duration such as 90m or 1h30m`);
  }
  if (ns < 0n && !opts.allowNegative) {
    throw new UsageError(`${prefix}: the duration must not be negative`);
  }
  if (opts.wholeSeconds && ns % UNIT_NS.s !== 0n) {
    throw new UsageError(`${prefix}: the duration must be a whole number of seconds, such as 90s`);
  }
  return nsToMs(ns);
}

function parseGoDurationNs(orig: string): bigint {
  const fail = (why: string): never => {
    throw new Error(`Invalid duration "${orig}": ${why}`);
  };
  let s = orig;
  let negative = false;
  if (s.startsWith("-") || s.startsWith("+")) {
    negative = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") fail("expected a number followed by a unit such as 90m or 1h30m");
  let total = 0n;
  while (s !== "") {
    const match = /^([0-9]*)(?:\.([0-9]*))?/.exec(s)!;
    const [consumed, whole, fraction] = match;
    if (whole === "" && !fraction) {
      fail("expected a number followed by a unit such as 90m or 1h30m");
    }
    s = s.slice(consumed.length);
    const unitText = /^[^0-9.]*/.exec(s)![0];
    if (unitText === "") fail("missing unit (ns, us, ms, s, m or h)");
    const unit = UNIT_NS[unitText];
    if (unit === undefined) fail(`unknown unit "${unitText}"`);
    s = s.slice(unitText.length);
    let value = BigInt(whole || "0") * unit;
    if (fraction) {
      // Go keeps the fraction as an integer over a power of ten and truncates the product.
      const scale = 10n ** BigInt(fraction.length);
      value += BigInt(fraction) * unit / scale;
    }
    total += value;
    if (total > MAX_NS + 1n) fail("the duration is out of range");
  }
  if (!negative && total > MAX_NS) fail("the duration is out of range");
  return negative ? -total : total;
}

function nsToMs(ns: bigint): number {
  const whole = ns / NS_PER_MS;
  const rest = ns % NS_PER_MS;
  return Number(whole) + Number(rest) / 1e6;
}

/** Durations of days and more, for flags such as `--unused-for 90d`. */
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
