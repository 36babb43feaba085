/**
 * The ExecCredential an exec credential plugin answers with (client.authentication.k8s.io):
 * the one builder, for `exec-credential` and `create -o exec-credential`. It loads nothing, so
 * the exec-credential cache hit can use it.
 */
import { rfc3339 } from "../output/duration.ts";

/** The apiVersions of ExecCredential that client-go may ask for, the default first. */
export const EXEC_CREDENTIAL_VERSIONS = [
  "client.authentication.k8s.io/v1",
  "client.authentication.k8s.io/v1beta1",
] as const;

/** An ExecCredential document carrying `token`, as client-go expects from a plugin. */
export function execCredential(
  token: string,
  options: { expiresAt?: Date; apiVersion?: string } = {},
): Record<string, unknown> {
  const status: Record<string, unknown> = { token };
  // RFC 3339 in whole seconds, as client-go's metav1.Time writes it.
  if (options.expiresAt) status.expirationTimestamp = rfc3339(options.expiresAt);
  return {
    apiVersion: options.apiVersion ?? EXEC_CREDENTIAL_VERSIONS[0],
    kind: "ExecCredential",
    spec: { interactive: false },
    status,
  };
}
