/**
 * `scope SA --from-audit` in-process against the local API server, with audit events written
 * here: the events, grants and proposal tables, the check line, JSON, --apply with each
 * --dry-run, and the fallback to SelfSubjectRulesReview when the caller may not list RBAC.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { main } from "../../src/main.ts";
import { denoRuntime, type Output, type Runtime } from "../../src/runtime.ts";
import type { AuditEvent } from "../../src/usage/event.ts";
import { AccountRequestCounter, accountRequests } from "../../src/commands/_scope_from_audit.ts";
import { startApiServer } from "../apiserver/mod.ts";

class Capture implements Output {
  text = "";
  write(data: string | Uint8Array) {
    this.text += typeof data === "string" ? data : new TextDecoder().decode(data);
  }
  isTerminal() {
    return false;
  }
}

function runtimeFor(kubeconfig: string, dir: string) {
  const stdout = new Capture();
  const stderr = new Capture();
  const env: Record<string, string> = { KUBECONFIG: kubeconfig, HOME: dir };
  const runtime: Runtime = {
    ...denoRuntime(),
    env: (name) => env[name],
    envAll: () => ({ ...env }),
    homeDir: () => dir,
    stdout,
    stderr,
  };
  return { runtime, stdout, stderr };
}

const SA = "system:serviceaccount:app:robot";
let seq = 0;
function event(
  user: string,
  verb: string,
  more: Partial<AuditEvent> & { code?: number } = {},
): AuditEvent {
  const { code = 200, ...rest } = more;
  return {
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    level: "Metadata",
    auditID: `id-${++seq}`,
    stage: "ResponseComplete",
    verb,
    user: { username: user, groups: ["system:serviceaccounts", "system:authenticated"] },
    responseStatus: { code },
    requestReceivedTimestamp: `2026-12-01T10:00:${String(seq % 60).padStart(2, "0")}.000000Z`,
    ...rest,
  };
}
const ref = (resource: string, namespace?: string, name?: string) => ({
  resource,
  apiVersion: "v1",
  ...(namespace ? { namespace } : {}),
  ...(name ? { name } : {}),
});

/** The recorded workload: what robot did, and noise around it. */
function workload(): AuditEvent[] {
  const watchStarted = event(SA, "watch", {
    stage: "ResponseStarted",
    objectRef: ref("pods", "app"),
  });
  return [
    event(SA, "get", { stage: "RequestReceived", objectRef: ref("secrets", "app", "app-config") }),
    event(SA, "get", {
      objectRef: ref("secrets", "app", "app-config"),
      annotations: { "authorization.k8s.io/decision": "allow" },
    }),
    event(SA, "get", { objectRef: ref("secrets", "app", "app-config") }),
    event(SA, "list", { objectRef: ref("pods", "app") }),
    watchStarted,
    { ...watchStarted, stage: "ResponseComplete" }, // the same request: counted once
    event(SA, "get", { requestURI: "/version" }),
    event(SA, "list", {
      objectRef: ref("secrets", "app"),
      code: 403,
      annotations: { "authorization.k8s.io/decision": "forbid" },
    }),
    // Made as robot by an admin: RBAC decided it for robot.
    {
      ...event("admin", "get", { objectRef: ref("serviceaccounts", "app", "robot") }),
      impersonatedUser: { username: SA, groups: ["system:serviceaccounts"] },
    },
    // Someone else's requests.
    event("system:serviceaccount:app:other", "delete", { objectRef: ref("pods", "app", "x") }),
    event("admin", "create", { objectRef: ref("namespaces", undefined, "x") }),
  ];
}

