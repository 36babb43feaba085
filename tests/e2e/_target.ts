/**
 * The one place that decides which cluster the end-to-end tests target: the local test API
 * server by default, or a real cluster when KUBECTL_TOKEN_E2E_KUBECONFIG names an admin
 * kubeconfig for it (`deno task test:real` builds, starts and targets a real kube-apiserver
 * 1.20.2; see scripts/kube_up.sh).
 *
 * Tests must pass on both. Where a server lacks something, a test checks the documented fallback
 * (branching on `target.capabilities`) instead of skipping silently, and says so with
 * `target.note(...)`. Tests that need the local server's knobs (fault injection, switching API
 * versions off, seeding the store) use `target.local`, which is undefined on a real cluster:
 * such a test or step is declared with `ignore: REAL_TARGET` (or `ignore: !target.local`,
 * `ignore: !target.capabilities.x` on a step), so that it reports as ignored, never as passed.
 *
 * ```ts
 * const target = await startTarget();
 * if (target.capabilities.credentialId) assert.ok(claims(token).jti);
 * else target.note("no jti claim before 1.29: the credential ID row is absent");
 * ```
 *
 * On a real cluster seed objects through kubectl (`create()`, `admin()` in _cluster.ts), wait
 * for controllers and the ~10 s token-login cache with `eventually()` (`authCacheSeconds`), get a
 * filled legacy token with `legacyToken()`, and ask who kubectl is with `kubectlUser()` (works
 * without SelfSubjectReview). The cluster is shared by all tests of a run: use fresh namespaces
 * and random names in kube-system, and do not expect to see only your own objects there.
 *
 * Capabilities come from the server's /version and discovery; what cannot be discovered
 * (bootstrap-token authentication, the maximum token lifetime, the bootstrap controllers) comes
 * from a JSON file named by KUBECTL_TOKEN_E2E_TARGET, e.g. `{"bootstrapTokenAuth": true}`, whose
 * fields override the detected ones (scripts/kube_up.sh writes one as `target.json`).
 *
 * Both targets keep an audit trail: `target.auditLogPath` is the API server's JSON-lines audit
 * log (Metadata level, RequestReceived omitted; an event is in it by the time its answer
 * arrived), and the server POSTs `audit.k8s.io/v1` EventList batches (at most ~1 s apart) to
 * `https://<target.auditWebhook.listen>`, trusting the CA of `auditWebhook.certFile`: a test
 * listens there with that certificate and key (`kubectl token usage serve`) to receive them.
 * Batches sent while nobody listens are dropped.
 */
import { Buffer } from "node:buffer";
import { request } from "node:https";
import { join } from "node:path";
import { CertificateAuthority } from "../apiserver/_pki.ts";
import { startApiServer } from "../apiserver/mod.ts";
import type { ApiServer, ApiServerOptions } from "../apiserver/mod.ts";
import { runKubectl } from "./_cli.ts";

/** What the target's API server does, where Kubernetes versions or set-ups differ. */
export interface Capabilities {
  /** From /version, e.g. {major: 1, minor: 20, gitVersion: "v1.20.2"}. */
  version: { major: number; minor: number; gitVersion: string };
  /** Some SelfSubjectReview version is served (1.26+ alpha, 1.27 beta, 1.28 GA); else `whoami` falls back to TokenReview or the credential's own claims. */
  selfSubjectReview: boolean;
  /** Bound tokens carry `jti`, and authenticated users the `authentication.kubernetes.io/credential-id` extra (1.29+). */
  credentialId: boolean;
  /** TokenRequest accepts a Node as the bound object (1.31+); older servers refuse it. */
  nodeBoundTokens: boolean;
  /** Pod-bound tokens also name the Pod's Node (1.30+). */
  podNodeClaim: boolean;
  /** The token controller creates a legacy token Secret for every service account (before 1.24). */
  legacyTokenAutoCreated: boolean;
  /** The server labels a used legacy token Secret `kubernetes.io/legacy-token-last-used` (1.28+). */
  legacyTokenLastUsedLabel: boolean;
  /** Legacy tokens labelled `kubernetes.io/legacy-token-invalid-since` are refused (1.29+). */
  legacyTokenInvalidSinceLabel: boolean;
  /** TokenRequest refuses shorter lifetimes with 422 (10 minutes everywhere). */
  minTokenSeconds: number;
  /** How long a successful token login is cached: a deleted token still works that long. */
  authCacheSeconds: number;
  /** The server runs with --enable-bootstrap-token-auth (not discoverable; default: local yes, real no). */
  bootstrapTokenAuth: boolean;
  /**
   * kube-controller-manager runs the bootstrapsigner and tokencleaner controllers, and
   * kube-public/cluster-info exists as kubeadm makes it (anonymous may read it), so signing
   * bootstrap tokens get a `jws-kubeconfig-<token-id>` key there.
   */
  bootstrapControllers: boolean;
  /** Like --service-account-max-token-expiration, when known; longer requests are shortened. */
  maxTokenExpirationSeconds?: number;
}

