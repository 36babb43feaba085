/** Parsing one kubeconfig file the way kubectl reads it (YAML 1.1, kubectl's field names). */

import { CliError } from "../errors.ts";
import type { AuthInfo, Cluster, Context, ExecConfig, KubeconfigFile } from "./types.ts";
import { pathApi } from "../path/platform.ts";
import { resolveAgainst } from "./_path.ts";
import { readFastYaml } from "./_fast_yaml.ts";

/** Options for {@link parseKubeconfig}. */
export interface ParseOptions {
  /** Use Windows path rules for relative paths (default: POSIX). */
  windows?: boolean;
}

type Obj = Record<string, unknown>;

/**
 * Parses kubeconfig text. Relative file references (certificate-authority, client-certificate,
 * client-key, tokenFile, and an exec command holding a path separator) resolve against the
 * folder of `path`, as client-go's ResolveLocalPaths does. An empty file is an empty config.
 */
export async function parseKubeconfig(
  text: string,
  path: string,
  options: ParseOptions = {},
): Promise<KubeconfigFile> {
  return kubeconfigOfData(await readKubeconfigYaml(text, path), path, options);
}

/**
 * The kubeconfig that the data of a file (see {@link readKubeconfigYaml}) describes: the part of
 * {@link parseKubeconfig} after the YAML is read.
 */
export function kubeconfigOfData(
  root: unknown,
  path: string,
  options: ParseOptions = {},
): KubeconfigFile {
  const windows = options.windows ?? false;
  const fail = (detail: string): never => {
    throw new CliError(`Cannot load kubeconfig "${path}": ${detail}`);
  };

  const file: KubeconfigFile = { path, clusters: [], users: [], contexts: [] };
  if (root === null || root === undefined) return file;
  if (!isObj(root)) return fail("the top level is not a mapping");

  const r = new Reader(fail);
  const apiVersion = r.str(root, "apiVersion", "");
  const kind = r.str(root, "kind", "");
  if (apiVersion && apiVersion !== "v1") fail(`unsupported apiVersion "${apiVersion}"`);
  if (kind && kind !== "Config") fail(`unsupported kind "${kind}"`);

  const base = pathApi(windows).dirname(path);
  const resolve = (p: string | undefined) =>
    p === undefined ? undefined : resolveAgainst(p, base, windows);
  const separator = windows ? "\\" : "/";

  const names = {
    clusters: new Set<string>(),
    users: new Set<string>(),
    contexts: new Set<string>(),
  };
  const named = (list: keyof typeof names, item: Obj, at: string) => {
    const name = r.str(item, "name", at) ?? "";
    if (names[list].has(name)) fail(`duplicate name "${name}" in "${list}"`);
    names[list].add(name);
    return name;
  };

  for (const [i, item] of r.list(root, "clusters", "").entries()) {
    const at = `clusters[${i}]`;
    const entry = r.obj(item, at);
    const c = r.obj(entry.cluster ?? {}, `${at}.cluster`);
    const where = `${at}.cluster`;
    const cluster: Cluster = dropUndefined({
      server: r.str(c, "server", where),
      certificateAuthority: resolve(r.str(c, "certificate-authority", where)),
      certificateAuthorityData: r.base64(c, "certificate-authority-data", where),
      insecureSkipTlsVerify: r.bool(c, "insecure-skip-tls-verify", where),
      tlsServerName: r.str(c, "tls-server-name", where),
      proxyUrl: r.str(c, "proxy-url", where),
      disableCompression: r.bool(c, "disable-compression", where),
      extensions: r.extensions(c, where),
    });
    file.clusters.push({ name: named("clusters", entry, at), cluster });
  }

  for (const [i, item] of r.list(root, "users", "").entries()) {
    const at = `users[${i}]`;
    const entry = r.obj(item, at);
    const where = `${at}.user`;
    const u = r.obj(entry.user ?? {}, where);
    const user: AuthInfo = dropUndefined({
      clientCertificate: resolve(r.str(u, "client-certificate", where)),
      clientCertificateData: r.base64(u, "client-certificate-data", where),
      clientKey: resolve(r.str(u, "client-key", where)),
      clientKeyData: r.base64(u, "client-key-data", where),
      token: r.str(u, "token", where),
      tokenFile: resolve(r.str(u, "tokenFile", where)),
      as: r.str(u, "as", where),
      asUid: r.str(u, "as-uid", where),
      asGroups: r.strList(u, "as-groups", where),
      asUserExtra: r.extra(u, "as-user-extra", where),
      username: r.str(u, "username", where),
      password: r.str(u, "password", where),
      authProvider: r.authProvider(u, where),
      exec: r.exec(u, where),
    });
    // Only a command given as a path is resolved; a bare name is looked up in PATH.
    if (user.exec && user.exec.command.includes(separator)) {
      user.exec.command = resolveAgainst(user.exec.command, base, windows);
    }
    file.users.push({ name: named("users", entry, at), user });
  }

  for (const [i, item] of r.list(root, "contexts", "").entries()) {
    const at = `contexts[${i}]`;
    const entry = r.obj(item, at);
    const where = `${at}.context`;
    const c = r.obj(entry.context ?? {}, where);
    const context: Context = dropUndefined({
      cluster: r.str(c, "cluster", where) ?? "",
      user: r.str(c, "user", where) ?? "",
      namespace: r.str(c, "namespace", where),
    });
    file.contexts.push({ name: named("contexts", entry, at), context });
  }

  const currentContext = r.str(root, "current-context", "");
  if (currentContext) file.currentContext = currentContext;
  if (root.preferences !== undefined && root.preferences !== null) {
    file.preferences = r.obj(root.preferences, "preferences");
  }
  const extensions = r.extensions(root, "");
  if (extensions) file.extensions = extensions;
  return file;
}

