/** What every command receives: the runtime, kubectl's global flags and lazy cluster access. */
import type { ApiClient } from "./api/client.ts";
import type { ConnectionFlags, Credential, RestConfig } from "./kubeconfig/types.ts";
import type { Runtime } from "./runtime.ts";
import { VERSION } from "./version.ts";
import { redactorOf } from "./output/redact.ts";
import { encodeBase64 } from "./encoding/base64.ts";

/** Per-run state shared by the commands; resolves configuration and credential once. */
export class CommandContext {
  readonly runtime: Runtime;
  readonly flags: ConnectionFlags;
  readonly verbosity: number;
  #config?: Promise<RestConfig>;
  #credential?: Promise<Credential>;
  #client?: Promise<ApiClient>;

  constructor(runtime: Runtime, flags: ConnectionFlags, verbosity: number) {
    this.runtime = runtime;
    this.flags = flags;
    this.verbosity = verbosity;
  }

  /** The connection kubectl would use with the same flags and environment. */
  config(): Promise<RestConfig> {
    // Resolving the connection means a request usually follows: warm TLS up meanwhile.
    if (!this.#config) this.runtime.warmCrypto?.();
    this.#config ??= import("./kubeconfig/resolve.ts").then((m) =>
      m.resolveRestConfig(this.runtime, this.flags)
    );
    return this.#config;
  }

  /** The credential of that connection (runs exec plugins, reads token files). */
  credential(): Promise<Credential> {
    this.#credential ??= Promise.all([this.config(), import("./kubeconfig/credentials.ts")])
      .then(async ([config, m]) => {
        if (config.credentialWithheld) {
          this.warn(
            `the server "${config.server}" is plain HTTP: the credential of ` +
              `${config.userName ? `user "${config.userName}"` : "the flags"} is not sent over ` +
              `it (as kubectl does not)`,
          );
        }
        const credential = await m.getCredential(this.runtime, config);
        this.secret(credential.token);
        this.secret(credential.password);
        this.secret(credential.keyPem);
        if (credential.username !== undefined) {
          // As the Authorization header carries it (UTF-8, as kubectl sends it).
          this.secret(encodeBase64(`${credential.username}:${credential.password ?? ""}`));
        }
        if (this.flags.token && credential.certPem) {
          // kubectl sends both, and the API server goes by the certificate.
          this.warn(
            "--token is sent together with the client certificate of the kubeconfig user; " +
              "the API server authenticates the certificate",
          );
        }
        return credential;
      });
    return this.#credential;
  }

  /** An API client for that connection. */
  client(): Promise<ApiClient> {
    this.#client ??= Promise.all([this.config(), import("./api/client.ts")]).then((
      [config, m],
    ) =>
      new m.ApiClient(config, {
        runtime: this.runtime,
        credential: () => this.credential(),
        verbosity: this.verbosity,
        userAgent: `kubectl-token/${VERSION}`,
      })
    );
    return this.#client;
  }

  /**
   * A context for the same connection that authenticates with `credential` instead (e.g. to
   * check a freshly issued token); close it when done.
   */
  withCredential(credential: Credential): CommandContext {
    const ctx = new CommandContext(this.runtime, this.flags, this.verbosity);
    ctx.#config = this.config();
    ctx.#credential = Promise.resolve(credential);
    return ctx;
  }

  /** Close connections so that the process can exit at once. */
  async close(): Promise<void> {
    if (this.#client) (await this.#client.catch(() => undefined))?.close();
  }

  /** Remember a secret the run holds (a token it read or obtained): stderr never shows it. */
  secret(value: string | undefined): void {
    redactorOf(this.runtime).add(value);
  }

  /** Print a diagnostic line on stderr when the verbosity is at least `level`. */
  log(level: number, line: string): void {
    if (this.verbosity >= level) this.runtime.stderr.write(`I ${line}\n`);
  }

  /** Print a warning line on stderr, the way kubectl prints server warnings. */
  warn(line: string): void {
    this.runtime.stderr.write(`Warning: ${line}\n`);
  }
}
