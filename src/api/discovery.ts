/** What a server says about itself: its version, and its service-account signing keys. */
import type { ApiClient } from "./client.ts";

/** The answer of `/version`. */
export interface ServerVersion {
  major?: string;
  minor?: string;
  gitVersion?: string;
}

/** GET the server's version. */
export function getServerVersion(client: ApiClient): Promise<ServerVersion> {
  return client.get<ServerVersion>("/version");
}

const JWKS_PATH = "/openid/v1/jwks";

/** GET the key set the server signs service-account tokens with; `url` says where it came from. */
export async function getJwks(client: ApiClient): Promise<{ jwks: unknown; url: string }> {
  const jwks = await client.get<unknown>(JWKS_PATH);
  return { jwks, url: `${client.config.server}${JWKS_PATH}` };
}
