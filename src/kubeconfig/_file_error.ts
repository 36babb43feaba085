/** Short, path-free reasons for failed file reads (the caller names the file). */

/** "no such file or directory", "permission denied", ... for an error thrown by a file read. */
export function fileErrorDetail(e: unknown): string {
  const name = e instanceof Error ? e.name : "";
  switch (name) {
    case "NotFound":
      return "no such file or directory";
    case "PermissionDenied":
      return "permission denied";
    case "IsADirectory":
      return "is a directory";
    default:
      return e instanceof Error ? e.message : String(e);
  }
}
