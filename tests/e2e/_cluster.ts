/** Seeding a target cluster through kubectl itself, so the same steps work on a real server. */
import { decodeJwt } from "jose";
import { runCli, runKubectl } from "./_cli.ts";
import type { Target } from "./_target.ts";

/** Run kubectl with the target's admin kubeconfig; throws on failure. */
export async function admin(target: Target, args: string[], stdin?: string): Promise<string> {
  const r = await runKubectl(["--kubeconfig", target.kubeconfig, ...args], { stdin });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** Create objects from a list of manifests (kubectl create -f -, JSON). */
export async function create(target: Target, ...objects: Record<string, unknown>[]) {
  const list = { apiVersion: "v1", kind: "List", items: objects };
  return JSON.parse(
    await admin(
      target,
      ["create", "--validate=false", "-o", "json", "-f", "-"],
      JSON.stringify(list),
    ),
  );
}

/** A fresh namespace holding a service account "robot"; returns the namespace's name. */
export async function freshNamespace(target: Target, prefix = "e2e"): Promise<string> {
  const ns = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  await create(target, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  await create(target, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "robot", namespace: ns },
  });
  return ns;
}

/** Claims of a JWT, for assertions. */
export function claims(token: string): Record<string, unknown> {
  return decodeJwt(token) as Record<string, unknown>;
}

/** The target's cluster entry from its admin kubeconfig, with files inlined as data. */
export async function clusterEntry(
  target: Target,
): Promise<{ name: string; cluster: Record<string, unknown> }> {
  const view = JSON.parse(
    await admin(target, ["config", "view", "--minify", "--raw", "--flatten", "-o", "json"]),
  );
  return view.clusters[0];
}

/** The admin user's entry, with files inlined as data. */
export async function adminUser(target: Target): Promise<Record<string, unknown>> {
  const view = JSON.parse(
    await admin(target, ["config", "view", "--minify", "--raw", "--flatten", "-o", "json"]),
  );
  return view.users[0].user;
}

/** A kubeconfig file for a cluster entry and a user entry, with one context that is current. */
export async function writeKubeconfig(
  cluster: { name: string; cluster: Record<string, unknown> },
  user: Record<string, unknown>,
  namespace?: string,
): Promise<string> {
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [cluster],
    users: [{ name: "u", user }],
    contexts: [{
      name: "c",
      context: { cluster: cluster.name, user: "u", ...(namespace ? { namespace } : {}) },
    }],
    "current-context": "c",
  };
  const file = await Deno.makeTempFile({ prefix: "kubeconfig-", suffix: ".json" });
  await Deno.writeTextFile(file, JSON.stringify(config));
  return file;
}

/** A kubeconfig for the target's cluster with the given token as its user. */
export async function tokenKubeconfig(
  target: Target,
  token: string,
  namespace?: string,
): Promise<string> {
  return writeKubeconfig(await clusterEntry(target), { token }, namespace);
}

/**
 * Retry `check` until it passes (returns without throwing), for what happens asynchronously on a
 * real server: controllers filling Secrets, the ~10 s token-login cache expiring. Returns the
 * last result; throws the last error after `timeoutMs` (default 30 s).
 */
export async function eventually<T>(
  check: () => Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
  }
}

/**
 * Create a legacy token Secret (type kubernetes.io/service-account-token) for a service account
 * and wait until the token controller has filled it; returns its name and token.
 */
export async function legacyToken(
  target: Target,
  namespace: string,
  serviceAccount: string,
  name = `${serviceAccount}-legacy-${crypto.randomUUID().slice(0, 5)}`,
): Promise<{ name: string; token: string }> {
  await create(target, {
    apiVersion: "v1",
    kind: "Secret",
    type: "kubernetes.io/service-account-token",
    metadata: {
      name,
      namespace,
      annotations: { "kubernetes.io/service-account.name": serviceAccount },
    },
  });
  const data = await eventually(async () => {
    const out = await admin(target, ["get", "secret", name, "-n", namespace, "-o", "json"]);
    const secret = JSON.parse(out);
    if (!secret.data?.token) throw new Error(`secret "${name}" has no token yet`);
    return secret.data as { token: string };
  });
  return { name, token: atob(data.token) };
}

/**
 * The user kubectl itself authenticates as with `args` (e.g. ["--kubeconfig", file]):
 * `kubectl auth whoami` where the server has SelfSubjectReview, else the user named in the
 * Forbidden answer to a request only admins may make, so the check also works on servers before
 * 1.28. Throws when kubectl fails otherwise.
 */
export async function kubectlUser(
  target: Target,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  if (target.capabilities.selfSubjectReview) {
    const r = await runKubectl([...args, "auth", "whoami", "-o", "json"], { env });
    if (r.code !== 0) throw new Error(`kubectl auth whoami failed: ${r.stderr}`);
    return JSON.parse(r.stdout).status.userInfo.username;
  }
  const r = await runKubectl(
    [...args, "get", "--raw", "/api/v1/namespaces/kube-system/secrets"],
    { env },
  );
  const named = /User "([^"]+)" cannot/.exec(r.stderr);
  if (!named) throw new Error(`kubectl named no user (exit ${r.code}): ${r.stderr}`);
  return named[1];
}

/** A token for "robot" of `ns`, with the admin's credentials. */
export async function robotToken(target: Target, ns: string, duration = "2h"): Promise<string> {
  const r = await runCli(["create", "robot", "-n", ns, "--duration", duration], {
    env: { KUBECONFIG: target.kubeconfig },
  });
  if (r.code !== 0) throw new Error(`create failed: ${r.stderr}`);
  if (!target.capabilities.credentialId) {
    // Without a jti claim (before 1.29) two tokens issued in the same second are identical: let
    // the second pass, so that a token rotated from this one differs from it.
    await new Promise((resolve) => setTimeout(resolve, 1050 - (Date.now() % 1000)));
  }
  return r.stdout;
}
