import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { denoRuntime, type Runtime } from "../../src/runtime.ts";
import {
  defaultUsageDbPath,
  openUsageStore,
  readUsageDb,
  SCHEMA_VERSION,
} from "../../src/usage/store.ts";
import {
  type CredentialUsage,
  emptySnapshot,
  mergeSnapshots,
  type Seen,
  type UsageSnapshot,
} from "../../src/usage/model.ts";
import { type ObservedRequest, requestKey } from "../../src/usage/request.ts";
import { seededRandom as prng } from "../../scripts/_prng.ts";

const AT = "2026-12-02T10:00:00Z";

/** The real runtime at a pinned instant, optionally with other environment and user ID. */
function runtimeAt(
  at = AT,
  extra: { env?: Record<string, string>; uid?: number } = {},
): Runtime {
  const real = denoRuntime();
  return {
    ...real,
    now: () => new Date(at),
    env: (name) => extra.env?.[name] ?? real.env(name),
    uid: () => extra.uid ?? real.uid(),
  };
}

// Instants in several spellings of close moments, so that the store must compare them as
// Date.parse does, not as text; one does not parse at all.
const INSTANTS = [
  "2026-12-01T23:59:59Z",
  "2026-12-02T00:00:00Z",
  "2026-12-02T00:00:00.000Z",
  "2026-12-02T01:00:00+01:00",
  "2026-12-02T00:00:00.5Z",
  "2026-12-02T00:00:01.123456Z",
  "2026-12-01T18:00:00-06:00",
  "2026-12-02T10:00:00Z",
  "not a time",
];

function randomSnapshot(seed: number): UsageSnapshot {
  const r = prng(seed);
  const seen = (): Seen => ({
    count: 1 + r.int(5),
    first: r.pick(INSTANTS),
    last: r.pick(INSTANTS),
  });
  const map = (keys: readonly string[]): Record<string, Seen> => {
    const out: Record<string, Seen> = {};
    for (const k of keys) if (r.chance(0.4)) out[k] = seen();
    return out;
  };
  const requests: ObservedRequest[] = [
    { verb: "get", apiGroup: "", resource: "pods", namespace: "ns", name: "web" },
    { verb: "get", resource: "pods", namespace: "ns", name: "web" },
    { verb: "list", apiGroup: "apps", resource: "deployments" },
    { verb: "create", apiGroup: "", resource: "serviceaccounts", subresource: "token" },
    { verb: "get", nonResourceURL: "/version" },
  ];
  const credentials: CredentialUsage[] = [];
  for (const key of ["token:a", "token:b", "pod:ns/sa/web", "service-account:ns/sa", "user:x"]) {
    if (!r.chance(0.6)) continue;
    const c: CredentialUsage = {
      key,
      kind: r.pick(["token", "pod", "service-account", "user"] as const),
      username: r.pick(["system:serviceaccount:ns:sa", "alice"]),
      firstSeen: r.pick(INSTANTS),
      lastSeen: r.pick(INSTANTS),
      requests: r.int(100),
      denied: r.int(3),
      sourceIPs: map(["10.0.0.1", "10.0.0.2", "::1"]),
      userAgents: map(["kubectl/v1.32", "curl/8", "kubelet"]),
      requestsMade: {},
    };
    if (r.chance(0.5)) c.serviceAccount = { namespace: "ns", name: r.pick(["sa", "sb"]) };
    if (r.chance(0.5)) c.jti = r.pick(["j1", "j2"]);
    if (r.chance(0.3)) c.legacySecret = r.pick(["ns/s1", "ns/s2"]);
    if (r.chance(0.5)) c.pod = r.chance(0.5) ? { name: "web" } : { name: "web", uid: "u1" };
    if (r.chance(0.5)) c.node = r.chance(0.5) ? { name: "n1" } : { name: "n2", uid: "u2" };
    if (r.chance(0.3)) c.overflow = { sourceIPs: 1 + r.int(3) };
    for (const req of requests) {
      if (r.chance(0.4)) {
        c.requestsMade[requestKey(req)] = { ...seen(), request: req, denied: r.int(2) };
      }
    }
    credentials.push(c);
  }
  const snapshot: UsageSnapshot = {
    events: r.int(1000),
    credentials,
    issued: [],
    podDeletions: [],
    notes: r.chance(0.5) ? [r.pick(["no credential-id extra", "older server"])] : [],
  };
  if (r.chance(0.7)) snapshot.firstEvent = r.pick(INSTANTS);
  if (r.chance(0.7)) snapshot.lastEvent = r.pick(INSTANTS);
  for (let i = r.int(3); i > 0; i--) {
    snapshot.issued.push({
      at: r.pick(INSTANTS),
      requester: "system:node:n1",
      serviceAccount: { namespace: "ns", name: "sa" },
      ...(r.chance(0.5) ? { jti: "j3" } : {}),
      ...(r.chance(0.5) ? { expirationSeconds: 3607 } : {}),
      ...(r.chance(0.5) ? { boundObject: "Pod/web" } : {}),
      ...(r.chance(0.5) ? { code: 201 } : {}),
    });
  }
  for (let i = r.int(3); i > 0; i--) {
    snapshot.podDeletions.push({
      namespace: "ns",
      name: "web",
      at: r.pick(INSTANTS),
      ...(r.chance(0.5) ? { uid: "u1" } : {}),
    });
  }
  return snapshot;
}

