/** `kubectl token usage` in process: a capturing runtime, a pinned clock, audit logs written here. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../src/main.ts";
import { parseSince } from "../../src/commands/usage.ts";
import { EDGE_INSTANTS } from "../e2e/_audit_seed.ts";
import { denoRuntime, type Output, processClock, type Runtime } from "../../src/runtime.ts";
import { startApiServer } from "../apiserver/mod.ts";
import type { AuditEvent } from "../../src/usage/event.ts";
import { event, podExtra } from "../usage/_events.ts";

class Capture implements Output {
  text = "";
  constructor(readonly terminal: boolean) {}
  write(data: string | Uint8Array) {
    this.text += typeof data === "string" ? data : new TextDecoder().decode(data);
  }
  isTerminal() {
    return this.terminal;
  }
}

const NOW = new Date("2026-12-02T00:00:01Z");

function runtimeFor(kubeconfig: string, options: { terminal?: boolean; stdin?: string } = {}) {
  const stdout = new Capture(false);
  const stderr = new Capture(options.terminal ?? false);
  const runtime: Runtime = {
    ...denoRuntime(),
    now: processClock(NOW.toISOString()),
    env: (name) => (name === "KUBECONFIG" ? kubeconfig : undefined),
    envAll: () => ({ KUBECONFIG: kubeconfig }),
    stdout,
    stderr,
    stdin: {
      isTerminal: () => options.stdin === undefined,
      readAll: () => Promise.resolve(new TextEncoder().encode(options.stdin ?? "")),
      readLine: () => Promise.resolve(null),
    },
  };
  return { runtime, stdout, stderr };
}

/** A day of a small cluster: a person mints a Pod's token, the Pod uses it, so does a copy elsewhere. */
function dayOfEvents(podUid = "uid-web-1"): AuditEvent[] {
  const web = podExtra("web-1", podUid, "jti-web-1", "node-a");
  return [
    event({
      at: "2026-12-01T10:00:00Z",
      user: "alice",
      verb: "create",
      resource: "serviceaccounts",
      subresource: "token",
      name: "robot",
      code: 201,
      ips: ["192.0.2.7"],
      agent: "kubectl/v1.32.0 (linux/amd64)",
      annotations: { "authentication.kubernetes.io/issued-credential-id": "JTI=jti-web-1" },
      requestObject: { spec: { expirationSeconds: 172800 } },
    }),
    event({
      at: "2026-12-01T10:00:01Z",
      extra: web,
      ips: ["10.0.0.5"],
      verb: "list",
      resource: "configmaps",
    }),
    event({
      at: "2026-12-01T10:30:00Z",
      extra: web,
      ips: ["10.0.0.5"],
      verb: "list",
      resource: "configmaps",
    }),
    event({
      at: "2026-12-01T12:00:01Z",
      extra: web,
      ips: ["203.0.113.9", "10.0.0.5"],
      agent: "curl/8.5",
      verb: "list",
      resource: "secrets",
      code: 403,
    }),
    event({
      at: "2026-12-01T12:05:00Z",
      extra: web,
      ips: ["203.0.113.9", "10.0.0.5"],
      agent: "curl/8.5",
      verb: "get",
      resource: "secrets",
      name: "db",
      code: 403,
    }),
    event({
      at: "2026-12-01T11:00:00Z",
      user: "system:serviceaccount:ci:deployer",
      verb: "patch",
      resource: "deployments",
      namespace: "ci",
      name: "app",
    }),
  ];
}

