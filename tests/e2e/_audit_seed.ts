/** Seeding for the audit and revoke tests: token Secrets through the local server's store. */
import { type ApiServer, startApiServer } from "../apiserver/mod.ts";
import { CLOCK_ENV, processClock } from "../../src/runtime.ts";

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

/**
 * A registry entry of `create --revocable` (type kubectl-token.io/issued-token, no data) owned by
 * service account `sa`, for a token that expires at `expires`.
 */
export function issuedSecret(
  server: ApiServer,
  namespace: string,
  name: string,
  options: { sa: string; saUid: string; expires: Date; purpose?: string },
) {
  const rfc = (d: Date) => d.toISOString().replace(/\.\d+Z$/, "Z");
  return server.store.create({
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace,
      labels: { "kubectl-token.io/service-account": options.sa },
      annotations: {
        "kubectl-token.io/audiences": "[]",
        "kubectl-token.io/issued-at": rfc(new Date(options.expires.getTime() - 3_600_000)),
        "kubectl-token.io/expires-at": rfc(options.expires),
        "kubectl-token.io/fingerprint": "0123abcd4567",
        ...(options.purpose ? { "kubectl-token.io/purpose": options.purpose } : {}),
      },
      ownerReferences: [{
        apiVersion: "v1",
        kind: "ServiceAccount",
        name: options.sa,
        uid: options.saUid,
      }],
    },
    type: "kubectl-token.io/issued-token",
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

/** A local server whose clock and the CLI's both start at one pinned instant. */
export interface PinnedServer extends ApiServer {
  /** The instant both clocks started at. */
  at: Date;
  /** The environment for the CLI: this server's kubeconfig and the pinned clock. */
  env: Record<string, string>;
}

/**
 * Instants the time logic must hold at: the edges of a day, a month end, a leap day, a year end.
 * A test that passes at these passes at any hour.
 */
export const EDGE_INSTANTS = [
  "2026-12-02T00:00:01Z",
  "2026-12-02T11:59:00Z",
  "2026-12-02T12:01:00Z",
  "2026-11-30T23:59:59Z",
  "2028-02-29T12:00:00Z",
  "2026-12-31T23:59:59Z",
];

/**
 * One object of every kind of finding in namespace "team", plus bootstrap tokens, seen from
 * `at` (default: the first of {@link EDGE_INSTANTS}): the server and the CLI (through `env`) both
 * start their clocks there, so every age is the same at any time the test runs.
 */
export async function seedFindings(at: string = EDGE_INSTANTS[0]): Promise<PinnedServer> {
  const clock = processClock(at);
  let offset = 0;
  const server = await startApiServer({ now: () => new Date(clock().getTime() + offset) });
  const now = Date.parse(at);
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
  // Registry entries: tokens that expired a second and three days ago (never pruned), one that
  // expires in a second, and one whose service account is gone (no finding: not a legacy token).
  const issued = (name: string, expiresInMs: number, sa = "app", saUid = uid!) =>
    issuedSecret(server, "team", name, { sa, saUid, expires: new Date(now + expiresInMs) });
  offset = -3_601_000;
  issued("app-issued-b2c4d", -1000);
  offset = -3 * DAY_MS - 3_600_000;
  issued("app-issued-j7k8l", -3 * DAY_MS);
  offset = -3_599_000;
  issued("app-issued-f5g6h", 1000);
  offset = 0;
  issued("ghost-issued-m9n2p", 3_600_000, "ghost", "00000000-0000-0000-0000-00000000beef");
  bootstrapSecret(server, "aaaaaa", new Date(now - 3_600_000));
  bootstrapSecret(server, "bbbbbb");
  bootstrapSecret(server, "cccccc", new Date(now + 7_200_000));
  return Object.assign(server, {
    at: new Date(now),
    env: { KUBECONFIG: server.kubeconfigPath, [CLOCK_ENV]: at },
  });
}