/**
 * The data of kubeconfig text as {@link parseKubeconfig} (and so the resolver) reads it, before
 * any field is interpreted: YAML 1.1 as go-yaml v2 reads it. The common files are read without
 * the yaml package (see _fast_yaml.ts), which loads only for the rest and for invalid YAML.
 */
export async function readKubeconfigYaml(text: string, path: string): Promise<unknown> {
  const fast = readFastYaml(text);
  if (fast !== undefined) return fast;
  const { readYamlPackage } = await import("./_yaml.ts");
  return readYamlPackage(text, path);
}

function isObj(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

function dropUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value instanceof Date) return "a timestamp";
  if (isObj(value)) return "a mapping";
  return `a ${typeof value}`;
}

/** Typed access to the decoded YAML; errors name the field the way kubectl's JSON paths do. */
class Reader {
  #fail: (detail: string) => never;
  constructor(fail: (detail: string) => never) {
    this.#fail = fail;
  }

  #field(where: string, key: string): string {
    return where ? `${where}.${key}` : key;
  }

  obj(value: unknown, where: string): Obj {
    if (value === null || value === undefined) return {};
    if (!isObj(value)) this.#fail(`"${where}" must be a mapping, not ${describe(value)}`);
    return value as Obj;
  }

  list(o: Obj, key: string, where: string): unknown[] {
    const value = o[key];
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) {
      this.#fail(`"${this.#field(where, key)}" must be a list, not ${describe(value)}`);
    }
    return value as unknown[];
  }

  str(o: Obj, key: string, where: string): string | undefined {
    const value = o[key];
    if (value === null || value === undefined) return undefined;
    if (typeof value !== "string") {
      this.#fail(`"${this.#field(where, key)}" must be a string, not ${describe(value)}`);
    }
    return value as string;
  }

  bool(o: Obj, key: string, where: string): boolean | undefined {
    const value = o[key];
    if (value === null || value === undefined) return undefined;
    if (typeof value !== "boolean") {
      this.#fail(`"${this.#field(where, key)}" must be a boolean, not ${describe(value)}`);
    }
    return value as boolean;
  }

  base64(o: Obj, key: string, where: string): string | undefined {
    const value = this.str(o, key, where);
    if (value === undefined || value === "") return undefined;
    const clean = normalizeBase64(value);
    if (clean === undefined) this.#fail(`"${this.#field(where, key)}" is not valid base64`);
    return clean;
  }

  strList(o: Obj, key: string, where: string): string[] | undefined {
    const value = o[key];
    if (value === null || value === undefined) return undefined;
    const items = this.list(o, key, where);
    return items.map((item, i) => {
      if (typeof item !== "string") {
        this.#fail(`"${this.#field(where, key)}[${i}]" must be a string, not ${describe(item)}`);
      }
      return item as string;
    });
  }

  extra(o: Obj, key: string, where: string): Record<string, string[]> | undefined {
    const value = o[key];
    if (value === null || value === undefined) return undefined;
    const map = this.obj(value, this.#field(where, key));
    const out: Record<string, string[]> = {};
    for (const name of Object.keys(map)) {
      out[name] = this.strList(map, name, this.#field(where, key)) ?? [];
    }
    return out;
  }

  extensions(o: Obj, where: string): { name: string; extension: unknown }[] | undefined {
    const value = o.extensions;
    if (value === null || value === undefined) return undefined;
    return this.list(o, "extensions", where).map((item, i) => {
      const at = `${this.#field(where, "extensions")}[${i}]`;
      const entry = this.obj(item, at);
      return { name: this.str(entry, "name", at) ?? "", extension: entry.extension ?? null };
    });
  }

  authProvider(o: Obj, where: string): AuthInfo["authProvider"] {
    const value = o["auth-provider"];
    if (value === null || value === undefined) return undefined;
    const at = this.#field(where, "auth-provider");
    const ap = this.obj(value, at);
    const config: Record<string, string> = {};
    const raw = this.obj(ap.config, `${at}.config`);
    for (const key of Object.keys(raw)) config[key] = this.str(raw, key, `${at}.config`) ?? "";
    return { name: this.str(ap, "name", at) ?? "", config };
  }

  exec(o: Obj, where: string): ExecConfig | undefined {
    const value = o.exec;
    if (value === null || value === undefined) return undefined;
    const at = this.#field(where, "exec");
    const e = this.obj(value, at);
    const env = this.list(e, "env", at).map((item, i) => {
      const envAt = `${at}.env[${i}]`;
      const entry = this.obj(item, envAt);
      return {
        name: this.str(entry, "name", envAt) ?? "",
        value: this.str(entry, "value", envAt) ?? "",
      };
    });
    const apiVersion = this.str(e, "apiVersion", at) ?? "";
    let interactiveMode = this.str(e, "interactiveMode", at);
    // client-go's SetDefaults_ExecConfig: only the older API versions default the mode; v1 must
    // set it (resolve reports it missing, as kubectl does).
    if (!interactiveMode && apiVersion === "client.authentication.k8s.io/v1beta1") {
      interactiveMode = "IfAvailable";
    }
    return dropUndefined({
      apiVersion,
      command: this.str(e, "command", at) ?? "",
      args: this.strList(e, "args", at),
      env: env.length > 0 ? env : undefined,
      installHint: this.str(e, "installHint", at),
      provideClusterInfo: this.bool(e, "provideClusterInfo", at),
      // Any other value is kept so that resolve can reject it only when this user is used.
      interactiveMode: interactiveMode as ExecConfig["interactiveMode"],
    });
  }
}

/** Base64 as Go's encoding/json reads `[]byte`: the text without CR/LF, or undefined when Go would reject it. */
function normalizeBase64(text: string): string | undefined {
  const clean = text.replace(/[\r\n]/g, "");
  if (clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return undefined;
  return clean;
}