/** A cluster to run the suite against. */
export interface Target {
  /** Admin kubeconfig (cluster-admin rights). */
  kubeconfig: string;
  /** The local server, when the target is local: lets tests seed objects and inject faults. */
  local?: ApiServer;
  /** "local" (tests/apiserver) or "real" (a cluster from KUBECTL_TOKEN_E2E_KUBECONFIG). */
  kind: "local" | "real";
  /** What the server does; see {@link Capabilities}. */
  capabilities: Capabilities;
  /** Print why a test or step skips, or which fallback it checks, on this target. */
  note(message: string): void;
  /**
   * The requests the server has answered so far: the local server's request log, or a real
   * server's audit log (`auditLog` in KUBECTL_TOKEN_E2E_TARGET; scripts/kube_up.sh turns it on).
   * Throws where the target keeps no such log, so a count is never silently not checked.
   */
  requests(): Promise<SeenRequest[]>;
  /**
   * The API server's audit log: `audit.k8s.io/v1` Events, one JSON object a line. Throws where
   * the target names none (a real cluster without `auditLog` in KUBECTL_TOKEN_E2E_TARGET).
   */
  readonly auditLogPath: string;
  /**
   * Where the API server sends audit EventList batches: it POSTs to `https://<listen>` and
   * trusts `certFile`, which a receiver serves with `keyFile`. Throws where the target names
   * none (a real cluster without `auditWebhook` in KUBECTL_TOKEN_E2E_TARGET).
   */
  readonly auditWebhook: AuditWebhookTarget;
  close(): Promise<void>;
}

/** The address and serving credentials of the target's audit webhook receiver. */
export interface AuditWebhookTarget {
  /** HOST:PORT, e.g. 127.0.0.1:40123. */
  listen: string;
  /** PEM serving certificate for 127.0.0.1 that the API server trusts. */
  certFile: string;
  /** Its PEM private key. */
  keyFile: string;
}

/** One request as the server saw it. */
export interface SeenRequest {
  method: string;
  /** The path without the query. */
  path: string;
  /** The query parameters (the last value of each). */
  query: Record<string, string>;
  /** The authenticated user name, when authentication succeeded. */
  user?: string;
}

const METHOD_OF_VERB: Record<string, string> = {
  create: "POST",
  get: "GET",
  list: "GET",
  watch: "GET",
  update: "PUT",
  patch: "PATCH",
  delete: "DELETE",
  deletecollection: "DELETE",
};

/** The requests of an audit log of `audit.k8s.io/v1` Events (JSON lines), the marker left out. */
function auditLogRequests(text: string, marker: string): SeenRequest[] {
  const seen: SeenRequest[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim() || line.includes(marker)) continue;
    const event = JSON.parse(line) as {
      stage?: string;
      verb?: string;
      requestURI?: string;
      user?: { username?: string };
      responseStatus?: { code?: number };
    };
    if (event.stage !== "ResponseComplete" && event.stage !== "Panic") continue;
    const [path, query = ""] = (event.requestURI ?? "").split("?", 2);
    seen.push({
      method: METHOD_OF_VERB[event.verb ?? ""] ?? (event.verb ?? "").toUpperCase(),
      path,
      query: Object.fromEntries(new URLSearchParams(query)),
      user: event.responseStatus?.code === 401 ? undefined : event.user?.username,
    });
  }
  return seen;
}

