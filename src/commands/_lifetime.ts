/** The `--duration` and `--audience` flags that every command asking for a token shares. */
import { UsageError } from "../errors.ts";
import { parseDurationFlag } from "../flags/duration.ts";

/** How strict {@link parseExpirationFlag} is. */
export interface ExpirationRules {
  /** Whether "0" may stand for the server's default lifetime. Default true. */
  allowZero?: boolean;
  /** Refuse positive lifetimes under the API server's 10-minute minimum. Default true. */
  serverMinimum?: boolean;
}

/**
 * `--duration` as TokenRequest `expirationSeconds`: a Go duration in whole seconds; undefined
 * when absent or 0 (the server's default). Usage errors name the flag.
 */
export function parseExpirationFlag(
  value: string | undefined,
  rules: ExpirationRules = {},
): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDurationFlag("--duration", value, { wholeSeconds: true });
  if (ms === 0 && (rules.allowZero ?? true)) return undefined;
  if (ms < 0 || (ms === 0 && rules.allowZero === false)) {
    throw new UsageError(`Invalid value "${value}" for flag --duration: must be more than 0`);
  }
  if ((rules.serverMinimum ?? true) && ms < 600_000) {
    throw new UsageError(`Invalid value "${value}" for flag --duration: must be at least 10m`);
  }
  return ms / 1000;
}

/** Check `--audience` values: none may be empty. */
export function checkAudiences(audiences: string[]): string[] {
  for (const a of audiences) {
    if (a.trim() === "") {
      throw new UsageError("Invalid value for flag --audience: must not be empty");
    }
  }
  return audiences;
}
