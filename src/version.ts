/** The one version source: deno.json. */
import denoJson from "../deno.json" with { type: "json" };

/** kubectl-token's version, with a leading "v" as kubectl prints versions. */
export const VERSION: string = `v${denoJson.version}`;