/** Capabilities that follow from the server's version alone. */
export function capabilitiesFor(
  version: { major: string | number; minor: string | number; gitVersion: string },
  kind: "local" | "real",
): Capabilities {
  const minor = parseInt(String(version.minor), 10);
  const major = parseInt(String(version.major), 10);
  const atLeast = (m: number) => major > 1 || (major === 1 && minor >= m);
  return {
    version: { major, minor, gitVersion: version.gitVersion },
    selfSubjectReview: atLeast(28),
    credentialId: atLeast(29),
    nodeBoundTokens: atLeast(31),
    podNodeClaim: atLeast(30),
    legacyTokenAutoCreated: !atLeast(24),
    legacyTokenLastUsedLabel: atLeast(28),
    legacyTokenInvalidSinceLabel: atLeast(29),
    minTokenSeconds: 600,
    authCacheSeconds: kind === "real" ? 10 : 0,
    bootstrapTokenAuth: kind === "local",
    bootstrapControllers: false,
  };
}

/** The local server's capabilities: those of the version it plays, minus what options turn off. */
async function localCapabilities(
  server: ApiServer,
  options: ApiServerOptions,
): Promise<Capabilities> {
  const version = JSON.parse(await localGet(server, "/version"));
  const caps = capabilitiesFor(version, "local");
  const off = new Set(options.disabledVersions ?? []);
  caps.selfSubjectReview &&= ["v1", "v1beta1", "v1alpha1"].some((v) =>
    !off.has(`authentication.k8s.io/${v}`) &&
    !off.has(`authentication.k8s.io/${v}/selfsubjectreviews`)
  );
  if (options.maxTokenExpirationSeconds) {
    caps.maxTokenExpirationSeconds = options.maxTokenExpirationSeconds;
  }
  return caps;
}

/** GET a path from the local server as its admin, in this process (no kubectl start-up cost). */
async function localGet(server: ApiServer, path: string): Promise<string> {
  const [cert, key] = await Promise.all([
    Deno.readTextFile(join(server.dir, "admin.crt")),
    Deno.readTextFile(join(server.dir, "admin.key")),
  ]);
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { ca: server.caPem, cert, key }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(Buffer.concat(chunks).toString()));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

const realCapabilities = new Map<string, Promise<Capabilities>>();

/** A real cluster's capabilities, detected once per test process, then KUBECTL_TOKEN_E2E_TARGET. */
function detectRealCapabilities(kubeconfig: string): Promise<Capabilities> {
  let caps = realCapabilities.get(kubeconfig);
  if (!caps) {
    caps = (async () => {
      const get = async (path: string) => {
        const r = await runKubectl(["--kubeconfig", kubeconfig, "get", "--raw", path]);
        return r.code === 0 ? r.stdout : undefined;
      };
      const version = await get("/version");
      if (!version) throw new Error(`cannot read /version with ${kubeconfig}`);
      const detected = capabilitiesFor(JSON.parse(version), "real");
      const ssr = await Promise.all(
        ["v1", "v1beta1", "v1alpha1"].map(async (v) => {
          const list = await get(`/apis/authentication.k8s.io/${v}`);
          return !!list &&
            JSON.parse(list).resources?.some((r: { name: string }) =>
              r.name === "selfsubjectreviews"
            );
        }),
      );
      detected.selfSubjectReview = ssr.some(Boolean);
      const file = Deno.env.get("KUBECTL_TOKEN_E2E_TARGET");
      const given = file ? JSON.parse(await Deno.readTextFile(file)) : {};
      delete given.kind;
      delete given.auditLog;
      delete given.auditWebhook;
      return { ...detected, ...given };
    })();
    realCapabilities.set(kubeconfig, caps);
  }
  return caps;
}

function noteFor(kind: "local" | "real", caps: Capabilities) {
  return (message: string) => {
    console.log(`note (${kind} ${caps.version.gitVersion}): ${message}`);
  };
}

/** Whether the suite runs against a real cluster (known before any test starts). */
export const REAL_TARGET = Boolean(Deno.env.get("KUBECTL_TOKEN_E2E_KUBECONFIG"));

/** A free loopback port, from the kernel; another process may take it before it is used. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The audit log and webhook a real target's KUBECTL_TOKEN_E2E_TARGET names. */
async function realAudit(): Promise<{ log?: string; webhook?: AuditWebhookTarget }> {
  const file = Deno.env.get("KUBECTL_TOKEN_E2E_TARGET");
  const given = file ? JSON.parse(await Deno.readTextFile(file)) : {};
  const w = given.auditWebhook;
  const webhook = w && typeof w.listen === "string" && typeof w.certFile === "string" &&
      typeof w.keyFile === "string"
    ? { listen: w.listen, certFile: w.certFile, keyFile: w.keyFile }
    : undefined;
  return { log: typeof given.auditLog === "string" ? given.auditLog : undefined, webhook };
}