async function setUp() {
  const server = await startApiServer();
  const dir = await Deno.makeTempDir({ prefix: "kubectl-token-scope-audit-" });
  const rbac = "rbac.authorization.k8s.io/v1";
  server.store.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "app" } });
  server.store.create({
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "robot", namespace: "app" },
  });
  server.store.create({
    apiVersion: rbac,
    kind: "Role",
    metadata: { name: "broad", namespace: "app" },
    rules: [{
      apiGroups: [""],
      resources: ["pods", "secrets", "serviceaccounts"],
      verbs: ["get", "list", "watch", "create"],
    }],
  });
  server.store.create({
    apiVersion: rbac,
    kind: "RoleBinding",
    metadata: { name: "broad", namespace: "app" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "broad" },
    subjects: [{ kind: "ServiceAccount", name: "robot" }],
  });
  const log = join(dir, "audit.log");
  await Deno.writeTextFile(
    log,
    workload().map((e) => JSON.stringify(e)).join("\n") + "\n{not json\n",
  );
  return { server, dir, log };
}

Deno.test("scope SA --from-audit compares grants with the events and proposes a role", async (t) => {
  const { server, dir, log } = await setUp();
  try {
    await t.step("text: the report as YAML comments, then the proposal", async () => {
      const { runtime, stdout, stderr } = runtimeFor(server.kubeconfigPath, dir);
      const code = await main(["scope", "robot", "-n", "app", "--from-audit", log], runtime);
      assert.equal(code, 0, stderr.text);
      const out = stdout.text;
      assert.match(
        out,
        /^# Service account "app\/robot": 7 requests \(6 allowed, 1 denied\) in 11 audit events/,
      );
      assert.match(
        out,
        /# RoleBinding "app\/broad" \(Role "broad"\)\s+app\s+pods,secrets,serviceaccounts\s+\[\]\s+\[\]\s+\[get list watch create\]\s+5\s+partly used \(unused: verbs create\)/,
      );
      assert.match(out, /# ClusterRoleBinding "system:basic-user" .*granted, unused/);
      assert.match(out, /# ClusterRoleBinding "system:discovery" .*\[get\]\s+1\s+partly used/);
      assert.match(
        out,
        /# Denied requests \(left out of the proposal\):\n# REQUEST\s+COUNT\n# list secrets in "app"\s+1\n/,
      );
      assert.match(
        out,
        /# Checked 6 observed requests \(5 distinct\) against the proposed rules: all allowed\n/,
      );
      assert.equal(
        stderr.text,
        "Warning: 1 lines of the audit events are not events and were skipped (first: " +
          `${log}:12: not JSON)\n`,
      );
      // The whole stdout is YAML that kubectl apply takes: comments, then the objects.
      const docs = out.split(/^---\n/m).slice(1).map((d) => parse(d));
      assert.deepEqual(docs.map((d) => [d.kind, d.metadata.namespace, d.metadata.name]), [
        ["ClusterRole", undefined, "kubectl-token-app-robot-least-privilege"],
        ["ClusterRoleBinding", undefined, "kubectl-token-app-robot-least-privilege"],
        ["Role", "app", "kubectl-token-robot-least-privilege"],
        ["RoleBinding", "app", "kubectl-token-robot-least-privilege"],
      ]);
      assert.deepEqual(docs[0].rules, [{ nonResourceURLs: ["/version"], verbs: ["get"] }]);
      assert.deepEqual(docs[2].rules, [
        { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] },
        { apiGroups: [""], resources: ["secrets"], resourceNames: ["app-config"], verbs: ["get"] },
        {
          apiGroups: [""],
          resources: ["serviceaccounts"],
          resourceNames: ["robot"],
          verbs: ["get"],
        },
      ]);
    });

    await t.step("-o json: the whole report", async () => {
      const { runtime, stdout } = runtimeFor(server.kubeconfigPath, dir);
      assert.equal(
        await main(["scope", "app/robot", "--from-audit", log, "-o", "json"], runtime),
        0,
      );
      const doc = JSON.parse(stdout.text);
      assert.equal(doc.kind, "LeastPrivilege");
      assert.deepEqual(doc.serviceAccount, { namespace: "app", name: "robot" });
      assert.equal(doc.rulesFrom, "roles and bindings");
      assert.deepEqual(doc.check, { requests: 6, distinct: 5, allAllowed: true });
      assert.deepEqual(doc.denied, [{
        request: { verb: "list", apiGroup: "", resource: "secrets", namespace: "app" },
        count: 1,
      }]);
      const broad = doc.grants.find((g: { source: string }) => g.source.includes('"broad"'));
      assert.deepEqual(broad.unused, { verbs: ["create"] });
      assert.equal(doc.proposal.items.length, 4);
    });

    await t.step("--apply --dry-run=server sends, stores nothing", async () => {
      const { runtime, stdout, stderr } = runtimeFor(server.kubeconfigPath, dir);
      const args = [
        "scope",
        "robot",
        "-n",
        "app",
        "--from-audit",
        log,
        "--apply",
        "--dry-run=server",
      ];
      assert.equal(await main(args, runtime), 0, stderr.text);
      assert.match(
        stdout.text,
        /\nclusterrole\.rbac\.authorization\.k8s\.io\/kubectl-token-app-robot-least-privilege created \(server dry run\)\n/,
      );
      assert.match(stdout.text, /rolebinding.* created \(server dry run\)\n$/);
      const dryRuns = server.requests.filter((r) =>
        r.method === "POST" && r.query.dryRun === "All"
      );
      assert.equal(dryRuns.length, 4);
      const rbac = "rbac.authorization.k8s.io/v1";
      assert.equal(
        server.store.get(rbac, "Role", "app", "kubectl-token-robot-least-privilege"),
        undefined,
      );
    });

    await t.step("--apply creates, then finds it unchanged, and updates what changed", async () => {
      const rbac = "rbac.authorization.k8s.io/v1";
      const args = ["scope", "robot", "-n", "app", "--from-audit", log, "--apply"];
      const first = runtimeFor(server.kubeconfigPath, dir);
      assert.equal(await main(args, first.runtime), 0, first.stderr.text);
      assert.match(
        first.stdout.text,
        /role\.rbac\.authorization\.k8s\.io\/kubectl-token-robot-least-privilege created\n/,
      );
      const role = server.store.get(rbac, "Role", "app", "kubectl-token-robot-least-privilege");
      assert.equal((role?.rules as unknown[]).length, 3);

      const again = runtimeFor(server.kubeconfigPath, dir);
      assert.equal(await main(args, again.runtime), 0, again.stderr.text);
      assert.equal((again.stdout.text.match(/ unchanged\n/g) ?? []).length, 4);

      server.store.update({ ...role!, rules: [] });
      const third = runtimeFor(server.kubeconfigPath, dir);
      assert.equal(await main(args, third.runtime), 0, third.stderr.text);
      assert.match(
        third.stdout.text,
        /role\.rbac\.authorization\.k8s\.io\/kubectl-token-robot-least-privilege configured\n/,
      );
      const updated = server.store.get(rbac, "Role", "app", "kubectl-token-robot-least-privilege");
      assert.equal((updated?.rules as unknown[]).length, 3);
    });

    await t.step("--dry-run=server on an object that differs: said, not sent", async () => {
      const rbac = "rbac.authorization.k8s.io/v1";
      const name = "kubectl-token-robot-least-privilege";
      const role = server.store.get(rbac, "Role", "app", name)!;
      server.store.update({ ...role, rules: [] });
      const before = server.requests.length;
      const args = ["scope", "robot", "-n", "app", "--from-audit", log, "--apply"];
      const { runtime, stdout, stderr } = runtimeFor(server.kubeconfigPath, dir);
      assert.equal(await main([...args, "--dry-run=server"], runtime), 0, stderr.text);
      assert.ok(
        stdout.text.includes(
          `\nrole.rbac.authorization.k8s.io/${name} exists with other content, not sent ` +
            "(server dry run): --apply replaces it\n",
        ),
        stdout.text,
      );
      const writes = server.requests.slice(before).filter((r) => r.method !== "GET");
      assert.deepEqual(writes.filter((r) => r.path.includes("/rbac")).map((r) => r.path), []);
      assert.deepEqual(server.store.get(rbac, "Role", "app", name)?.rules, []);

      const client = runtimeFor(server.kubeconfigPath, dir);
      const mark = server.requests.length;
      assert.equal(await main([...args, "--dry-run=client"], client.runtime), 0);
      assert.equal((client.stdout.text.match(/ created \(client dry run\)\n/g) ?? []).length, 4);
      const sent = server.requests.slice(mark).filter((r) => r.method !== "GET");
      assert.deepEqual(sent.filter((r) => r.path.includes("/rbac")).map((r) => r.path), []);
      server.store.update({ ...server.store.get(rbac, "Role", "app", name)!, rules: role.rules });
    });

    await t.step("a binding whose roleRef differs is not replaced", async () => {
      const rbac = "rbac.authorization.k8s.io/v1";
      const name = "kubectl-token-robot-least-privilege";
      const binding = server.store.get(rbac, "RoleBinding", "app", name)!;
      server.store.delete(rbac, "RoleBinding", "app", name);
      const moved = { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "broad" };
      server.store.create({ ...binding, metadata: { name, namespace: "app" }, roleRef: moved });
      const { runtime, stderr } = runtimeFor(server.kubeconfigPath, dir);
      const args = ["scope", "robot", "-n", "app", "--from-audit", log, "--apply"];
      assert.equal(await main(args, runtime), 1);
      assert.ok(
        stderr.text.endsWith(
          `error: Cannot update RoleBinding "app/${name}": it binds Role "broad", and a ` +
            "binding's roleRef cannot change; delete it first\n",
        ),
        stderr.text,
      );
      server.store.delete(rbac, "RoleBinding", "app", name);
      server.store.create({ ...binding, metadata: { name, namespace: "app" } });
    });

    await t.step(
      "a caller that may not list RBAC: SelfSubjectRulesReview as the account",
      async () => {
        const rbac = "rbac.authorization.k8s.io/v1";
        server.store.create({
          apiVersion: rbac,
          kind: "ClusterRole",
          metadata: { name: "sa-impersonator" },
          rules: [{ apiGroups: [""], resources: ["serviceaccounts"], verbs: ["impersonate"] }],
        });
        server.store.create({
          apiVersion: rbac,
          kind: "ClusterRoleBinding",
          metadata: { name: "sa-impersonator" },
          roleRef: {
            apiGroup: "rbac.authorization.k8s.io",
            kind: "ClusterRole",
            name: "sa-impersonator",
          },
          subjects: [{ kind: "User", name: "auditor" }],
        });
        server.addStaticToken("auditor-token-0123456789", { username: "auditor" });
        const kubeconfig = await server.writeKubeconfig("auditor", {
          token: "auditor-token-0123456789",
        });
        const { runtime, stdout, stderr } = runtimeFor(kubeconfig, dir);
        const code = await main(["scope", "app/robot", "--from-audit", log], runtime);
        assert.equal(code, 0, stderr.text);
        assert.match(
          stderr.text,
          /^Warning: cannot list RBAC objects \(.*\): the rules are the service account's SelfSubjectRulesReviews, made as it \(--as system:serviceaccount:app:robot\)/m,
        );
        assert.match(stdout.text, /# Its rules, from SelfSubjectRulesReviews made as it/);
        assert.match(
          stdout.text,
          /# a RoleBinding in "app" \(SelfSubjectRulesReview\)\s+app\s+pods,secrets,serviceaccounts.*partly used/,
        );
        assert.match(
          stdout.text,
          /# a ClusterRoleBinding \(SelfSubjectRulesReview\)\s+\*\s+.*\[\/version/,
        );
        assert.match(stdout.text, /all allowed\n/);
      },
    );

    await t.step("neither: one error naming the rights it takes", async () => {
      server.addStaticToken("nobody-token-0123456789", { username: "nobody" });
      const kubeconfig = await server.writeKubeconfig("nobody", {
        token: "nobody-token-0123456789",
      });
      const { runtime, stdout, stderr } = runtimeFor(kubeconfig, dir);
      assert.equal(await main(["scope", "app/robot", "--from-audit", log], runtime), 1);
      assert.equal(stdout.text, "");
      assert.match(
        stderr.text,
        /^(Warning: .*\n)*error: Cannot read what service account "app\/robot" may do: it takes list on roles, rolebindings, clusterroles and clusterrolebindings \(rbac\.authorization\.k8s\.io\), or impersonate on serviceaccounts "app\/robot", and the server refused both \(.*\)\n$/,
      );
    });
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("accountRequests() counts what RBAC decided for the account", async (t) => {
  await t.step("a request made as the account through impersonation counts for it", () => {
    const e = {
      ...event("admin", "list", { objectRef: ref("pods", "app") }),
      impersonatedUser: { username: SA },
    };
    assert.deepEqual(accountRequests(e, SA), [{
      request: { verb: "list", apiGroup: "", resource: "pods", namespace: "app" },
      allowed: true,
    }]);
  });
  await t.step("a request it made as someone else counts as its impersonate requests", () => {
    const e = {
      ...event(SA, "list", { objectRef: ref("pods", "web") }),
      impersonatedUser: {
        username: "jane",
        groups: ["devs", "system:authenticated"],
        extra: { scopes: ["a"] },
      },
    };
    assert.deepEqual(accountRequests(e, SA).map((r) => r.request), [
      { verb: "impersonate", apiGroup: "", resource: "users", name: "jane" },
      { verb: "impersonate", apiGroup: "", resource: "groups", name: "devs" },
      {
        verb: "impersonate",
        apiGroup: "authentication.k8s.io",
        resource: "userextras",
        subresource: "scopes",
        name: "a",
      },
    ]);
  });
  await t.step("impersonating another service account: its own groups are not asked for", () => {
    const e = {
      ...event(SA, "get", { objectRef: ref("pods", "web", "p") }),
      impersonatedUser: {
        username: "system:serviceaccount:web:builder",
        groups: ["system:serviceaccounts", "system:serviceaccounts:web", "system:authenticated"],
      },
    };
    assert.deepEqual(accountRequests(e, SA).map((r) => r.request), [{
      verb: "impersonate",
      apiGroup: "",
      resource: "serviceaccounts",
      namespace: "web",
      name: "builder",
    }]);
  });
  await t.step("decision annotation first, then the status code", () => {
    const allowed = (more: Partial<AuditEvent> & { code?: number }) =>
      accountRequests(event(SA, "create", { objectRef: ref("pods", "app"), ...more }), SA)[0]
        .allowed;
    // Admission refused it after RBAC allowed it: authorized.
    assert.equal(
      allowed({ code: 403, annotations: { "authorization.k8s.io/decision": "allow" } }),
      true,
    );
    assert.equal(allowed({ code: 403 }), false);
    assert.equal(allowed({ code: 401 }), false);
    assert.equal(allowed({ code: 404 }), true);
    assert.equal(
      allowed({ code: 200, annotations: { "authorization.k8s.io/decision": "forbid" } }),
      false,
    );
  });
  await t.step("each request once, whatever its stages", () => {
    const counter = new AccountRequestCounter({ namespace: "app", name: "robot" });
    for (const e of workload()) counter.add(e);
    assert.equal(counter.events, 11);
    assert.equal(counter.requests, 7);
    assert.deepEqual(
      counter.uses().map((
        u,
      ) => [u.request.verb, u.request.resource ?? u.request.nonResourceURL, u.count, u.denied]),
      [
        ["get", "secrets", 2, 0],
        ["list", "pods", 1, 0],
        ["watch", "pods", 1, 0],
        ["get", "/version", 1, 0],
        ["list", "secrets", 1, 1],
        ["get", "serviceaccounts", 1, 0],
      ],
    );
  });
});
