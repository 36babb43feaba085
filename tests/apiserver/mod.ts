/**
 * A local Kubernetes API server for tests: TLS with client certificates, discovery, core CRUD,
 * TokenRequest, TokenReview, the self-subject reviews, RBAC and the token controllers.
 *
 * Run kubectl against it with `--kubeconfig server.kubeconfigPath`, and point KUBECACHEDIR at
 * a temporary folder so kubectl's discovery cache never mixes two servers that reused a port.
 * As on a real cluster, a client certificate authenticates before a bearer token, so
 * `--token` on top of the admin kubeconfig still acts as the admin: use writeKubeconfig().
 *
 * @module
 */
export {
  type ApiServer,
  type ApiServerOptions,
  type ApiServerStore,
  DEFAULT_ISSUER,
  type Fault,
  type FaultAnswer,
  type FaultRequest,
  type KubeObject,
  type ObjectMeta,
  type RecordedRequest,
  startApiServer,
  type UserInfo,
} from "./server.ts";
