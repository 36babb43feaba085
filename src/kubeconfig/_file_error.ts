/** Kept for older imports: the file-error formatter lives in src/fs/file_error.ts. */
export { fileError, fileErrorDetail } from "../fs/file_error.ts";
