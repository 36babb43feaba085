/**
 * A local Kubernetes API server for tests: TLS with client certificates, discovery, core CRUD,
 * TokenRequest, TokenReview, the self-subject reviews, RBAC and the token controllers.
 *
 * Run kubectl against it with `--kubeconfig server.kubeconfigPath`, and point KUBECACHEDIR at
 * a temporary folder so kubectl's discovery cache never mixes two servers that reused a port.
 * As on a real cluster, a client certificate authenticates before a bearer token, so
 * `--token` on top of the admin kubeconfig still acts as the admin: use writeKubeconfig().
 *
 * With `auditLog` and `auditWebhook` it records `audit.k8s.io/v1` Events as a 1.32
 * kube-apiserver does at Metadata level (see _audit.ts): a JSON-lines log written before each
 * answer, and EventList batches POSTed to a webhook that may be absent.
 *
 * @module
 */
export {
  type ApiServer,
  type ApiServerOptions,
  type ApiServerStore,
  type AuditWebhookOptions,
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