async function withLog<T>(lines: string[], fn: (path: string, dir: string) => Promise<T>) {
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-usage-" });
  try {
    const path = join(dir, "audit.log");
    await Deno.writeTextFile(path, lines.join("\n") + "\n");
    return await fn(path, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const jsonLines = (events: AuditEvent[]) => events.map((e) => JSON.stringify(e));

Deno.test("usage prints a row per credential, then the findings with their evidence", async () => {
  await withLog(jsonLines(dayOfEvents()), async (path) => {
    const { runtime, stdout, stderr } = runtimeFor("/nonexistent");
    assert.equal(await main(["usage", "--audit-log", path, "--offline"], runtime), 0);
    const lines = stdout.text.split("\n");
    assert.match(
      lines[0],
      /^SERVICE ACCOUNT\/USER\s+KIND\s+POD\s+FIRST SEEN\s+LAST SEEN\s+REQUESTS\s+DENIED\s+SOURCE IPS\s+USER AGENTS$/,
    );
    assert.match(
      lines[1],
      /^alice\s+user\s+<none>\s+2026-12-01T10:00:00Z\s+2026-12-01T10:00:00Z\s+1\s+0\s+192\.0\.2\.7\s+kubectl\/v1\.32\.0$/,
    );
    assert.match(
      lines[2],
      /^ci\/deployer\s+service-account\s+<none>\s+.*\s+1\s+0\s+10\.0\.0\.5\s+app\/1\.0$/,
    );
    assert.match(
      lines[3],
      /^team\/robot\s+token\s+web-1\s+2026-12-01T10:00:01Z\s+2026-12-01T12:05:00Z\s+4\s+2\s+10\.0\.0\.5,203\.0\.113\.9\s+app\/1\.0 \+1$/,
    );
    assert.ok(
      stdout.text.includes(
        "  medium new-network team/robot (token jti-web-): Used from 1 network (203.0.113.0/24) not seen in its first 60m\n" +
          "      203.0.113.9: 2 requests, 2026-12-01T12:00:01Z .. 12:05:00Z\n",
      ),
      stdout.text,
    );
    assert.match(stdout.text, /medium minted-by-user team\/robot: alice minted 1 token/);
    assert.match(
      stdout.text,
      /medium long-lifetime team\/robot: alice requested 1 token .*up to 2d/,
    );
    assert.match(
      stdout.text,
      /Not evaluated:\n {2}foreign-ip: 1 Pod-bound credential not evaluated \(--offline\)\n/,
    );
    assert.match(
      stdout.text,
      /Notes:\n {2}1 service account used tokens that the events do not tell apart/,
    );
    assert.equal(
      stderr.text,
      "6 requests of 3 credentials, 2026-12-01T10:00:00Z .. 2026-12-01T12:05:00Z; findings: 4 medium\n",
    );
  });
});

Deno.test("usage -o json holds the snapshot and the findings, never a token", async () => {
  const events = dayOfEvents();
  events[0].responseObject = { status: { token: "eyJhbGciOi.secret-token" } };
  await withLog(jsonLines(events), async (path) => {
    const { runtime, stdout } = runtimeFor("/nonexistent");
    assert.equal(await main(["usage", "--audit-log", path, "--offline", "-o", "json"], runtime), 0);
    const doc = JSON.parse(stdout.text);
    assert.equal(doc.kind, "TokenUsage");
    assert.equal(doc.snapshot.credentials.length, 3);
    assert.deepEqual(doc.snapshot.issued[0].jti, "jti-web-1");
    assert.deepEqual(
      doc.findings.map((f: { type: string }) => f.type).sort(),
      ["long-lifetime", "minted-by-user", "new-network", "new-user-agent"],
    );
    assert.equal(doc.rules.cluster, "--offline");
    assert.ok(!stdout.text.includes("secret-token"));
  });
});

Deno.test("usage filters by service account, namespace, kind and time", async (t) => {
  await withLog(jsonLines(dayOfEvents()), async (path) => {
    const cases: [string[], string[]][] = [
      [["--service-account", "team/robot"], ["team/robot"]],
      [["-n", "ci"], ["ci/deployer"]],
      [["-n", "team", "--service-account", "robot"], ["team/robot"]],
      [["--kind", "user,service-account"], ["alice", "ci/deployer"]],
      [["--since", "2026-12-01T11:30:00Z"], ["team/robot"]],
      // NOW is 2026-12-02T00:00:01Z: 12h back is 12:00:01.
      [["--since", "12h"], ["team/robot"]],
      [["--since", "1h"], []],
    ];
    for (const [flags, expected] of cases) {
      await t.step(flags.join(" "), async () => {
        const { runtime, stdout, stderr } = runtimeFor("/nonexistent");
        assert.equal(await main(["usage", "--audit-log", path, "--offline", ...flags], runtime), 0);
        const rows = stdout.text.split("\n\n")[0].split("\n").slice(1).filter(Boolean)
          .map((l) => l.split(/\s+/)[0]);
        assert.deepEqual(
          expected.length ? rows : stderr.text,
          expected.length ? expected : "No credentials match.\n",
        );
      });
    }
  });
});

Deno.test("usage --fail-on: exits 1 at the severity, and never passes an incomplete read", async (t) => {
  await withLog([...jsonLines(dayOfEvents()), "{half a line"], async (path) => {
    await t.step("a finding at the severity", async () => {
      const { runtime, stderr } = runtimeFor("/nonexistent");
      assert.equal(
        await main(["usage", "--audit-log", path, "--offline", "--fail-on", "medium"], runtime),
        1,
      );
      assert.match(
        stderr.text,
        /\nerror: Found 4 findings of severity "medium" or above \(--fail-on medium\)\n$/,
      );
    });
    await t.step("none at the severity, but a malformed line", async () => {
      const { runtime, stderr } = runtimeFor("/nonexistent");
      assert.equal(
        await main(["usage", "--audit-log", path, "--offline", "--fail-on", "high"], runtime),
        1,
      );
      assert.match(
        stderr.text,
        /^Warning: 1 malformed line skipped \(first: .*audit\.log:7: not JSON\)\n/,
      );
      assert.match(
        stderr.text,
        /\nerror: Cannot pass --fail-on high: the report is incomplete \(1 malformed line skipped/,
      );
    });
  });
  await withLog(jsonLines(dayOfEvents()), async (path) => {
    await t.step("a whole read without high findings passes", async () => {
      const { runtime } = runtimeFor("/nonexistent");
      assert.equal(
        await main(["usage", "--audit-log", path, "--offline", "--fail-on", "high"], runtime),
        0,
      );
    });
  });
});

Deno.test("usage reads standard input, and shows progress only on a terminal", async (t) => {
  // The reader reports progress every 100000 lines; blank lines count and cost nothing.
  const input = jsonLines(dayOfEvents()).join("\n") + "\n".repeat(100_001);
  await t.step("terminal", async () => {
    const { runtime, stderr } = runtimeFor("/nonexistent", { terminal: true, stdin: input });
    assert.equal(await main(["usage", "--audit-log", "-", "--offline"], runtime), 0);
    assert.match(
      stderr.text,
      // deno-lint-ignore no-control-regex
      /^\rRead 6 events, 0 MB\.\.\.\x1b\[K\r\x1b\[K6 requests of 3 credentials/,
    );
  });
  await t.step("not a terminal", async () => {
    const { runtime, stderr } = runtimeFor("/nonexistent", { stdin: input });
    assert.equal(await main(["usage", "--audit-log", "-", "--offline"], runtime), 0);
    assert.match(stderr.text, /^6 requests of 3 credentials/);
  });
});

Deno.test("usage asks the cluster for the Pod's and Node's addresses (foreign-ip)", async (t) => {
  const server = await startApiServer({ now: processClock(NOW.toISOString()) });
  try {
    server.store.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team" } });
    server.store.create({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "node-a" },
      status: {
        addresses: [{ type: "InternalIP", address: "192.168.1.10" }, {
          type: "Hostname",
          address: "node-a",
        }],
      },
    });
    const pod = server.store.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web-1", namespace: "team", uid: "uid-web-1" },
      spec: {
        serviceAccountName: "robot",
        nodeName: "node-a",
        containers: [{ name: "c", image: "x" }],
      },
      status: { podIP: "10.0.0.5", podIPs: [{ ip: "10.0.0.5" }], hostIP: "192.168.1.10" },
    });
    await withLog(jsonLines(dayOfEvents(pod.metadata.uid)), async (path) => {
      await t.step("from the cluster: high, --fail-on high fails", async () => {
        const { runtime, stdout, stderr } = runtimeFor(server.kubeconfigPath);
        assert.equal(await main(["usage", "--audit-log", path, "--fail-on", "high"], runtime), 1);
        assert.ok(
          stdout.text.includes(
            "  high foreign-ip team/robot (token jti-web-): Token bound to Pod \"team/web-1\" used from 1 address that is neither the Pod's nor its Node's (10.0.0.5, 192.168.1.10)\n" +
              "      203.0.113.9: 2 requests, 2026-12-01T12:00:01Z .. 12:05:00Z\n",
          ),
          stdout.text,
        );
        assert.match(stderr.text, /error: Found 1 finding of severity "high" or above/);
      });
      await t.step(
        "the cluster unreachable: not evaluated, a warning, --fail-on refuses",
        async () => {
          const dir = await Deno.makeTempDir();
          const kubeconfig = join(dir, "config");
          await Deno.writeTextFile(
            kubeconfig,
            (await Deno.readTextFile(server.kubeconfigPath)).replace(
              /server: \S+/,
              "server: https://127.0.0.1:1",
            ),
          );
          const { runtime, stdout, stderr } = runtimeFor(kubeconfig);
          assert.equal(await main(["usage", "--audit-log", path, "--fail-on", "high"], runtime), 1);
          assert.match(
            stdout.text,
            /foreign-ip: 1 Pod-bound credential not evaluated \(the cluster is unreachable\)\n/,
          );
          assert.match(
            stderr.text,
            /^Warning: cannot look up the Pods and Nodes the tokens name: The connection to the server 127\.0\.0\.1:1 was refused/,
          );
          assert.match(
            stderr.text,
            /error: Cannot pass --fail-on high: the report is incomplete \(the cluster is unreachable/,
          );
          await Deno.remove(dir, { recursive: true });
        },
      );
    });
  } finally {
    await server.close();
  }
});

Deno.test("usage -o json|yaml prints a credential at a time exactly as the whole document", async (t) => {
  const { parse } = await import("yaml");
  const { toJson, toYaml } = await import("../../src/output/printers.ts");
  await withLog(jsonLines(dayOfEvents()), async (path) => {
    for (
      const [format, flags] of [["json", []], ["yaml", []], ["json", ["--kind", "pod"]]] as const
    ) {
      await t.step(`${format} ${flags.join(" ")}`, async () => {
        const { runtime, stdout } = runtimeFor("/nonexistent");
        assert.equal(
          await main(["usage", "--audit-log", path, "--offline", "-o", format, ...flags], runtime),
          0,
        );
        const again = format === "json"
          ? toJson(JSON.parse(stdout.text))
          : toYaml(parse(stdout.text));
        assert.equal(stdout.text, again);
      });
    }
  });
});

Deno.test("parseSince() counts back from the pinned instant at every edge of the day", async (t) => {
  for (const at of EDGE_INSTANTS) {
    await t.step(at, () => {
      const now = new Date(at);
      assert.equal(parseSince("2h", now).getTime(), now.getTime() - 2 * 3_600_000);
      assert.equal(parseSince("1d", now).getTime(), now.getTime() - 24 * 3_600_000);
      assert.equal(parseSince("1d12h", now).getTime(), now.getTime() - 36 * 3_600_000);
      // A date is the start of that day in UTC, whatever the hour now.
      assert.equal(parseSince("2026-11-30", now).toISOString(), "2026-11-30T00:00:00.000Z");
      assert.equal(
        parseSince("2026-12-01T23:59:59Z", now).toISOString(),
        "2026-12-01T23:59:59.000Z",
      );
    });
  }
});

Deno.test("usage collects the heap during a long read and after it, and reports the same", async () => {
  // 110,000 lines: the heap is looked at every 100,000, once here.
  const lines = Array.from({ length: 110_000 }, (_, i) =>
    JSON.stringify(event({
      at: `2026-12-01T10:${String(Math.floor(i / 2000) % 60).padStart(2, "0")}:00Z`,
      user: `system:serviceaccount:team-${i % 7}:app`,
      verb: i % 3 ? "get" : "list",
      resource: "configmaps",
      namespace: `team-${i % 7}`,
    })));
  await withLog(lines, async (path) => {
    const args = ["usage", "--audit-log", path, "--offline", "-o", "json", "-v=6"];
    const plain = runtimeFor("/nonexistent");
    plain.runtime.heap = () => undefined;
    assert.equal(await main(args, plain.runtime), 0);
    assert.match(plain.stderr.text, /read 110000 events, 110000 lines, \d+ bytes on 1 thread\n/);

    let collections = 0;
    const kept = runtimeFor("/nonexistent");
    // Always past any threshold: each look collects.
    kept.runtime.heap = () => ({ used: () => 1e12, collect: () => void collections++ });
    assert.equal(await main(args, kept.runtime), 0);
    assert.equal(collections, 2, "once during the read, once after it");
    assert.match(
      kept.stderr.text,
      /read 110000 events, 110000 lines, \d+ bytes on 1 thread; 2 heap collections/,
    );
    assert.equal(kept.stdout.text, plain.stdout.text);
  });
});
