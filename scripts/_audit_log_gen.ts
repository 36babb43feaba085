/**
 * A generated audit log with a realistic mix, for scripts/bench_usage.ts: `audit.k8s.io/v1`
 * Events at Metadata level as a 1.32 kube-apiserver writes them (field order, microsecond
 * timestamps, Go's \u0026 escapes). The cluster it describes: namespaces of service accounts
 * whose Pods run on Nodes with Pod-bound tokens (pod-name, pod-uid, node-name, node-uid and
 * credential-id extras, rotated hourly by the kubelet's TokenRequests), kubelets and control
 * plane components with client certificates, controllers with their own service-account tokens,
 * a few legacy Secret tokens, people with kubectl, watches (two stages each), denied requests
 * and failed logins. Deterministic for a seed; streamed to disk in large chunks.
 */
import { mulberry32 as prng } from "./_prng.ts";

/** How much to write, and from which seed. */
export interface GenerateOptions {
  /** Stop at the first event that reaches this many bytes. */
  bytes: number;
  /** Stop at this many events instead, when given (the bytes then only pace the clock). */
  events?: number;
  /** PRNG seed; default 1. */
  seed?: number;
  /** First requestReceivedTimestamp; default 2026-11-01T00:00:00Z. Events span about a day. */
  start?: Date;
}

/** What was written. */
export interface GenerateResult {
  events: number;
  bytes: number;
  /** Distinct user names (failed logins, which name none, not included). */
  users: number;
}

const DAY_MS = 86_400_000;

function hex(rand: () => number, n: number): string {
  let s = "";
  while (s.length < n) s += Math.floor(rand() * 0x100000000).toString(16).padStart(8, "0");
  return s.slice(0, n);
}

