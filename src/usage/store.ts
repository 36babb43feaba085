/**
 * The usage database: a {@link UsageSnapshot} kept across restarts in an embedded SQLite file
 * (`node:sqlite`, built into Deno), written by `usage serve` and read by `usage --db`.
 *
 * One table per thing the model aggregates (credentials, their source IPs, user agents and
 * request shapes, issued tokens, Pod deletions, notes) and a metadata table holding the schema
 * version. A batch is merged with upserts in one transaction, with the semantics of
 * {@link mergeSnapshots} (tests/usage/store_test.ts checks that property on random snapshots),
 * so the database and a log file read in one go answer alike. WAL mode and a busy timeout let
 * `usage --db` read while `serve` writes.
 *
 * Like the model, the database holds aggregates only: never a raw event, never a token. Its
 * size is bounded: each credential's maps are capped as the aggregator caps them (what does not
 * fit is counted in `overflow`), rows older than the retention are pruned on write, and the
 * number of credentials, token issues and Pod deletions is capped (the least recent go first).
 *
 * The file is the user's own: 0600 in a 0700 folder, refused when it is a symbolic link, not a
 * regular file, owned by someone else or readable by others, as the token cache's files are.
 */
import { DatabaseSync } from "node:sqlite";
import { dirname, join } from "node:path";
import { CliError } from "../errors.ts";
import { fileError } from "../fs/file_error.ts";
import type { FileInfo, Runtime } from "../runtime.ts";
import {
  type CredentialUsage,
  mergeSnapshots,
  type PodDeletion,
  type RequestUsage,
  type Seen,
  type TokenIssue,
  type UsageSnapshot,
} from "./model.ts";
import type { ObservedRequest } from "./request.ts";

/** The schema this version writes and reads; another version is refused, never guessed at. */
export const SCHEMA_VERSION = 2;

/** The caps that keep the database's size bounded. */
export interface StoreLimits {
  /** Distinct source IPs kept per credential. */
  sourceIPs: number;
  /** Distinct user agents kept per credential. */
  userAgents: number;
  impersonated: number;
  /** Distinct request shapes kept per credential. */
  requestsMade: number;
  /** Credentials kept (the least recently seen are pruned first). */
  credentials: number;
  /** Token issues kept (the oldest are pruned first). */
  issued: number;
  /** Pod deletions kept (the oldest are pruned first). */
  podDeletions: number;
}

/**
 * The default caps. The per-credential ones are larger than aggregate.ts's `LIMITS` (32 IPs,
 * 16 user agents, 256 request shapes, 16 identities), on purpose: one snapshot of the aggregator
 * always fits, and the database gathers distinct values across many batches and days.
 */
export const STORE_LIMITS: StoreLimits = {
  sourceIPs: 256,
  userAgents: 64,
  impersonated: 64,
  requestsMade: 1024,
  credentials: 100_000,
  issued: 100_000,
  podDeletions: 100_000,
};

/** Options of {@link openUsageStore}. */
export interface StoreOptions {
  /** Prune rows last seen longer ago than this (milliseconds) on every write; 0 or unset: never. */
  retainMs?: number;
  /** Caps (default {@link STORE_LIMITS}). */
  limits?: Partial<StoreLimits>;
}

/** A usage database open for writing. */
export interface UsageStore {
  /** The database file. */
  readonly path: string;
  /** Add a snapshot to what the database holds, in one transaction. */
  merge(snapshot: UsageSnapshot): void;
  /** What the database holds. */
  snapshot(): UsageSnapshot;
  close(): void;
}

/** The default database: `$KUBECACHEDIR/kubectl-token/usage.db`, else `~/.kube/cache/kubectl-token/usage.db`. */
export function defaultUsageDbPath(runtime: Runtime): string | undefined {
  const base = runtime.env("KUBECACHEDIR") ||
    (runtime.homeDir() ? join(runtime.homeDir()!, ".kube", "cache") : undefined);
  return base ? join(base, "kubectl-token", "usage.db") : undefined;
}

