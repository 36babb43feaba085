/** Seeding for the audit and revoke tests: token Secrets through the local server's store. */
import { type ApiServer, startApiServer } from "../apiserver/mod.ts";

/** A day as the legacy token labels write it. */
export function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Milliseconds in a day. */
export const DAY_MS = 86_400_000;

/**
 * A legacy token Secret, stored with its data already filled so that the token controller
 * leaves it alone (it would delete one whose service account is missing).
 */
export function tokenSecret(
  server: ApiServer,
  namespace: string,
  name: string,
  options: { sa: string; saUid?: string; labels?: Record<string, string> },
) {
  const annotations: Record<string, string> = { "kubernetes.io/service-account.name": options.sa };
  if (options.saUid) annotations["kubernetes.io/service-account.uid"] = options.saUid;
  return server.store.create({
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace,
      annotations,
      ...(options.labels ? { labels: options.labels } : {}),
    },
    type: "kubernetes.io/service-account-token",
    data: { token: btoa("not-a-real-token"), "ca.crt": btoa("ca"), namespace: btoa(namespace) },
  });
}

/** A bootstrap token Secret with the given expiration (none: never expires). */
export function bootstrapSecret(server: ApiServer, id: string, expiration?: Date) {
  const data: Record<string, string> = {
    "token-id": id,
    "token-secret": "0123456789abcdef",
    "usage-bootstrap-authentication": "true",
    "usage-bootstrap-signing": "true",
    "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
    description: `token ${id}`,
  };
  if (expiration) data.expiration = expiration.toISOString().replace(/\.\d+Z$/, "Z");
  return server.store.create({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `bootstrap-token-${id}`, namespace: "kube-system" },
    type: "bootstrap.kubernetes.io/token",
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, btoa(v)])),
  });
}

/** A namespace, straight into the store (the controller adds its `default` service account). */
export function namespace(server: ApiServer, name: string) {
  return server.store.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
}

/** A service account, straight into the store. */
export function serviceAccount(
  server: ApiServer,
  ns: string,
  name: string,
  extra: Record<string, unknown> = {},
) {
  return server.store.create({
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name, namespace: ns },
    ...extra,
  });
}

const LAST_USED = "kubernetes.io/legacy-token-last-used";
const INVALID_SINCE = "kubernetes.io/legacy-token-invalid-since";

/** One object of every kind of finding in namespace "team", plus bootstrap tokens. */
export async function seedFindings(): Promise<ApiServer> {
  let offset = 0;
  const server = await startApiServer({ now: () => new Date(Date.now() + offset) });
  const now = Date.now();
  const ago = (days: number) => day(new Date(now - days * DAY_MS));
  namespace(server, "team");
  const app = serviceAccount(server, "team", "app");
  serviceAccount(server, "team", "quiet", { automountServiceAccountToken: false });
  const uid = app.metadata.uid;
  tokenSecret(server, "team", "unused", {
    sa: "app",
    saUid: uid,
    labels: { [LAST_USED]: ago(200) },
  });
  tokenSecret(server, "team", "fresh", {
    sa: "app",
    saUid: uid,
    labels: { [LAST_USED]: ago(0) },
  });
  tokenSecret(server, "team", "ghost", { sa: "ghost" });
  tokenSecret(server, "team", "recreated", {
    sa: "app",
    saUid: "00000000-0000-0000-0000-000000000000",
    labels: { [LAST_USED]: ago(1) },
  });
  tokenSecret(server, "team", "invalid", {
    sa: "app",
    saUid: uid,
    labels: { [LAST_USED]: ago(400), [INVALID_SINCE]: ago(30) },
  });
  offset = -120 * DAY_MS;
  tokenSecret(server, "team", "never-old", { sa: "app", saUid: uid });
  offset = 0;
  tokenSecret(server, "team", "never-new", { sa: "app", saUid: uid });
  bootstrapSecret(server, "aaaaaa", new Date(now - 3_600_000));
  bootstrapSecret(server, "bbbbbb");
  bootstrapSecret(server, "cccccc", new Date(now + 7_200_000));
  return server;
}
