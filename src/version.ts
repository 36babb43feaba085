/** The one version source (deno.json) and what the build stamps in. */
import denoJson from "../deno.json" with { type: "json" };

/** kubectl-token's version, with a leading "v" as kubectl prints versions. */
export const VERSION: string = `v${denoJson.version}`;

/** The version of @kubernetes/client-node this build pins. */
export const CLIENT_LIBRARY_VERSION: string =
  /@([^@/]+)$/.exec(denoJson.imports["@kubernetes/client-node"])?.[1] ?? "unknown";

/**
 * scripts/bundle.ts replaces this placeholder in the bundle with the commit the build comes
 * from (the bundle is also what `deno compile` packs); run from source it stays a placeholder.
 */
const COMMIT_STAMP: string = "@@KUBECTL_TOKEN_BUILD_COMMIT@@";

/** The git commit the program was built from, or "unknown" when run from source. */
export const BUILD_COMMIT: string = COMMIT_STAMP.startsWith("@@") ? "unknown" : COMMIT_STAMP;