// Every field of the model, so that a field added to model.ts fails the type check here until
// the store keeps it (the `satisfies` clauses), instead of being silently dropped.
const SNAPSHOT_FIELDS = {
  events: "meta",
  firstEvent: "meta",
  lastEvent: "meta",
  credentials: "credentials",
  issued: "token_issues",
  podDeletions: "pod_deletions",
  notes: "notes",
  overflow: "snapshot_overflow",
} as const satisfies Record<keyof UsageSnapshot, string>;
const CREDENTIAL_FIELDS = {
  key: "key",
  kind: "kind",
  username: "username",
  serviceAccount: "sa_namespace, sa_name",
  jti: "jti",
  legacySecret: "legacy_secret",
  pod: "pod_name, pod_uid",
  node: "node_name, node_uid",
  firstSeen: "first",
  lastSeen: "last",
  requests: "requests",
  denied: "denied",
  sourceIPs: "credential_source_ips",
  userAgents: "credential_user_agents",
  requestsMade: "credential_requests",
  overflow: "credential_overflow",
  impersonated: "credential_impersonated",
} as const satisfies Record<keyof CredentialUsage, string>;
const REQUEST_FIELDS = {
  verb: "verb",
  apiGroup: "api_group",
  resource: "resource",
  subresource: "subresource",
  namespace: "namespace",
  name: "name",
  nonResourceURL: "non_resource_url",
} as const satisfies Record<keyof ObservedRequest, string>;
const ISSUE_FIELDS = {
  at: "at",
  requester: "requester",
  serviceAccount: "sa_namespace, sa_name",
  jti: "jti",
  expirationSeconds: "expiration_seconds",
  boundObject: "bound_object",
  code: "code",
  as: "as_user",
} as const satisfies Record<keyof TokenIssue, string>;
const DELETION_FIELDS = {
  namespace: "namespace",
  name: "name",
  uid: "uid",
  at: "at",
} as const satisfies Record<keyof PodDeletion, string>;
void [SNAPSHOT_FIELDS, CREDENTIAL_FIELDS, REQUEST_FIELDS, ISSUE_FIELDS, DELETION_FIELDS];

