/** Small helpers shared by the command definitions. */
import type { ConnectionFlags } from "../kubeconfig/types.ts";

/** Collect a repeatable flag's values (`--audience a --audience b`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * kubectl's global connection flags from the root command's option values, keyed as `opts()`
 * keys them (`certificateAuthority`, `asGroup`); the one mapping, for commands and completion.
 */
export function connectionFlagsOf(o: Record<string, unknown>): ConnectionFlags {
  const text = (key: string) => typeof o[key] === "string" ? o[key] as string : undefined;
  const groups = o.asGroup;
  return {
    kubeconfig: text("kubeconfig"),
    context: text("context"),
    cluster: text("cluster"),
    user: text("user"),
    namespace: text("namespace"),
    server: text("server"),
    token: text("token"),
    certificateAuthority: text("certificateAuthority"),
    clientCertificate: text("clientCertificate"),
    clientKey: text("clientKey"),
    insecureSkipTlsVerify: o.insecureSkipTlsVerify === true || o.insecureSkipTlsVerify === "true"
      ? true
      : undefined,
    tlsServerName: text("tlsServerName"),
    as: text("as"),
    asGroups: Array.isArray(groups) ? groups : typeof groups === "string" ? [groups] : [],
    asUid: text("asUid"),
    requestTimeout: text("requestTimeout"),
  };
}
