/**
 * The time check of a token as the API server makes it (go-jose `ValidateWithLeeway`): `exp` and
 * `nbf` with a leeway for clock skew, 60 s by default (`jwt.DefaultLeeway`). A token is refused
 * once `now - leeway` is after `exp`, so with 60 s it still works 60 s after its expiry.
 */
import { humanDuration, relativeTime, rfc3339 } from "../output/duration.ts";

/** The API server's leeway on `exp` and `nbf`, in milliseconds. */
export const SERVER_LEEWAY_MS = 60_000;

/** The token's time claims, as inspectToken() reads them. */
export interface TokenTimes {
  expiresAt?: Date;
  notBefore?: Date;
  /** Time claims that are present but not valid NumericDates ("exp", "nbf", "iat"). */
  invalidTimeClaims: string[];
}

/** The outcome of {@link checkTimes}: valid or not, and one line saying why. */
export interface TimeCheck {
  valid: boolean;
  /** "expires in 47m", "expired 60m ago", "expired 30s ago, within the 60 s leeway ...". */
  text: string;
  leewaySeconds: number;
}

/** Check `exp` and `nbf` at `now` with `leewayMs` of clock skew (default: the server's 60 s). */
export function checkTimes(
  times: TokenTimes,
  now: Date,
  options: { leewayMs?: number } = {},
): TimeCheck {
  const leewayMs = options.leewayMs ?? SERVER_LEEWAY_MS;
  const leewaySeconds = leewayMs / 1000;
  const result = (valid: boolean, text: string): TimeCheck => ({ valid, text, leewaySeconds });
  if (times.invalidTimeClaims.length > 0) {
    const names = times.invalidTimeClaims.map((c) => `"${c}"`).join(", ");
    const claim = times.invalidTimeClaims.length === 1
      ? `claim ${names} is`
      : `claims ${names} are`;
    return result(false, `${claim} not a valid NumericDate (seconds since 1970)`);
  }
  const leeway = leewayMs === SERVER_LEEWAY_MS
    ? "the 60 s leeway the API server allows"
    : `the ${leewaySeconds} s leeway of --leeway`;
  const nowMs = now.getTime();
  const nbf = times.notBefore;
  if (nbf && nowMs + leewayMs < nbf.getTime()) {
    return result(false, `not valid before ${rfc3339(nbf)} (${relativeTime(nbf, now)})`);
  }
  const exp = times.expiresAt;
  if (!exp) return result(true, "never expires (the token has no expiry)");
  const late = nowMs - exp.getTime();
  if (late > leewayMs) return result(false, `expired ${humanDuration(late)} ago`);
  if (late >= 0) return result(true, `expired ${humanDuration(late)} ago, within ${leeway}`);
  return result(true, `expires in ${humanDuration(-late)}`);
}
