/**
 * The `__complete` request (cobra's protocol, which the shell scripts and kubectl's
 * `kubectl_complete-token` helper send): the candidates for a partial command line, from the
 * command table's completion rules (complete.ts) and names looked up in the kubeconfig and the
 * cluster, each lookup bounded by a short timeout.
 */
import type { Runtime } from "../runtime.ts";
import { CommandContext } from "../context.ts";
import { type Candidate, complete, type CompletionSource, formatCompletion } from "./complete.ts";
import type { ValueKind } from "./completion_rules.ts";
import type { CommandTree } from "./types.ts";
import { connectionFlagsOf } from "./flags.ts";
import type { ApiClient } from "../api/client.ts";
import {
  getSecret,
  listSecrets,
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_TYPE,
} from "../api/secrets.ts";
import { getPod, listPods, type PodLike } from "../api/pods.ts";
import { getNode, listNodes } from "../api/nodes.ts";
import { listNamespaces } from "../api/namespaces.ts";
import { listServiceAccounts } from "../api/serviceaccounts.ts";
import {
  BOOTSTRAP_NAMESPACE,
  BOOTSTRAP_TOKEN_TYPE,
  isBootstrapTokenId,
  tokenIdOfSecretName,
} from "../bootstrap/token.ts";

/** How long completion waits for the cluster before it offers nothing. */
const CLUSTER_TIMEOUT_MS = 3000;

/** Answer `kubectl-token __complete WORDS...`; returns the exit code. */
export async function runComplete(
  program: CommandTree,
  words: string[],
  runtime: Runtime,
): Promise<number> {
  const source = clusterSource(runtime);
  const completion = await complete(program, words.length ? words : [""], source);
  runtime.stdout.write(formatCompletion(completion));
  return 0;
}

/** The flags of the completed words (by long name) keyed as the command table's `opts()` keys them. */
function camelKeys(flags: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(flags).map(([k, v]) => [k.replace(/-([a-z])/g, (_, c) => c.toUpperCase()), v]),
  );
}

/** Names from the kubeconfig files and the cluster, each lookup bounded by a short timeout. */
export function clusterSource(runtime: Runtime, timeoutMs = CLUSTER_TIMEOUT_MS): CompletionSource {
  return {
    async list(kind: ValueKind, flags: Record<string, string>, options: { name?: string } = {}) {
      const ctx = new CommandContext(runtime, connectionFlagsOf(camelKeys(flags)), 0);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<Candidate[]>((resolve) => {
        timer = setTimeout(() => resolve([]), timeoutMs);
      });
      try {
        return await Promise.race([lookup(ctx, kind, options.name, timeoutMs), deadline]);
      } finally {
        clearTimeout(timer);
        await ctx.close();
      }
    },
  };
}

/** The UID of an object a token can be bound to, by the *-uid lookup kinds. */
const UID_OF: Partial<
  Record<
    ValueKind,
    (client: ApiClient, ns: string, name: string, timeoutMs: number) => Promise<{
      metadata?: { uid?: string };
    }>
  >
> = {
  "pod-uid": (client, ns, name, timeoutMs) => getPod(client, ns, name, { timeoutMs }),
  "secret-uid": (client, ns, name, timeoutMs) => getSecret(client, ns, name, { timeoutMs }),
  "node-uid": (client, _ns, name, timeoutMs) => getNode(client, name, { timeoutMs }),
};

async function lookup(
  ctx: CommandContext,
  kind: ValueKind,
  name: string | undefined,
  timeoutMs: number,
): Promise<Candidate[]> {
  if (kind === "contexts" || kind === "clusters" || kind === "users" || kind === "servers") {
    // From the kubeconfig alone: no cluster is needed to pick a context.
    const m = await import("../kubeconfig/mod.ts");
    const paths = await m.kubeconfigPaths(ctx.runtime, ctx.flags);
    const merged = m.mergeKubeconfigs(await m.readKubeconfigFiles(ctx.runtime, paths));
    if (kind === "clusters") return [...merged.clusters.keys()].map((value) => ({ value }));
    if (kind === "users") return [...merged.users.keys()].map((value) => ({ value }));
    if (kind === "servers") {
      return [...merged.clusters.values()].flatMap(({ name, value }) =>
        value.server ? [{ value: value.server, description: `cluster ${name}` }] : []
      );
    }
    return [...merged.contexts.values()].map(({ name, value }) => ({
      value: name,
      description: `cluster ${value.cluster ?? ""}${
        name === merged.currentContext ? " (current)" : ""
      }`,
    }));
  }
  const client = await ctx.client();
  const namespace = (await ctx.config()).namespace;
  const names = (list: { metadata?: { name?: string } }[]) =>
    list.map((i) => ({ value: i.metadata?.name ?? "" })).filter((c) => c.value);
  const secretsOfType = (namespace: string, type: string) =>
    listSecrets(client, { namespace, fieldSelector: `type=${type}`, timeoutMs });
  const uidOf = UID_OF[kind];
  if (uidOf) {
    if (!name) return [];
    const object = await uidOf(client, namespace, name, timeoutMs);
    const uid = object.metadata?.uid;
    return uid ? [{ value: uid, description: name }] : [];
  }
  switch (kind) {
    case "namespaces":
      return names(await listNamespaces(client, { timeoutMs }));
    case "serviceaccounts":
      return names(await listServiceAccounts(client, namespace, { timeoutMs }));
    case "pods": {
      const pods: PodLike[] = [];
      await listPods(client, namespace, {
        chunkSize: 0,
        timeoutMs,
        onPage: (page) => void pods.push(...page),
      });
      return names(pods);
    }
    case "nodes":
      return names(await listNodes(client, { timeoutMs }));
    case "secrets":
      return (await listSecrets(client, { namespace, timeoutMs })).map((s) => ({
        value: s.metadata?.name ?? "",
        description: s.type,
      })).filter((c) => c.value);
    case "token-secrets": {
      return (await secretsOfType(namespace, SERVICE_ACCOUNT_TOKEN_TYPE)).map((s) => {
        const account = s.metadata?.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION];
        return {
          value: s.metadata?.name ?? "",
          description: account ? `service account ${account}` : undefined,
        };
      }).filter((c) => c.value);
    }
    case "bootstrap-token-ids": {
      // Only the ID, from the Secret's name: the token's secret part is never offered.
      return (await secretsOfType(BOOTSTRAP_NAMESPACE, BOOTSTRAP_TOKEN_TYPE))
        .map((s) => tokenIdOfSecretName(s.metadata?.name ?? "") ?? "")
        .filter((id) => isBootstrapTokenId(id))
        .map((value) => ({ value }));
    }
  }
  return [];
}
