/**
 * The one formatter for failed file reads and writes, so that every file named on the command
 * line or in a kubeconfig fails the same way: `Cannot read token file "/x": no such file or
 * directory`. The runtime's own text ("(os error 2): readfile '/x'") never reaches the user.
 */
import { CliError } from "../errors.ts";

const REASONS: Record<string, string> = {
  NotFound: "no such file or directory",
  PermissionDenied: "permission denied",
  IsADirectory: "is a directory",
  NotADirectory: "a part of the path is not a directory",
  AlreadyExists: "the file already exists",
  FilesystemLoop: "too many levels of symbolic links",
  InvalidData: "the file is not valid text",
  Busy: "the file is busy",
  TimedOut: "timed out",
  Interrupted: "interrupted",
};

/** A short reason for an error thrown by a file operation: "no such file or directory". */
export function fileErrorDetail(e: unknown): string {
  const name = e instanceof Error ? e.name : "";
  if (name in REASONS) return REASONS[name];
  const message = e instanceof Error ? e.message : String(e);
  // Deno: "Not a directory (os error 20): readfile '/a/b'"; Node: "ENOENT: no such file, open '/a'".
  const text = message
    .replace(/\s*\(os error \d+\)/g, "")
    .replace(/[:,]\s*[a-z_]+\s+'[^']*'(\s*->\s*'[^']*')?\s*$/i, "")
    .replace(/^E[A-Z]+:\s*/, "")
    .trim();
  if (text === "") return "the file cannot be used";
  return text[0].toLowerCase() + text.slice(1);
}

/**
 * The error for a failed file operation, `Cannot <what>: <reason>`, where `what` says what was
 * done to which file: `read token file "/x"`, `read key set "jwks.json"`, `write kubeconfig "/y"`.
 */
export function fileError(what: string, e: unknown): CliError {
  return new CliError(`Cannot ${what}: ${fileErrorDetail(e)}`, { cause: e });
}