// Instants are kept as written (text) and as epoch milliseconds (NULL when unreadable) so that
// SQL compares them as model.ts does (Date.parse), whatever their format.
const SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE notes (id INTEGER PRIMARY KEY, note TEXT NOT NULL UNIQUE);
CREATE TABLE credentials (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  username TEXT NOT NULL,
  sa_namespace TEXT, sa_name TEXT,
  jti TEXT,
  legacy_secret TEXT,
  pod_name TEXT, pod_uid TEXT,
  node_name TEXT, node_uid TEXT,
  first TEXT NOT NULL, first_ms INTEGER,
  last TEXT NOT NULL, last_ms INTEGER,
  requests INTEGER NOT NULL,
  denied INTEGER NOT NULL
);
CREATE INDEX credentials_last ON credentials (last_ms);
CREATE TABLE credential_source_ips (
  credential INTEGER NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
  ip TEXT NOT NULL,
  count INTEGER NOT NULL,
  first TEXT NOT NULL, first_ms INTEGER,
  last TEXT NOT NULL, last_ms INTEGER,
  PRIMARY KEY (credential, ip)
) WITHOUT ROWID;
CREATE TABLE credential_user_agents (
  credential INTEGER NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
  agent TEXT NOT NULL,
  count INTEGER NOT NULL,
  first TEXT NOT NULL, first_ms INTEGER,
  last TEXT NOT NULL, last_ms INTEGER,
  PRIMARY KEY (credential, agent)
) WITHOUT ROWID;
CREATE TABLE credential_impersonated (
  credential INTEGER NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  count INTEGER NOT NULL,
  first TEXT NOT NULL, first_ms INTEGER,
  last TEXT NOT NULL, last_ms INTEGER,
  PRIMARY KEY (credential, name)
) WITHOUT ROWID;
CREATE TABLE snapshot_overflow (map TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE credential_requests (
  credential INTEGER NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
  -- A BLOB: requestKey() joins its parts with NUL, which SQLite's text values end at.
  request_key BLOB NOT NULL,
  verb TEXT NOT NULL,
  api_group TEXT, resource TEXT, subresource TEXT, namespace TEXT, name TEXT,
  non_resource_url TEXT,
  count INTEGER NOT NULL,
  denied INTEGER NOT NULL,
  first TEXT NOT NULL, first_ms INTEGER,
  last TEXT NOT NULL, last_ms INTEGER,
  PRIMARY KEY (credential, request_key)
) WITHOUT ROWID;
CREATE TABLE credential_overflow (
  credential INTEGER NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
  map TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (credential, map)
) WITHOUT ROWID;
CREATE TABLE token_issues (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL, at_ms INTEGER,
  requester TEXT NOT NULL,
  sa_namespace TEXT NOT NULL, sa_name TEXT NOT NULL,
  jti TEXT,
  expiration_seconds INTEGER,
  bound_object TEXT,
  code INTEGER,
  as_user TEXT
);
CREATE INDEX token_issues_at ON token_issues (at_ms);
CREATE TABLE pod_deletions (
  id INTEGER PRIMARY KEY,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  uid TEXT,
  at TEXT NOT NULL, at_ms INTEGER
);
CREATE INDEX pod_deletions_at ON pod_deletions (at_ms);
`;

// The merge rules of model.ts in SQL: earlier(a, b) keeps a when a <= b (else b, also when one
// does not parse), later(a, b) keeps a when a >= b.
const EARLIER = (t: string, col = "first") =>
  `${col} = CASE WHEN ${t}.${col}_ms <= excluded.${col}_ms THEN ${t}.${col} ELSE excluded.${col} END,
   ${col}_ms = CASE WHEN ${t}.${col}_ms <= excluded.${col}_ms THEN ${t}.${col}_ms ELSE excluded.${col}_ms END`;
const LATER = (t: string, col = "last") =>
  `${col} = CASE WHEN ${t}.${col}_ms >= excluded.${col}_ms THEN ${t}.${col} ELSE excluded.${col} END,
   ${col}_ms = CASE WHEN ${t}.${col}_ms >= excluded.${col}_ms THEN ${t}.${col}_ms ELSE excluded.${col}_ms END`;

const SQL = {
  credential: `INSERT INTO credentials (key, kind, username, sa_namespace, sa_name, jti,
      legacy_secret, pod_name, pod_uid, node_name, node_uid, first, first_ms, last, last_ms,
      requests, denied)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET
      kind = excluded.kind,
      username = excluded.username,
      sa_namespace = CASE WHEN excluded.sa_name IS NULL THEN sa_namespace ELSE excluded.sa_namespace END,
      sa_name = COALESCE(excluded.sa_name, sa_name),
      jti = COALESCE(excluded.jti, jti),
      legacy_secret = COALESCE(excluded.legacy_secret, legacy_secret),
      pod_uid = CASE WHEN excluded.pod_name IS NULL THEN pod_uid ELSE excluded.pod_uid END,
      pod_name = COALESCE(excluded.pod_name, pod_name),
      node_uid = CASE WHEN excluded.node_name IS NULL THEN node_uid ELSE excluded.node_uid END,
      node_name = COALESCE(excluded.node_name, node_name),
      ${EARLIER("credentials")},
      ${LATER("credentials")},
      requests = requests + excluded.requests,
      denied = denied + excluded.denied
    RETURNING id`,
  sourceIp:
    `INSERT INTO credential_source_ips (credential, ip, count, first, first_ms, last, last_ms)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (credential, ip) DO UPDATE SET count = count + excluded.count,
      ${EARLIER("credential_source_ips")}, ${LATER("credential_source_ips")}`,
  userAgent:
    `INSERT INTO credential_user_agents (credential, agent, count, first, first_ms, last, last_ms)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (credential, agent) DO UPDATE SET count = count + excluded.count,
      ${EARLIER("credential_user_agents")}, ${LATER("credential_user_agents")}`,
  impersonated:
    `INSERT INTO credential_impersonated (credential, name, count, first, first_ms, last, last_ms)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (credential, name) DO UPDATE SET count = count + excluded.count,
      ${EARLIER("credential_impersonated")}, ${LATER("credential_impersonated")}`,
  snapshotOverflow: `INSERT INTO snapshot_overflow (map, count) VALUES (?, ?)
    ON CONFLICT (map) DO UPDATE SET count = count + excluded.count`,
  // The first request shape recorded under a key stays (as in mergeCredential).
  request: `INSERT INTO credential_requests (credential, request_key, verb, api_group, resource,
      subresource, namespace, name, non_resource_url, count, denied, first, first_ms, last, last_ms)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (credential, request_key) DO UPDATE SET count = count + excluded.count,
      denied = denied + excluded.denied,
      ${EARLIER("credential_requests")}, ${LATER("credential_requests")}`,
  overflow: `INSERT INTO credential_overflow (credential, map, count) VALUES (?, ?, ?)
    ON CONFLICT (credential, map) DO UPDATE SET count = count + excluded.count`,
  issue: `INSERT INTO token_issues (at, at_ms, requester, sa_namespace, sa_name, jti,
      expiration_seconds, bound_object, code, as_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  deletion: `INSERT INTO pod_deletions (namespace, name, uid, at, at_ms) VALUES (?, ?, ?, ?, ?)`,
  note: `INSERT OR IGNORE INTO notes (note) VALUES (?)`,
  setMeta: `INSERT INTO meta (key, value) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
} as const;

/** The per-credential maps and the tables that hold them. */
const MAPS = {
  sourceIPs: "credential_source_ips",
  userAgents: "credential_user_agents",
  impersonated: "credential_impersonated",
  requestsMade: "credential_requests",
} as const;

type Row = Record<string, unknown>;

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();
type Value = string | number | null;

function ms(instant: string): number | null {
  const t = Date.parse(instant);
  return Number.isNaN(t) ? null : t;
}

function opt(value: string | number | undefined): Value {
  return value === undefined ? null : value;
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
}

/** Why the database file is not ours to trust, or undefined when it is. */
function fileProblem(path: string, info: FileInfo, uid: number | null): string | undefined {
  if (info.isSymlink) return "it is a symbolic link; remove it or choose another --db";
  if (!info.isFile) return "it is not a regular file; choose another --db";
  if (uid !== null && info.uid !== null && info.uid !== uid) {
    return `it belongs to user ${info.uid}, not to you (${uid}); choose another --db`;
  }
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    return `its mode is ${octal(info.mode)}, not 0600; run "chmod 600 ${path}"`;
  }
  return undefined;
}

function refuse(path: string, detail: string): never {
  throw new CliError(`Cannot use the usage database "${path}": ${detail}`);
}

/** Facts about the database file (without following a link), undefined when it is missing. */
async function checkFile(runtime: Runtime, path: string): Promise<FileInfo | undefined> {
  let info: FileInfo;
  try {
    info = await runtime.stat(path, { follow: false });
  } catch (e) {
    if ((e as Error)?.name === "NotFound") return undefined;
    throw fileError(`use the usage database "${path}"`, e);
  }
  const problem = fileProblem(path, info, runtime.uid());
  if (problem) refuse(path, problem);
  return info;
}

/**
 * The default database's folder, created 0700 when missing, must be the user's own: a real
 * folder that nobody else can write to. The folder of a --db file is the user's choice, and
 * must exist.
 */
async function ensureFolder(runtime: Runtime, dir: string): Promise<void> {
  const check = async (): Promise<boolean> => {
    let info: FileInfo;
    try {
      info = await runtime.stat(dir, { follow: false });
    } catch (e) {
      if ((e as Error)?.name === "NotFound") return false;
      throw fileError(`use the folder "${dir}" of the usage database`, e);
    }
    const no = (detail: string): never => {
      throw new CliError(`Cannot use the folder "${dir}" of the usage database: ${detail}`);
    };
    if (info.isSymlink) no("it is a symbolic link; remove it or choose another --db");
    if (!info.isDirectory) no("it is not a folder; remove it or choose another --db");
    const uid = runtime.uid();
    if (uid !== null && info.uid !== null && info.uid !== uid) {
      no(`it belongs to user ${info.uid}, not to you (${uid}); choose another --db`);
    }
    if (info.mode !== null && (info.mode & 0o022) !== 0) {
      no(`it is writable by others (mode ${octal(info.mode)}); run "chmod 700 ${dir}"`);
    }
    return true;
  };
  if (await check()) return;
  try {
    await runtime.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fileError(`create the folder "${dir}" of the usage database`, e);
  }
  // mkdir succeeds on anything already there by then, a symlink to a folder included.
  if (!await check()) refuse(join(dir, "usage.db"), "its folder vanished after mkdir");
}

function sqliteDetail(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (/not a database|file is encrypted/i.test(message)) return "it is not a SQLite database";
  if (/database is locked|busy/i.test(message)) {
    return "it is locked by another process (try again)";
  }
  return message.replace(/\.$/, "");
}

/**
 * Open the file and check it holds our schema (created when `create` and the file is empty).
 * Readers open it read-write too: a WAL reader may have to create the shared-memory file.
 */
function openDatabase(path: string, options: { create: boolean }): DatabaseSync {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path);
  } catch (e) {
    refuse(path, sqliteDetail(e));
  }
  try {
    db.exec("PRAGMA busy_timeout = 10000");
    if (options.create) db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()
      .map((r) => (r as Row).name);
    if (tables.length === 0 && options.create) {
      db.exec("BEGIN IMMEDIATE");
      try {
        db.exec(SCHEMA);
        db.prepare(SQL.setMeta).run("schema_version", String(SCHEMA_VERSION));
        db.prepare(SQL.setMeta).run("events", "0");
        db.exec("COMMIT");
      } catch (e) {
        db.exec("ROLLBACK");
        throw e;
      }
    } else {
      if (!tables.includes("meta")) {
        db.close();
        refuse(path, "it is not a kubectl-token usage database");
      }
      const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
        | Row
        | undefined;
      const version = row?.value;
      if (version !== String(SCHEMA_VERSION)) {
        db.close();
        refuse(
          path,
          `its schema version is ${version ?? "missing"} and this kubectl-token knows ` +
            `version ${SCHEMA_VERSION}; use the kubectl-token that wrote it or choose another --db`,
        );
      }
    }
  } catch (e) {
    if (e instanceof CliError) throw e;
    try {
      db.close();
    } catch { /* already closed */ }
    refuse(path, sqliteDetail(e));
  }
  return db;
}

function seenOf(r: Row): Seen {
  return { count: Number(r.count), first: String(r.first), last: String(r.last) };
}

function requestOf(r: Row): ObservedRequest {
  const request: ObservedRequest = { verb: String(r.verb) };
  if (r.api_group !== null) request.apiGroup = String(r.api_group);
  if (r.resource !== null) request.resource = String(r.resource);
  if (r.subresource !== null) request.subresource = String(r.subresource);
  if (r.namespace !== null) request.namespace = String(r.namespace);
  if (r.name !== null) request.name = String(r.name);
  if (r.non_resource_url !== null) request.nonResourceURL = String(r.non_resource_url);
  return request;
}

function readSnapshot(db: DatabaseSync): UsageSnapshot {
  const meta = new Map(
    db.prepare("SELECT key, value FROM meta").all().map((r) => [
      String((r as Row).key),
      (r as Row).value as string | null,
    ]),
  );
  const byId = new Map<number, CredentialUsage>();
  for (const row of db.prepare("SELECT * FROM credentials ORDER BY id").all() as Row[]) {
    const c: CredentialUsage = {
      key: String(row.key),
      kind: String(row.kind) as CredentialUsage["kind"],
      username: String(row.username),
      firstSeen: String(row.first),
      lastSeen: String(row.last),
      requests: Number(row.requests),
      denied: Number(row.denied),
      sourceIPs: {},
      userAgents: {},
      requestsMade: {},
    };
    if (row.sa_name !== null) {
      c.serviceAccount = { namespace: String(row.sa_namespace), name: String(row.sa_name) };
    }
    if (row.jti !== null) c.jti = String(row.jti);
    if (row.legacy_secret !== null) c.legacySecret = String(row.legacy_secret);
    if (row.pod_name !== null) {
      c.pod = row.pod_uid === null
        ? { name: String(row.pod_name) }
        : { name: String(row.pod_name), uid: String(row.pod_uid) };
    }
    if (row.node_name !== null) {
      c.node = row.node_uid === null
        ? { name: String(row.node_name) }
        : { name: String(row.node_name), uid: String(row.node_uid) };
    }
    byId.set(Number(row.id), c);
  }
  for (const r of db.prepare("SELECT * FROM credential_source_ips").all() as Row[]) {
    const c = byId.get(Number(r.credential));
    if (c) c.sourceIPs[String(r.ip)] = seenOf(r);
  }
  for (const r of db.prepare("SELECT * FROM credential_user_agents").all() as Row[]) {
    const c = byId.get(Number(r.credential));
    if (c) c.userAgents[String(r.agent)] = seenOf(r);
  }
  for (const r of db.prepare("SELECT * FROM credential_impersonated").all() as Row[]) {
    const c = byId.get(Number(r.credential));
    if (c) (c.impersonated ??= {})[String(r.name)] = seenOf(r);
  }
  for (const r of db.prepare("SELECT * FROM credential_requests").all() as Row[]) {
    const c = byId.get(Number(r.credential));
    if (c) {
      const usage: RequestUsage = { ...seenOf(r), request: requestOf(r), denied: Number(r.denied) };
      c.requestsMade[DECODER.decode(r.request_key as Uint8Array)] = usage;
    }
  }
  for (const r of db.prepare("SELECT * FROM credential_overflow").all() as Row[]) {
    const c = byId.get(Number(r.credential));
    if (c) (c.overflow ??= {})[String(r.map)] = Number(r.count);
  }
  const issued = (db.prepare("SELECT * FROM token_issues ORDER BY id").all() as Row[]).map(
    (r) => {
      const issue: TokenIssue = {
        at: String(r.at),
        requester: String(r.requester),
        serviceAccount: { namespace: String(r.sa_namespace), name: String(r.sa_name) },
      };
      if (r.jti !== null) issue.jti = String(r.jti);
      if (r.expiration_seconds !== null) issue.expirationSeconds = Number(r.expiration_seconds);
      if (r.bound_object !== null) issue.boundObject = String(r.bound_object);
      if (r.code !== null) issue.code = Number(r.code);
      if (r.as_user !== null) issue.as = String(r.as_user);
      return issue;
    },
  );
  const podDeletions = (db.prepare("SELECT * FROM pod_deletions ORDER BY id").all() as Row[])
    .map((r) => {
      const d: PodDeletion = { namespace: String(r.namespace), name: String(r.name), at: "" };
      if (r.uid !== null) d.uid = String(r.uid);
      d.at = String(r.at);
      return d;
    });
  const notes = (db.prepare("SELECT note FROM notes ORDER BY id").all() as Row[]).map((r) =>
    String(r.note)
  );
  const pruned = ["credentials", "issued", "podDeletions"].map((k) =>
    Number(meta.get(`pruned_${k}`) ?? 0)
  );
  if (pruned.some((n) => n > 0)) {
    notes.push(
      `the usage database pruned ${pruned[0]} credentials, ${pruned[1]} token issues and ` +
        `${pruned[2]} Pod deletions (older than its retention, or beyond its size caps)`,
    );
  }
  const firstEvent = meta.get("first_event");
  const lastEvent = meta.get("last_event");
  const overflowRows = db.prepare("SELECT map, count FROM snapshot_overflow").all() as Row[];
  const overflow = Object.fromEntries(overflowRows.map((r) => [String(r.map), Number(r.count)]));
  return {
    events: Number(meta.get("events") ?? 0),
    ...(firstEvent ? { firstEvent } : {}),
    ...(lastEvent ? { lastEvent } : {}),
    credentials: [...byId.values()],
    issued,
    podDeletions,
    notes,
    ...(overflowRows.length ? { overflow } : {}),
  };
}

/**
 * What the usage database at `path` holds. Refuses, with one line, a file that is missing, not
 * the user's own (a symlink, another owner, readable by others), not a SQLite database, or of
 * another schema version. Works while `usage serve` writes to it.
 */
export async function readUsageDb(runtime: Runtime, path: string): Promise<UsageSnapshot> {
  const info = await checkFile(runtime, path);
  if (!info) {
    throw fileError(
      `read the usage database "${path}"`,
      Object.assign(new Error("missing"), { name: "NotFound" }),
    );
  }
  const db = openDatabase(path, { create: false });
  try {
    db.exec("BEGIN");
    try {
      return readSnapshot(db);
    } finally {
      db.exec("COMMIT");
    }
  } catch (e) {
    if (e instanceof CliError) throw e;
    refuse(path, sqliteDetail(e));
  } finally {
    db.close();
  }
}

/**
 * Open (creating it 0600 when missing, in a 0700 folder) the usage database at `path` for
 * writing. With `defaultPath` (the default location), the folder is created 0700 when missing
 * and refused when it is not the user's own; the folder of a --db file must exist.
 */
export async function openUsageStore(
  runtime: Runtime,
  path: string,
  options: StoreOptions & { defaultPath?: boolean } = {},
): Promise<UsageStore> {
  const limits = { ...STORE_LIMITS, ...options.limits };
  if (options.defaultPath) await ensureFolder(runtime, dirname(path));
  let before = await checkFile(runtime, path);
  if (!before) {
    try {
      await runtime.writeFile(path, "", { createNew: true, mode: 0o600 });
      // A umask such as 0277 narrows the mode; the checks want exactly the owner's bits.
      await runtime.chmod(path, 0o600);
    } catch (e) {
      if ((e as Error)?.name !== "AlreadyExists") {
        throw fileError(`create the usage database "${path}"`, e);
      }
    }
    before = await checkFile(runtime, path);
    if (!before) refuse(path, "it vanished while being created");
  }
  const db = openDatabase(path, { create: true });
  // SQLite follows links when it opens: what it opened must be what was checked.
  const after = await checkFile(runtime, path).catch((e) => {
    db.close();
    throw e;
  });
  if (after?.ino !== before.ino || after?.dev !== before.dev) {
    db.close();
    refuse(path, "it was replaced while being opened");
  }

  const st = Object.fromEntries(
    Object.entries(SQL).map(([k, sql]) => [k, db.prepare(sql)]),
  ) as Record<keyof typeof SQL, ReturnType<DatabaseSync["prepare"]>>;
  const countOf = Object.fromEntries(
    Object.entries(MAPS).map((
      [k, table],
    ) => [k, db.prepare(`SELECT count(*) AS n FROM ${table} WHERE credential = ?`)]),
  ) as Record<keyof typeof MAPS, ReturnType<DatabaseSync["prepare"]>>;
  const hasKey = {
    sourceIPs: db.prepare("SELECT 1 FROM credential_source_ips WHERE credential = ? AND ip = ?"),
    userAgents: db.prepare(
      "SELECT 1 FROM credential_user_agents WHERE credential = ? AND agent = ?",
    ),
    impersonated: db.prepare(
      "SELECT 1 FROM credential_impersonated WHERE credential = ? AND name = ?",
    ),
    requestsMade: db.prepare(
      "SELECT 1 FROM credential_requests WHERE credential = ? AND request_key = ?",
    ),
  };
  const getMeta = db.prepare("SELECT value FROM meta WHERE key = ?");
  const meta = (key: string): string | undefined => {
    const row = getMeta.get(key) as Row | undefined;
    return row?.value === null || row?.value === undefined ? undefined : String(row.value);
  };
  const addMeta = (key: string, n: number) => {
    if (n > 0) st.setMeta.run(key, String(Number(meta(key) ?? 0) + n));
  };

  /** Upsert one map's entries, keeping at most `cap` keys; returns how many did not fit. */
  const mergeMap = <T extends Seen>(
    name: keyof typeof MAPS,
    id: number,
    entries: [string, T][],
    insert: (key: string, value: T) => void,
  ): number => {
    if (entries.length === 0) return 0;
    const cap = limits[name];
    let count = Number((countOf[name].get(id) as Row).n);
    if (count + entries.length <= cap) {
      for (const [k, v] of entries) insert(k, v);
      return 0;
    }
    let dropped = 0;
    for (const [k, v] of entries) {
      if (hasKey[name].get(id, name === "requestsMade" ? ENCODER.encode(k) : k)) insert(k, v);
      else if (count < cap) {
        insert(k, v);
        count++;
      } else dropped++;
    }
    return dropped;
  };

  const mergeOne = (c: CredentialUsage) => {
    const { id } = st.credential.get(
      c.key,
      c.kind,
      c.username,
      opt(c.serviceAccount?.namespace),
      opt(c.serviceAccount?.name),
      opt(c.jti),
      opt(c.legacySecret),
      opt(c.pod?.name),
      c.pod ? opt(c.pod.uid) : null,
      opt(c.node?.name),
      c.node ? opt(c.node.uid) : null,
      c.firstSeen,
      ms(c.firstSeen),
      c.lastSeen,
      ms(c.lastSeen),
      c.requests,
      c.denied,
    ) as { id: number };
    const overflow: Record<string, number> = { ...c.overflow };
    const more = (map: string, n: number) => {
      if (n > 0) overflow[map] = (overflow[map] ?? 0) + n;
    };
    more(
      "sourceIPs",
      mergeMap(
        "sourceIPs",
        id,
        Object.entries(c.sourceIPs),
        (ip, s) => st.sourceIp.run(id, ip, s.count, s.first, ms(s.first), s.last, ms(s.last)),
      ),
    );
    more(
      "userAgents",
      mergeMap(
        "userAgents",
        id,
        Object.entries(c.userAgents),
        (ua, s) => st.userAgent.run(id, ua, s.count, s.first, ms(s.first), s.last, ms(s.last)),
      ),
    );
    more(
      "impersonated",
      mergeMap(
        "impersonated",
        id,
        Object.entries(c.impersonated ?? {}),
        (name, s) =>
          st.impersonated.run(id, name, s.count, s.first, ms(s.first), s.last, ms(s.last)),
      ),
    );
    more(
      "requestsMade",
      mergeMap("requestsMade", id, Object.entries(c.requestsMade), (key, u) =>
        st.request.run(
          id,
          ENCODER.encode(key),
          u.request.verb,
          opt(u.request.apiGroup),
          opt(u.request.resource),
          opt(u.request.subresource),
          opt(u.request.namespace),
          opt(u.request.name),
          opt(u.request.nonResourceURL),
          u.count,
          u.denied,
          u.first,
          ms(u.first),
          u.last,
          ms(u.last),
        )),
    );
    for (const [map, n] of Object.entries(overflow)) st.overflow.run(id, map, n);
  };

  /** Drop what is older than the retention, then what exceeds the caps; counted in meta. */
  const prune = () => {
    const pruned = { credentials: 0, issued: 0, podDeletions: 0 };
    const retain = options.retainMs ?? 0;
    if (retain > 0) {
      const cutoff = runtime.now().getTime() - retain;
      pruned.credentials += Number(
        db.prepare("DELETE FROM credentials WHERE last_ms < ?").run(cutoff).changes,
      );
      pruned.issued += Number(
        db.prepare("DELETE FROM token_issues WHERE at_ms < ?").run(cutoff).changes,
      );
      pruned.podDeletions += Number(
        db.prepare("DELETE FROM pod_deletions WHERE at_ms < ?").run(cutoff).changes,
      );
    }
    const capped = (table: string, order: string, cap: number): number => {
      const n = Number((db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as Row).n);
      if (n <= cap) return 0;
      return Number(
        db.prepare(
          `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} ORDER BY ${order} LIMIT ?)`,
        ).run(n - cap).changes,
      );
    };
    // Unparseable instants (NULL) sort first in SQLite: they go first.
    pruned.credentials += capped("credentials", "last_ms, id", limits.credentials);
    pruned.issued += capped("token_issues", "at_ms, id", limits.issued);
    pruned.podDeletions += capped("pod_deletions", "at_ms, id", limits.podDeletions);
    for (const [k, n] of Object.entries(pruned)) addMeta(`pruned_${k}`, n);
  };

  let open = true;
  return {
    path,
    merge(snapshot: UsageSnapshot): void {
      if (!open) throw new Error("the usage database is closed");
      db.exec("BEGIN IMMEDIATE");
      try {
        // The span of the events merges exactly as mergeSnapshots merges it.
        const span = mergeSnapshots(
          {
            events: Number(meta("events") ?? 0),
            firstEvent: meta("first_event"),
            lastEvent: meta("last_event"),
            credentials: [],
            issued: [],
            podDeletions: [],
            notes: [],
          },
          { ...snapshot, credentials: [], issued: [], podDeletions: [], notes: [] },
        );
        st.setMeta.run("events", String(span.events));
        if (span.firstEvent !== undefined) st.setMeta.run("first_event", span.firstEvent);
        if (span.lastEvent !== undefined) st.setMeta.run("last_event", span.lastEvent);
        for (const c of snapshot.credentials) mergeOne(c);
        for (const i of snapshot.issued) {
          st.issue.run(
            i.at,
            ms(i.at),
            i.requester,
            i.serviceAccount.namespace,
            i.serviceAccount.name,
            opt(i.jti),
            opt(i.expirationSeconds),
            opt(i.boundObject),
            opt(i.code),
            opt(i.as),
          );
        }
        for (const d of snapshot.podDeletions) {
          st.deletion.run(d.namespace, d.name, opt(d.uid), d.at, ms(d.at));
        }
        for (const note of snapshot.notes) st.note.run(note);
        for (const [map, n] of Object.entries(snapshot.overflow ?? {})) {
          st.snapshotOverflow.run(map, n);
        }
        prune();
        db.exec("COMMIT");
      } catch (e) {
        db.exec("ROLLBACK");
        throw new CliError(`Cannot write the usage database "${path}": ${sqliteDetail(e)}`, {
          cause: e,
        });
      }
    },
    snapshot(): UsageSnapshot {
      db.exec("BEGIN");
      try {
        return readSnapshot(db);
      } finally {
        db.exec("COMMIT");
      }
    },
    close(): void {
      if (!open) return;
      open = false;
      db.close();
    },
  };
}
