/**
 * Durations and times as Kubernetes and kubectl write them: Go's `Duration.String`,
 * apimachinery's `duration.HumanDuration`, and RFC 3339 timestamps. (Reading durations from
 * flags is input: src/flags/duration.ts.)
 *
 * Durations are milliseconds (a `number`) throughout, like `Date` arithmetic.
 */

import { NS_PER_MS, UNIT_NS } from "../flags/duration.ts";

/** Formats milliseconds like Go's `Duration.String`: "1h30m0s", "10m0s", "1.5s", "300ms". */
export function formatGoDuration(ms: number): string {
  let ns = msToNs(ms);
  const negative = ns < 0n;
  if (negative) ns = -ns;
  let text: string;
  if (ns < UNIT_NS.s) {
    if (ns === 0n) return "0s";
    if (ns < UNIT_NS.us) text = `${ns}ns`;
    else if (ns < UNIT_NS.ms) text = `${fixedPoint(ns, 3)}\u00b5s`;
    else text = `${fixedPoint(ns, 6)}ms`;
  } else {
    const totalSeconds = ns / UNIT_NS.s;
    const seconds = fixedPoint(ns % (60n * UNIT_NS.s), 9);
    const minutes = totalSeconds / 60n % 60n;
    const hours = totalSeconds / 3600n;
    if (hours > 0n) text = `${hours}h${minutes}m${seconds}s`;
    else if (minutes > 0n) text = `${minutes}m${seconds}s`;
    else text = `${seconds}s`;
  }
  return negative ? `-${text}` : text;
}

/**
 * Formats milliseconds like apimachinery's `duration.HumanDuration` (the AGE column of
 * kubectl): "45s", "3m10s", "47m", "3h5m", "20h", "2d3h", "45d", "2y", "2y1d", "9y".
 */
export function humanDuration(ms: number): string {
  // Like upstream, up to two seconds in the past counts as now, to absorb clock skew.
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(ms / 3_600_000);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

/**
 * Formats a whole-second duration exactly, dropping zero units: "1h", "1h30m", "10m", "24h",
 * "2d3h" (days from 48 hours on, as HumanDuration does). Fractions of a second are dropped.
 */
export function compactDuration(ms: number): string {
  const negative = ms < 0;
  let seconds = Math.floor(Math.abs(ms) / 1000);
  if (seconds === 0) return "0s";
  const parts: string[] = [];
  if (seconds >= 48 * 3600) {
    parts.push(`${Math.floor(seconds / 86400)}d`);
    seconds %= 86400;
  }
  const units: [number, string][] = [[3600, "h"], [60, "m"], [1, "s"]];
  for (const [size, unit] of units) {
    if (seconds >= size) parts.push(`${Math.floor(seconds / size)}${unit}`);
    seconds %= size;
  }
  return (negative ? "-" : "") + parts.join("");
}

/** Says how far `target` is from `now`: "in 47m" or "47m ago" (the same instant is "0s ago"). */
export function relativeTime(target: Date, now: Date): string {
  const diff = target.getTime() - now.getTime();
  return diff > 0 ? `in ${humanDuration(diff)}` : `${humanDuration(-diff)} ago`;
}

/** Describes an expiry time: "expires in 47m" or "expired 3h ago" (a token is expired at `exp`). */
export function expiryPhrase(exp: Date, now: Date): string {
  const diff = exp.getTime() - now.getTime();
  return diff > 0 ? `expires in ${humanDuration(diff)}` : `expired ${humanDuration(-diff)} ago`;
}

/** Formats a time as RFC 3339 in UTC with whole seconds ("2026-11-29T01:00:00Z"), as Kubernetes does. */
export function rfc3339(date: Date): string {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new RangeError("Cannot format an invalid date");
  const year = date.getUTCFullYear();
  const yearText = year < 0 ? `-${pad(-year, 4)}` : pad(year, 4);
  return `${yearText}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}T` +
    `${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${
      pad(date.getUTCSeconds(), 2)
    }Z`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function msToNs(ms: number): bigint {
  if (!Number.isFinite(ms)) throw new RangeError(`Cannot format duration "${ms}"`);
  const whole = Math.trunc(ms);
  return BigInt(whole) * NS_PER_MS + BigInt(Math.round((ms - whole) * 1e6));
}

// Writes `value / 10^digits` with the fraction's trailing zeros dropped, like Go's fmtFrac.
function fixedPoint(value: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  const whole = value / scale;
  const fraction = (value % scale).toString().padStart(digits, "0").replace(/0+$/, "");
  return fraction === "" ? `${whole}` : `${whole}.${fraction}`;
}