async function tempDb(): Promise<string> {
  return join(await Deno.makeTempDir({ prefix: "kubectl-token-usage-db-" }), "usage.db");
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => undefined, (e) => e as Error);
  assert.ok(e, "expected a refusal");
  assert.equal(e.name, "CliError", e.stack ?? e.message);
  assert.doesNotMatch(e.message, /\n/);
  return e.message;
}

Deno.test("the store merges snapshots as mergeSnapshots does (random snapshots)", async (t) => {
  for (let seed = 1; seed <= 40; seed++) {
    await t.step(`seed ${seed}`, async () => {
      const path = await tempDb();
      const runtime = runtimeAt();
      const store = await openUsageStore(runtime, path);
      let expected = emptySnapshot();
      const r = prng(seed * 7919);
      for (let i = 1 + r.int(5); i > 0; i--) {
        const s = randomSnapshot(seed * 1000 + i);
        store.merge(s);
        expected = mergeSnapshots(expected, s);
      }
      assert.deepStrictEqual(store.snapshot(), expected);
      store.close();
      assert.deepStrictEqual(await readUsageDb(runtime, path), expected);
    });
  }
});

Deno.test("openUsageStore() creates the default database 0600 in a 0700 folder", async () => {
  const home = await Deno.makeTempDir({ prefix: "kubectl-token-home-" });
  const runtime = runtimeAt(AT, { env: { HOME: home, KUBECACHEDIR: "" } });
  const path = defaultUsageDbPath({ ...runtime, homeDir: () => home })!;
  assert.equal(path, join(home, ".kube", "cache", "kubectl-token", "usage.db"));
  const store = await openUsageStore(runtime, path, { defaultPath: true });
  store.merge({ ...emptySnapshot(), events: 3 });
  store.close();
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.equal(
    (await Deno.stat(join(home, ".kube", "cache", "kubectl-token"))).mode! & 0o777,
    0o700,
  );
  assert.equal((await readUsageDb(runtime, path)).events, 3);
  const cached = defaultUsageDbPath(runtimeAt(AT, { env: { KUBECACHEDIR: "/c" } }));
  assert.equal(cached, "/c/kubectl-token/usage.db");
});

