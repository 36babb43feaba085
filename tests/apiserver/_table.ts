/**
 * Server-side printing: the meta.k8s.io/v1 Table that `kubectl get` asks for in its Accept
 * header, with the columns pkg/printers/internalversion prints for these kinds.
 */
import { isObject, type KubeObject } from "./_types.ts";

/** Whether an Accept header asks for a Table (kubectl get without -o json/yaml/name). */
export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? "") && /g=meta\.k8s\.io/.test(accept ?? "");
}

/** Go's duration.HumanDuration, which kubectl shows in the AGE column. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

interface Column {
  name: string;
  type: string;
  format?: string;
  description: string;
  priority?: number;
  cell: (o: KubeObject, age: string) => unknown;
}

const NAME: Column = {
  name: "Name",
  type: "string",
  format: "name",
  description: "Name must be unique within a namespace.",
  cell: (o) => o.metadata.name,
};
const AGE: Column = {
  name: "Age",
  type: "string",
  description:
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
  cell: (_o, age) => age,
};

const field = (
  o: KubeObject,
  key: string,
): Record<string, unknown> => (isObject(o[key]) ? o[key] : {});

const COLUMNS: Record<string, Column[]> = {
  Secret: [
    NAME,
    { name: "Type", type: "string", description: "The type of the secret", cell: (o) => o.type },
    {
      name: "Data",
      type: "string",
      description: "The number of entries in data",
      cell: (o) => Object.keys(field(o, "data")).length,
    },
    AGE,
  ],
  ServiceAccount: [
    NAME,
    {
      name: "Secrets",
      type: "string",
      description:
        "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
      cell: (o) => (Array.isArray(o.secrets) ? o.secrets.length : 0),
    },
    AGE,
  ],
  Namespace: [
    NAME,
    {
      name: "Status",
      type: "string",
      description: "The status of the namespace",
      cell: (o) => field(o, "status").phase,
    },
    AGE,
  ],
  Pod: [
    NAME,
    {
      name: "Ready",
      type: "string",
      description: "The aggregate readiness state of this pod for accepting traffic.",
      cell: (o) =>
        `0/${
          Array.isArray(field(o, "spec").containers)
            ? (field(o, "spec").containers as unknown[]).length
            : 0
        }`,
    },
    {
      name: "Status",
      type: "string",
      description: "The aggregate status of the containers in this pod.",
      cell: (o) => field(o, "status").phase ?? "Pending",
    },
    {
      name: "Restarts",
      type: "string",
      description: "The number of times the containers in this pod have been restarted.",
      cell: () => "0",
    },
    AGE,
    {
      name: "Node",
      type: "string",
      priority: 1,
      description: "Name of the Node this pod is assigned to.",
      cell: (o) => field(o, "spec").nodeName ?? "<none>",
    },
  ],
  Node: [
    NAME,
    { name: "Status", type: "string", description: "The status of the node", cell: () => "Ready" },
    { name: "Roles", type: "string", description: "The roles of the node", cell: () => "<none>" },
    AGE,
    {
      name: "Version",
      type: "string",
      description: "Kubelet Version reported by the node.",
      cell: () => "v1.32.0",
    },
  ],
  Deployment: [
    NAME,
    {
      name: "Ready",
      type: "string",
      description: "Number of the pod with ready state",
      cell: (o) => `${field(o, "status").readyReplicas ?? 0}/${field(o, "spec").replicas ?? 1}`,
    },
    {
      name: "Up-to-date",
      type: "string",
      description:
        "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
      cell: (o) => field(o, "status").updatedReplicas ?? 0,
    },
    {
      name: "Available",
      type: "string",
      description:
        "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
      cell: (o) => field(o, "status").availableReplicas ?? 0,
    },
    AGE,
  ],
  ReplicaSet: [
    NAME,
    {
      name: "Desired",
      type: "integer",
      description: "Replicas is the number of desired replicas.",
      cell: (o) => field(o, "spec").replicas ?? 1,
    },
    {
      name: "Current",
      type: "integer",
      description: "Replicas is the most recently observed number of replicas.",
      cell: (o) => field(o, "status").replicas ?? 0,
    },
    {
      name: "Ready",
      type: "integer",
      description:
        "readyReplicas is the number of pods targeted by this ReplicaSet with a Ready Condition.",
      cell: (o) => field(o, "status").readyReplicas ?? 0,
    },
    AGE,
  ],
  RoleBinding: [
    NAME,
    {
      name: "Role",
      type: "string",
      description: "RoleRef references either a ClusterRole or a Role.",
      cell: (o) => `${field(o, "roleRef").kind}/${field(o, "roleRef").name}`,
    },
    AGE,
  ],
  ClusterRoleBinding: [
    NAME,
    {
      name: "Role",
      type: "string",
      description: "RoleRef references a ClusterRole.",
      cell: (o) => `${field(o, "roleRef").kind}/${field(o, "roleRef").name}`,
    },
    AGE,
  ],
  ClusterRole: [
    NAME,
    {
      name: "Created At",
      type: "date",
      description: "CreationTimestamp",
      cell: (o) => o.metadata.creationTimestamp,
    },
  ],
  Role: [
    NAME,
    {
      name: "Created At",
      type: "date",
      description: "CreationTimestamp",
      cell: (o) => o.metadata.creationTimestamp,
    },
  ],
};

/** Render objects as a Table; includeObject=None drops the per-row object like the real server. */
export function toTable(
  kind: string,
  objects: KubeObject[],
  now: Date,
  listMeta: Record<string, unknown>,
  includeObject: string | null,
): Record<string, unknown> {
  const columns = COLUMNS[kind] ?? [NAME, AGE];
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? "",
      description: c.description,
      priority: c.priority ?? 0,
    })),
    rows: objects.map((o) => {
      const created = Date.parse(o.metadata.creationTimestamp ?? "");
      const age = Number.isNaN(created) ? "<unknown>" : humanDuration(now.getTime() - created);
      const row: Record<string, unknown> = { cells: columns.map((c) => c.cell(o, age) ?? "") };
      if (includeObject !== "None") {
        row.object = includeObject === "Object"
          ? o
          : { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
      }
      return row;
    }),
  };
}
