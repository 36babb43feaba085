/** Kubeconfig shapes, as kubectl reads them, and the connection they resolve to. */

/** A cluster entry (`clusters[].cluster`), paths already absolute. */
export interface Cluster {
  server?: string;
  certificateAuthority?: string;
  /** Base64, as written in the file. */
  certificateAuthorityData?: string;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
  proxyUrl?: string;
  disableCompression?: boolean;
  /** `extensions[]` entries; `client.authentication.k8s.io/exec` is passed to exec plugins. */
  extensions?: { name: string; extension: unknown }[];
}

/** An exec credential plugin (`users[].user.exec`). */
export interface ExecConfig {
  apiVersion: string;
  command: string;
  args?: string[];
  env?: { name: string; value: string }[];
  installHint?: string;
  provideClusterInfo?: boolean;
  interactiveMode?: "Never" | "IfAvailable" | "Always";
}

/** A user entry (`users[].user`), paths already absolute. */
export interface AuthInfo {
  token?: string;
  tokenFile?: string;
  clientCertificate?: string;
  /** Base64, as written in the file. */
  clientCertificateData?: string;
  clientKey?: string;
  /** Base64, as written in the file. */
  clientKeyData?: string;
  username?: string;
  password?: string;
  exec?: ExecConfig;
  authProvider?: { name: string; config?: Record<string, string> };
  as?: string;
  asUid?: string;
  asGroups?: string[];
  asUserExtra?: Record<string, string[]>;
}

/** A context entry. */
export interface Context {
  cluster: string;
  user: string;
  namespace?: string;
}

/** One kubeconfig file as read, before merging; file paths inside it are already absolute. */
export interface KubeconfigFile {
  /** Absolute path of the file. */
  path: string;
  clusters: { name: string; cluster: Cluster }[];
  users: { name: string; user: AuthInfo }[];
  contexts: { name: string; context: Context }[];
  currentContext?: string;
  preferences?: Record<string, unknown>;
  extensions?: { name: string; extension: unknown }[];
}

/** A named entry and the file that defined it (first file wins). */
export interface Sourced<T> {
  name: string;
  value: T;
  /** Absolute path of the kubeconfig file that defines it. */
  file: string;
}

/** Several kubeconfig files merged the way client-go merges them. */
export interface MergedKubeconfig {
  files: string[];
  clusters: Map<string, Sourced<Cluster>>;
  users: Map<string, Sourced<AuthInfo>>;
  contexts: Map<string, Sourced<Context>>;
  currentContext?: string;
}

/** kubectl's global connection flags. */
export interface ConnectionFlags {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
  namespace?: string;
  server?: string;
  token?: string;
  certificateAuthority?: string;
  clientCertificate?: string;
  clientKey?: string;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
  as?: string;
  asGroups?: string[];
  asUid?: string;
  /** kubectl's `--request-timeout` value, as given ("0" means no timeout). */
  requestTimeout?: string;
}

/** How the client authenticates, after flags and kubeconfig are combined. */
export type AuthMethod =
  | { kind: "token"; token: string }
  | { kind: "token-file"; path: string }
  | { kind: "client-certificate"; certPem: string; keyPem: string }
  | { kind: "exec"; exec: ExecConfig }
  | { kind: "basic"; username: string; password: string }
  | { kind: "auth-provider"; name: string }
  | { kind: "none" };

/** A fully resolved connection: what the API client needs, and where it came from. */
export interface RestConfig {
  server: string;
  /** Effective namespace: flag, then context, then in-cluster file, then "default". */
  namespace: string;
  /** Whether the namespace was given by `-n`. */
  namespaceFromFlag: boolean;
  contextName?: string;
  clusterName?: string;
  userName?: string;
  /** PEM bundle of trusted CAs; undefined means the system roots. */
  caPem?: string;
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string;
  /** Proxy to use (kubeconfig `proxy-url`, else HTTPS_PROXY/NO_PROXY from the environment). */
  proxyUrl?: string;
  auth: AuthMethod;
  /**
   * A client certificate presented in the TLS handshake next to a token or basic auth. kubectl
   * sends both when the user entry (or a flag) supplies both; the API server then prefers the
   * certificate. Unset when `auth` is itself a client certificate.
   */
  tlsClientCertificate?: { certPem: string; keyPem: string };
  /** The cluster entry as given (passed to exec plugins with provideClusterInfo). */
  cluster: Cluster;
  impersonate?: { user?: string; uid?: string; groups: string[]; extra: Record<string, string[]> };
  /** Set when the user has a credential that is not used because the server is plain HTTP. */
  credentialWithheld?: boolean;
  /** Request timeout in milliseconds; undefined for none. */
  timeoutMs?: number;
  /** Where the configuration came from. */
  origin: {
    kind: "kubeconfig" | "in-cluster" | "flags";
    /** kubeconfig files considered, in order. */
    files: string[];
    /** The file that defines the user, when the user came from a kubeconfig. */
    userFile?: string;
  };
}

/** A credential ready to put on the wire. */
export interface Credential {
  token?: string;
  certPem?: string;
  keyPem?: string;
  username?: string;
  password?: string;
  /** When the credential stops working, when known (exec plugin status, JWT exp). */
  expiresAt?: Date;
  /** How it was obtained: "token", "token-file", "exec", "client-certificate", "in-cluster", ... */
  source: string;
}