Deno.test("the usage database refuses files that are not the user's own", async (t) => {
  await t.step("a symbolic link", async () => {
    const path = await tempDb();
    const target = path + ".real";
    const store = await openUsageStore(runtimeAt(), target);
    store.close();
    await Deno.symlink(target, path);
    const expected = `Cannot use the usage database "${path}": it is a symbolic link; ` +
      `remove it or choose another --db`;
    assert.equal(await refusal(readUsageDb(runtimeAt(), path)), expected);
    assert.equal(await refusal(openUsageStore(runtimeAt(), path)), expected);
  });
  await t.step("readable by others", async () => {
    const path = await tempDb();
    (await openUsageStore(runtimeAt(), path)).close();
    await Deno.chmod(path, 0o644);
    const expected = `Cannot use the usage database "${path}": its mode is 0644, not 0600; ` +
      `run "chmod 600 ${path}"`;
    assert.equal(await refusal(readUsageDb(runtimeAt(), path)), expected);
    assert.equal(await refusal(openUsageStore(runtimeAt(), path)), expected);
  });
  await t.step("owned by another user", async () => {
    const path = await tempDb();
    (await openUsageStore(runtimeAt(), path)).close();
    const other = runtimeAt(AT, { uid: (Deno.uid() ?? 0) + 4242 });
    assert.match(
      await refusal(readUsageDb(other, path)),
      /^Cannot use the usage database ".*": it belongs to user \d+, not to you \(\d+\); choose another --db$/,
    );
  });
  await t.step("a folder", async () => {
    const path = await tempDb();
    await Deno.mkdir(path);
    assert.equal(
      await refusal(openUsageStore(runtimeAt(), path)),
      `Cannot use the usage database "${path}": it is not a regular file; choose another --db`,
    );
  });
  await t.step("the default folder, writable by others", async () => {
    const dir = join(await Deno.makeTempDir({ prefix: "kubectl-token-cache-" }), "kubectl-token");
    await Deno.mkdir(dir);
    await Deno.chmod(dir, 0o777);
    assert.equal(
      await refusal(openUsageStore(runtimeAt(), join(dir, "usage.db"), { defaultPath: true })),
      `Cannot use the folder "${dir}" of the usage database: it is writable by others (mode ` +
        `0777); run "chmod 700 ${dir}"`,
    );
  });
  await t.step("a --db in a folder that does not exist", async () => {
    const path = join(await tempDb(), "usage.db");
    assert.equal(
      await refusal(openUsageStore(runtimeAt(), path)),
      `Cannot create the usage database "${path}": no such file or directory`,
    );
  });
  await t.step("missing, when reading", async () => {
    const path = await tempDb();
    assert.equal(
      await refusal(readUsageDb(runtimeAt(), path)),
      `Cannot read the usage database "${path}": no such file or directory`,
    );
  });
  await t.step("not a SQLite database", async () => {
    const path = await tempDb();
    await Deno.writeTextFile(path, "hello, this is not SQLite at all\n".repeat(10), {
      mode: 0o600,
    });
    const expected = `Cannot use the usage database "${path}": it is not a SQLite database`;
    assert.equal(await refusal(readUsageDb(runtimeAt(), path)), expected);
    assert.equal(await refusal(openUsageStore(runtimeAt(), path)), expected);
  });
  await t.step("another SQLite database", async () => {
    const path = await tempDb();
    await Deno.writeFile(path, new Uint8Array(), { mode: 0o600 });
    const db = new DatabaseSync(path);
    db.exec("CREATE TABLE other (x)");
    db.close();
    assert.equal(
      await refusal(readUsageDb(runtimeAt(), path)),
      `Cannot use the usage database "${path}": it is not a kubectl-token usage database`,
    );
  });
});

Deno.test("the usage database refuses another schema version with one line", async () => {
  const path = await tempDb();
  (await openUsageStore(runtimeAt(), path)).close();
  const db = new DatabaseSync(path);
  db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(
    String(SCHEMA_VERSION + 1),
  );
  db.close();
  const expected = `Cannot use the usage database "${path}": its schema version is ` +
    `${SCHEMA_VERSION + 1} and this kubectl-token knows version ${SCHEMA_VERSION}; use the ` +
    `kubectl-token that wrote it or choose another --db`;
  assert.equal(await refusal(readUsageDb(runtimeAt(), path)), expected);
  assert.equal(await refusal(openUsageStore(runtimeAt(), path)), expected);
});

Deno.test("readUsageDb() reads while a writer holds the write lock (WAL)", async () => {
  const path = await tempDb();
  const store = await openUsageStore(runtimeAt(), path);
  store.merge({ ...emptySnapshot(), events: 5 });
  const writer = new DatabaseSync(path);
  writer.exec("BEGIN IMMEDIATE");
  writer.exec("UPDATE meta SET value = '99' WHERE key = 'events'");
  // The uncommitted write is invisible; the read neither waits nor fails.
  assert.equal((await readUsageDb(runtimeAt(), path)).events, 5);
  writer.exec("COMMIT");
  writer.close();
  assert.equal((await readUsageDb(runtimeAt(), path)).events, 99);
  store.merge({ ...emptySnapshot(), events: 1 });
  assert.equal((await readUsageDb(runtimeAt(), path)).events, 100);
  store.close();
});

Deno.test("readUsageDb() reads while another process merges batches", async () => {
  const path = await tempDb();
  (await openUsageStore(runtimeAt(), path)).close();
  const script = `
    import { openUsageStore } from ${
    JSON.stringify(new URL("../../src/usage/store.ts", import.meta.url).href)
  };
    import { denoRuntime } from ${
    JSON.stringify(new URL("../../src/runtime.ts", import.meta.url).href)
  };
    const store = await openUsageStore(denoRuntime(), ${JSON.stringify(path)});
    for (let i = 0; i < 300; i++) {
      store.merge({ events: 1, credentials: [{ key: "user:u" + (i % 50), kind: "user", username: "u",
        firstSeen: "${AT}", lastSeen: "${AT}", requests: 1, denied: 0,
        sourceIPs: { ["10.0." + (i % 7) + ".1"]: { count: 1, first: "${AT}", last: "${AT}" } },
        userAgents: {}, requestsMade: {} }], issued: [], podDeletions: [], notes: [] });
    }
    store.close();`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let last = 0;
  let reads = 0;
  let done = false;
  const status = child.output().then((o) => {
    done = true;
    return o;
  });
  while (!done || reads === 0) {
    const s = await readUsageDb(runtimeAt(), path);
    assert.ok(s.events >= last, `events went back from ${last} to ${s.events}`);
    const total = s.credentials.reduce((n, c) => n + c.requests, 0);
    assert.equal(total, s.events, "a read saw half a transaction");
    last = s.events;
    reads++;
  }
  const out = await status;
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal((await readUsageDb(runtimeAt(), path)).events, 300);
});