/** Start (or connect to) the cluster the suite runs against. */
export async function startTarget(options: ApiServerOptions = {}): Promise<Target> {
  const external = Deno.env.get("KUBECTL_TOKEN_E2E_KUBECONFIG");
  if (external) {
    const capabilities = await detectRealCapabilities(external);
    const audit = await realAudit();
    return {
      kubeconfig: external,
      kind: "real",
      capabilities,
      note: noteFor("real", capabilities),
      get auditLogPath(): string {
        if (!audit.log) {
          throw new Error(
            'this test reads the audit log: name it as "auditLog" in KUBECTL_TOKEN_E2E_TARGET ' +
              "(scripts/kube_up.sh does)",
          );
        }
        return audit.log;
      },
      get auditWebhook(): AuditWebhookTarget {
        if (!audit.webhook) {
          throw new Error(
            'this test receives audit batches: name the webhook as "auditWebhook" ' +
              "{listen, certFile, keyFile} in KUBECTL_TOKEN_E2E_TARGET (scripts/kube_up.sh does)",
          );
        }
        return audit.webhook;
      },
      requests: async () => {
        const log = audit.log;
        if (typeof log !== "string") {
          throw new Error(
            'this test counts requests: name the server\'s audit log as "auditLog" in ' +
              "KUBECTL_TOKEN_E2E_TARGET (scripts/kube_up.sh does)",
          );
        }
        // Events are written as requests complete: a marker request sent after every earlier
        // answer arrived says when the log has caught up with them.
        const marker = `/version?e2e-marker=${crypto.randomUUID()}`;
        await runKubectl(["--kubeconfig", external, "get", "--raw", marker]);
        for (const deadline = Date.now() + 10_000;;) {
          const text = await Deno.readTextFile(log);
          if (text.includes(marker)) return auditLogRequests(text, marker);
          if (Date.now() > deadline) throw new Error(`the audit log "${log}" did not catch up`);
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      close: () => Promise.resolve(),
    };
  }
  // The audit trail lives beside the server: its log, and the webhook receiver's credentials
  // (a serving certificate for 127.0.0.1 from a CA of its own, which the server trusts).
  const auditDir = await Deno.makeTempDir({ prefix: "kubectl-token-target-" });
  const auditLogPath = options.auditLog ?? join(auditDir, "audit.log");
  const webhookCa = new CertificateAuthority(
    new Date(Date.now() - 3_600_000),
    new Date(Date.now() + 2 * 86_400_000),
  );
  const serving = webhookCa.issueServing(
    new Date(Date.now() - 3_600_000),
    new Date(Date.now() + 2 * 86_400_000),
  );
  const auditWebhook: AuditWebhookTarget = {
    listen: `127.0.0.1:${freePort()}`,
    certFile: join(auditDir, "webhook.crt"),
    keyFile: join(auditDir, "webhook.key"),
  };
  await Deno.writeTextFile(auditWebhook.certFile, serving.certPem);
  await Deno.writeTextFile(auditWebhook.keyFile, serving.keyPem, { mode: 0o600 });
  let local: ApiServer;
  try {
    local = await startApiServer({
      ...options,
      auditLog: auditLogPath,
      auditWebhook: options.auditWebhook ??
        { url: `https://${auditWebhook.listen}`, caPem: webhookCa.certPem },
    });
  } catch (e) {
    await Deno.remove(auditDir, { recursive: true }).catch(() => {});
    throw e;
  }
  const close = async () => {
    await local.close();
    await Deno.remove(auditDir, { recursive: true }).catch(() => {});
  };
  try {
    const capabilities = await localCapabilities(local, options);
    return {
      kubeconfig: local.kubeconfigPath,
      local,
      kind: "local",
      capabilities,
      note: noteFor("local", capabilities),
      auditLogPath,
      auditWebhook,
      requests: () =>
        Promise.resolve(
          local.requests.map((q) => ({
            method: q.method,
            path: q.path,
            query: q.query,
            user: q.user,
          })),
        ),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
