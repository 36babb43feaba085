/** Errors that main() turns into one line on stderr and an exit code. */

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A failure while doing the work: exit code 1. `detail` is shown only with `-v 6` or more. */
export class CliError extends Error {
  override name = "CliError";
  detail?: string;
  constructor(message: string, options?: { detail?: string; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.detail = options?.detail;
  }
}