Deno.test("the store prunes rows older than the retention on write", async () => {
  const path = await tempDb();
  const store = await openUsageStore(runtimeAt("2026-12-31T00:00:00Z"), path, {
    retainMs: 30 * 24 * 3600 * 1000,
  });
  const cred = (key: string, last: string): CredentialUsage => ({
    key,
    kind: "user",
    username: key,
    firstSeen: last,
    lastSeen: last,
    requests: 1,
    denied: 0,
    sourceIPs: { "10.0.0.1": { count: 1, first: last, last } },
    userAgents: {},
    requestsMade: {},
  });
  store.merge({
    events: 2,
    credentials: [
      cred("user:old", "2026-11-30T23:59:59Z"),
      cred("user:new", "2026-12-01T00:00:00Z"),
    ],
    issued: [
      { at: "2026-11-01T00:00:00Z", requester: "k", serviceAccount: { namespace: "a", name: "b" } },
      { at: "2026-12-20T00:00:00Z", requester: "k", serviceAccount: { namespace: "a", name: "b" } },
    ],
    podDeletions: [{ namespace: "a", name: "p", at: "2026-11-01T00:00:00Z" }],
    notes: [],
  });
  const s = store.snapshot();
  store.close();
  assert.deepStrictEqual(s.credentials.map((c) => c.key), ["user:new"]);
  assert.deepStrictEqual(s.issued.map((i) => i.at), ["2026-12-20T00:00:00Z"]);
  assert.deepStrictEqual(s.podDeletions, []);
  assert.deepStrictEqual(s.notes, [
    "the usage database pruned 1 credentials, 1 token issues and 1 Pod deletions (older than " +
    "its retention, or beyond its size caps)",
  ]);
  // The child rows went with their credential.
  const db = new DatabaseSync(path);
  assert.deepStrictEqual(
    { ...db.prepare("SELECT count(*) AS n FROM credential_source_ips").get() },
    { n: 1 },
  );
  db.close();
});

Deno.test("the store caps each credential's maps and counts what did not fit", async () => {
  const path = await tempDb();
  const store = await openUsageStore(runtimeAt(), path, {
    limits: { sourceIPs: 2, userAgents: 1, credentials: 2, issued: 1 },
  });
  const one = (ip: string, ua: string): UsageSnapshot => ({
    events: 1,
    credentials: [{
      key: "user:a",
      kind: "user",
      username: "a",
      firstSeen: AT,
      lastSeen: AT,
      requests: 1,
      denied: 0,
      sourceIPs: { [ip]: { count: 1, first: AT, last: AT } },
      userAgents: { [ua]: { count: 1, first: AT, last: AT } },
      requestsMade: {},
    }],
    issued: [{ at: AT, requester: ip, serviceAccount: { namespace: "a", name: "b" } }],
    podDeletions: [],
    notes: [],
  });
  store.merge(one("10.0.0.1", "a"));
  store.merge(one("10.0.0.2", "b"));
  store.merge(one("10.0.0.3", "a"));
  store.merge(one("10.0.0.1", "c"));
  const [c] = store.snapshot().credentials;
  assert.deepStrictEqual(Object.keys(c.sourceIPs).sort(), ["10.0.0.1", "10.0.0.2"]);
  assert.equal(c.sourceIPs["10.0.0.1"].count, 2);
  assert.deepStrictEqual(Object.keys(c.userAgents), ["a"]);
  assert.equal(c.userAgents.a.count, 2);
  assert.deepStrictEqual(c.overflow, { sourceIPs: 1, userAgents: 2 });
  assert.equal(c.requests, 4);
  const s = store.snapshot();
  assert.deepStrictEqual(s.issued.map((i) => i.requester), ["10.0.0.1"]);
  const more = (key: string, last: string): UsageSnapshot => ({
    ...emptySnapshot(),
    credentials: [{
      ...one("x", "y").credentials[0],
      key,
      lastSeen: last,
      sourceIPs: {},
      userAgents: {},
    }],
  });
  store.merge(more("user:b", "2026-12-02T11:00:00Z"));
  store.merge(more("user:c", "2026-12-02T12:00:00Z"));
  assert.deepStrictEqual(store.snapshot().credentials.map((c) => c.key), ["user:b", "user:c"]);
  store.close();
});