function uuid(rand: () => number): string {
  const h = hex(rand, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${
    h.slice(20)
  }`;
}

interface Identity {
  /** The `"user":{...}` JSON, pre-rendered. */
  user: string;
  username: string;
  ips: string[];
  agents: string[];
  /** Annotations every request of it carries (legacy tokens), pre-rendered, without braces. */
  annotations?: string;
  /** Namespace it works in (service accounts); cluster-wide when absent. */
  namespace?: string;
  weight: number;
}

const q = JSON.stringify;

function userJson(
  username: string,
  uid: string | undefined,
  groups: string[],
  extra?: Record<string, string>,
): string {
  let s = `{"username":${q(username)}`;
  if (uid) s += `,"uid":${q(uid)}`;
  s += `,"groups":${q(groups)}`;
  if (extra) {
    const keys = Object.keys(extra).sort();
    s += `,"extra":{${keys.map((k) => `${q(k)}:[${q(extra[k])}]`).join(",")}}`;
  }
  return `${s}}`;
}

const KUBE = "v1.32.0";
const KUBE_UA = (name: string) => `${name}/${KUBE} (linux/amd64) kubernetes/70d3cc9`;
const RESOURCES: { resource: string; group?: string; version: string; namespaced: boolean }[] = [
  { resource: "pods", version: "v1", namespaced: true },
  { resource: "configmaps", version: "v1", namespaced: true },
  { resource: "secrets", version: "v1", namespaced: true },
  { resource: "services", version: "v1", namespaced: true },
  { resource: "endpoints", version: "v1", namespaced: true },
  { resource: "events", version: "v1", namespaced: true },
  { resource: "leases", group: "coordination.k8s.io", version: "v1", namespaced: true },
  { resource: "deployments", group: "apps", version: "v1", namespaced: true },
  { resource: "replicasets", group: "apps", version: "v1", namespaced: true },
  { resource: "jobs", group: "batch", version: "v1", namespaced: true },
  { resource: "nodes", version: "v1", namespaced: false },
  { resource: "namespaces", version: "v1", namespaced: false },
  {
    resource: "endpointslices",
    group: "discovery.k8s.io",
    version: "v1",
    namespaced: true,
  },
];

function microTime(ms: number, micros: number): string {
  return new Date(ms).toISOString().slice(0, 23) + String(micros).padStart(3, "0") + "Z";
}

/** Build the cast of identities, then write events until the size is reached. */
export async function generateAuditLog(
  path: string,
  options: GenerateOptions,
): Promise<GenerateResult> {
  const rand = prng(options.seed ?? 1);
  const pick = <T>(list: T[]): T => list[Math.floor(rand() * list.length)];
  const start = (options.start ?? new Date("2026-11-01T00:00:00Z")).getTime();

  const nodes = Array.from({ length: 120 }, (_, i) => ({
    name: `node-${String(i).padStart(3, "0")}`,
    uid: uuid(rand),
    ip: `192.168.${Math.floor(i / 200)}.${10 + (i % 200)}`,
  }));
  const namespaces = Array.from({ length: 250 }, (_, i) => `team-${i}`);
  const identities: Identity[] = [];

  // Workloads: service accounts with Pods, each Pod-bound token rotated (several jtis per Pod).
  const apps = ["api", "worker", "web", "cron", "operator", "ingest", "metrics", "cache"];
  for (const ns of namespaces) {
    for (let s = 0; s < 8; s++) {
      const sa = `${apps[s % apps.length]}-${s}`;
      const saUid = uuid(rand);
      const username = `system:serviceaccount:${ns}:${sa}`;
      const groups = [
        "system:serviceaccounts",
        `system:serviceaccounts:${ns}`,
        "system:authenticated",
      ];
      const agent = pick([
        `${sa}/v0.${Math.floor(rand() * 9)}.0 (linux/amd64) kubernetes/$Format`,
        "OpenAPI-Generator/29.0.0/python",
        `${sa}/${Math.floor(rand() * 5)}.${Math.floor(rand() * 20)}.0`,
        "Go-http-client/2.0",
      ]);
      const pods = 1 + Math.floor(rand() * 4);
      for (let p = 0; p < pods; p++) {
        const node = pick(nodes);
        const podName = `${sa}-${hex(rand, 10)}-${hex(rand, 5)}`;
        const podUid = uuid(rand);
        const podIp = `10.244.${Math.floor(rand() * 250)}.${2 + Math.floor(rand() * 250)}`;
        for (let j = 0; j < 3; j++) {
          identities.push({
            user: userJson(username, saUid, groups, {
              "authentication.kubernetes.io/credential-id": `JTI=${uuid(rand)}`,
              "authentication.kubernetes.io/node-name": node.name,
              "authentication.kubernetes.io/node-uid": node.uid,
              "authentication.kubernetes.io/pod-name": podName,
              "authentication.kubernetes.io/pod-uid": podUid,
            }),
            username,
            ips: [podIp],
            agents: [agent],
            namespace: ns,
            weight: 0.05,
          });
        }
      }
    }
    // A few legacy Secret tokens still in use, one from outside the cluster.
    if (rand() < 0.2) {
      const sa = "deployer";
      const username = `system:serviceaccount:${ns}:${sa}`;
      const auto = rand() < 0.5;
      identities.push({
        user: userJson(username, uuid(rand), [
          "system:serviceaccounts",
          `system:serviceaccounts:${ns}`,
          "system:authenticated",
        ]),
        username,
        ips: [rand() < 0.5 ? "203.0.113.50" : `10.244.9.${Math.floor(rand() * 250)}`],
        agents: ["kubectl/v1.29.3 (linux/amd64) kubernetes/6813625", "helm/v3.14.0"],
        annotations: `"authentication.k8s.io/legacy-token":${q(username)},${
          q(
            auto
              ? "authentication.k8s.io/legacy-token-autogenerated-secret"
              : "authentication.k8s.io/legacy-token-manual-secret",
          )
        }:${q(`${sa}-token-${hex(rand, 5)}`)}`,
        namespace: ns,
        weight: 2,
      });
    }
  }
  // Kubelets (client certificates), busy.
  for (const node of nodes) {
    identities.push({
      user: userJson(`system:node:${node.name}`, undefined, [
        "system:nodes",
        "system:authenticated",
      ], {
        "authentication.kubernetes.io/credential-id": `X509SHA256=${hex(rand, 64)}`,
      }),
      username: `system:node:${node.name}`,
      ips: [node.ip],
      agents: [KUBE_UA("kubelet")],
      weight: 8,
    });
  }
  // Control plane: certificates and controller service-account tokens.
  for (
    const name of ["system:kube-controller-manager", "system:kube-scheduler", "system:apiserver"]
  ) {
    identities.push({
      user: userJson(
        name,
        name === "system:apiserver" ? uuid(rand) : undefined,
        name === "system:apiserver" ? ["system:masters"] : ["system:authenticated"],
      ),
      username: name,
      ips: ["127.0.0.1"],
      agents: [KUBE_UA(name.replace("system:", ""))],
      ...(name === "system:apiserver" ? { namespace: "kube-system" } : {}),
      weight: name === "system:apiserver" ? 3000 : 300,
    });
  }
  for (
    const c of [
      "replicaset",
      "deployment",
      "endpointslice",
      "namespace",
      "job",
      "generic-garbage-collector",
      "node",
      "token-cleaner",
    ]
  ) {
    const username = `system:serviceaccount:kube-system:${c}-controller`;
    identities.push({
      user: userJson(username, uuid(rand), [
        "system:serviceaccounts",
        "system:serviceaccounts:kube-system",
        "system:authenticated",
      ], {
        "authentication.kubernetes.io/credential-id": `JTI=${uuid(rand)}`,
      }),
      username,
      ips: ["127.0.0.1"],
      agents: [`${KUBE_UA("kube-controller-manager")}/${username}`],
      weight: 60,
    });
  }
  // People.
  for (let i = 0; i < 40; i++) {
    const username = `user${i}@example.com`;
    identities.push({
      user: userJson(username, undefined, ["developers", "system:authenticated"]),
      username,
      ips: [`203.0.113.${i + 1}`, `198.51.100.${i + 1}`],
      agents: ["kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07", "k9s/v0.32.5", "Lens/2024.3"],
      weight: 3,
    });
  }

  // Weighted choice through a cumulative table.
  const cumulative: number[] = [];
  let total = 0;
  for (const id of identities) cumulative.push(total += id.weight);
  const chooseIdentity = (): Identity => {
    const x = rand() * total;
    let lo = 0, hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return identities[lo];
  };

  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  let chunk: string[] = [];
  let chunkLength = 0;
  let bytes = 0;
  let events = 0;
  const users = new Set<string>();
  const flush = async () => {
    const data = encoder.encode(chunk.join(""));
    for (let off = 0; off < data.length;) off += await file.write(data.subarray(off));
    chunk = [];
    chunkLength = 0;
  };
  const emit = (line: string) => {
    chunk.push(line);
    chunkLength += line.length;
    bytes += line.length; // ASCII only
    events++;
  };

  let clock = start;
  // Events span about a day; a request is ~880 bytes on average, as on a real 1.20 server.
  const step = DAY_MS / Math.max(1, options.events ?? options.bytes / 880);
  try {
    const done = options.events === undefined
      ? () => bytes >= options.bytes
      : () => events >= options.events!;
    while (!done()) {
      clock += step * (0.5 + rand());
      const id = chooseIdentity();
      const r = rand();
      const auditID = uuid(rand);
      const ip = pick(id.ips);
      const agent = pick(id.agents);
      let verb: string;
      let uri: string;
      let ref = "";
      let code = 200;
      let status = `{"metadata":{},"code":200}`;
      let extraAnnotations = "";
      let watch = false;
      let failedLogin = false;
      if (r < 0.002) {
        failedLogin = true;
      }
      if (r < 0.02 && id.username.startsWith("system:node:")) {
        // The kubelet refreshing a Pod's projected token.
        const ns = pick(namespaces);
        const sa = `${pick(apps)}-${Math.floor(rand() * 8)}`;
        verb = "create";
        uri = `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`;
        ref =
          `{"resource":"serviceaccounts","namespace":"${ns}","name":"${sa}","apiVersion":"v1","subresource":"token"}`;
        code = 201;
        status = `{"metadata":{},"code":201}`;
        extraAnnotations = `"authentication.kubernetes.io/issued-credential-id":"JTI=${
          uuid(rand)
        }",`;
      } else if (r < 0.05) {
        verb = "get";
        uri = pick(["/api", "/apis", "/version", "/healthz", "/openapi/v3"]);
        if (uri === "/apis" || uri === "/api") uri += "?timeout=32s";
      } else {
        const res = pick(RESOURCES);
        const ns = res.namespaced ? (id.namespace ?? pick(namespaces)) : undefined;
        const base = `${res.group ? `/apis/${res.group}` : "/api"}/${res.version}${
          ns ? `/namespaces/${ns}` : ""
        }/${res.resource}`;
        const v = rand();
        const name = v < 0.55 ? `${res.resource.slice(0, 4)}-${hex(rand, 5)}` : "";
        verb = name
          ? (v < 0.35 ? "get" : v < 0.45 ? "update" : v < 0.52 ? "patch" : "delete")
          : v < 0.8
          ? "list"
          : v < 0.95
          ? "watch"
          : "create";
        watch = verb === "watch";
        uri = name
          ? `${base}/${name}`
          : watch
          ? `${base}?allowWatchBookmarks=true\\u0026resourceVersion=${
            Math.floor(rand() * 1e7)
          }\\u0026timeout=7m${Math.floor(rand() * 60)}s\\u0026timeoutSeconds=${
            300 + Math.floor(rand() * 300)
          }\\u0026watch=true`
          : verb === "list"
          ? `${base}?limit=500\\u0026resourceVersion=0`
          : base;
        ref = `{"resource":"${res.resource}"${ns ? `,"namespace":"${ns}"` : ""}${
          name ? `,"name":"${name}"` : ""
        }${res.group ? `,"apiGroup":"${res.group}"` : ""},"apiVersion":"${res.version}"}`;
        if (verb === "create") {
          code = 201;
          status = `{"metadata":{},"code":201}`;
        }
        if (!watch && rand() < 0.012) {
          code = 403;
          status =
            `{"metadata":{},"status":"Failure","message":"${res.resource} is forbidden: User \\"${id.username}\\" cannot ${verb} resource \\"${res.resource}\\" in API group \\"${
              res.group ?? ""
            }\\"${
              ns ? ` in the namespace \\"${ns}\\"` : " at the cluster scope"
            }","reason":"Forbidden","details":{"kind":"${res.resource}"},"code":403}`;
        } else if (verb === "get" && rand() < 0.05) {
          code = 404;
          status =
            `{"metadata":{},"status":"Failure","message":"${res.resource} \\"${name}\\" not found","reason":"NotFound","details":{"name":"${name}","kind":"${res.resource}"},"code":404}`;
        }
      }
      const receivedMs = Math.floor(clock);
      const receivedMicros = Math.floor(rand() * 1000);
      const received = microTime(receivedMs, receivedMicros);
      const head =
        `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"${auditID}","stage":"`;
      const refPart = ref ? `,"objectRef":${ref}` : "";
      if (failedLogin) {
        emit(
          `${head}ResponseStarted","requestURI":"${uri}","verb":"${verb}","user":{},"sourceIPs":["${ip}"],"userAgent":${
            q(agent)
          }${refPart},"responseStatus":{"metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401},"requestReceivedTimestamp":"${received}","stageTimestamp":"${
            microTime(receivedMs, receivedMicros + 1)
          }"}\n`,
        );
      } else {
        users.add(id.username);
        const decision = code === 403 ? "forbid" : "allow";
        const reason = code === 403 || id.username.startsWith("system:")
          ? ""
          : `RBAC: allowed by ClusterRoleBinding \\"developers\\" of ClusterRole \\"edit\\" to Group \\"developers\\"`;
        const annotations = `,"annotations":{${
          id.annotations ? `${id.annotations},` : ""
        }${extraAnnotations}"authorization.k8s.io/decision":"${decision}","authorization.k8s.io/reason":"${reason}"}}\n`;
        const middle =
          `","requestURI":"${uri}","verb":"${verb}","user":${id.user},"sourceIPs":["${ip}"],"userAgent":${
            q(agent)
          }${refPart},"responseStatus":${status},"requestReceivedTimestamp":"${received}","stageTimestamp":"`;
        if (watch) {
          emit(
            `${head}ResponseStarted${middle}${
              microTime(receivedMs + 2, receivedMicros)
            }"${annotations}`,
          );
          emit(
            `${head}ResponseComplete${middle}${
              microTime(receivedMs + 300_000 + Math.floor(rand() * 300_000), receivedMicros)
            }"${annotations}`,
          );
        } else {
          emit(
            `${head}ResponseComplete${middle}${
              microTime(receivedMs + 1 + Math.floor(rand() * 40), receivedMicros)
            }"${annotations}`,
          );
        }
      }
      if (chunkLength >= 8 * 1024 * 1024) await flush();
    }
    await flush();
  } finally {
    file.close();
  }
  return { events, bytes, users: users.size };
}
