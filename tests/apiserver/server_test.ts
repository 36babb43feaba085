import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { createLocalJWKSet, decodeJwt, type JWTPayload, jwtVerify } from "jose";
import { KUBECTL, kubectl, kubectlOk } from "./_kubectl.ts";
import { type ApiServer, type ApiServerOptions, type KubeObject, startApiServer } from "./mod.ts";

async function withServer(
  options: ApiServerOptions,
  fn: (server: ApiServer) => Promise<void>,
): Promise<void> {
  const server = await startApiServer(options);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

/** fetch() trusting the cluster CA, for raw protocol checks kubectl hides. */
async function raw(
  server: ApiServer,
  path: string,
  init: RequestInit & { token?: string } = {},
): Promise<{ status: number; headers: Headers; body: string }> {
  const client = Deno.createHttpClient({ caCerts: [server.caPem] });
  try {
    const headers = new Headers(init.headers);
    if (init.token) headers.set("Authorization", `Bearer ${init.token}`);
    const res = await fetch(server.url + path, { ...init, headers, client });
    return { status: res.status, headers: res.headers, body: await res.text() };
  } finally {
    client.close();
  }
}

function pod(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { containers: [{ name: "app", image: "busybox" }], ...spec },
  };
}

function uidOf(
  server: ApiServer,
  kind: string,
  namespace: string | undefined,
  name: string,
): string {
  const obj = server.store.get("v1", kind, namespace, name);
  assert.ok(obj, `${kind} ${name} exists`);
  return obj.metadata.uid!;
}

const ISSUER = "https://kubernetes.default.svc.cluster.local";

Deno.test("kubectl create token returns a JWT with the claims that were asked for", async (t) => {
  await withServer({}, async (server) => {
    server.store.create({ apiVersion: "v1", kind: "Node", metadata: { name: "node-1" } });
    server.store.create(pod("p", { nodeName: "node-1" }));
    const saUid = uidOf(server, "ServiceAccount", "default", "default");
    const podUid = uidOf(server, "Pod", "default", "p");
    const nodeUid = uidOf(server, "Node", undefined, "node-1");

    const cases: { name: string; args: string[]; check: (c: JWTPayload) => void }[] = [
      {
        name: "defaults: API audiences, one hour, no binding",
        args: [],
        check: (c) => {
          assert.deepEqual(c.aud, [ISSUER]);
          assert.equal(c.exp! - c.iat!, 3600);
          assert.deepEqual(c["kubernetes.io"], {
            namespace: "default",
            serviceaccount: { name: "default", uid: saUid },
          });
        },
      },
      {
        name: "audiences",
        args: ["--audience", "a", "--audience", "b"],
        check: (c) => assert.deepEqual(c.aud, ["a", "b"]),
      },
      {
        name: "duration",
        args: ["--duration", "2h"],
        check: (c) => assert.equal(c.exp! - c.iat!, 7200),
      },
      {
        name: "bound to a pod, with the pod's node",
        args: [
          "--bound-object-kind",
          "Pod",
          "--bound-object-name",
          "p",
          "--bound-object-uid",
          podUid,
        ],
        check: (c) =>
          assert.deepEqual(c["kubernetes.io"], {
            namespace: "default",
            node: { name: "node-1", uid: nodeUid },
            pod: { name: "p", uid: podUid },
            serviceaccount: { name: "default", uid: saUid },
          }),
      },
    ];
    for (const c of cases) {
      await t.step(c.name, async () => {
        const token = (await kubectlOk(server, ["create", "token", "default", ...c.args])).trim();
        const claims = decodeJwt(token);
        assert.equal(claims.iss, ISSUER);
        assert.equal(claims.sub, "system:serviceaccount:default:default");
        assert.equal(claims.nbf, claims.iat);
        assert.match(claims.jti!, /^[0-9a-f-]{36}$/);
        c.check(claims);
      });
    }

    await t.step(
      "-o json prints the TokenRequest and the token verifies against the JWKS",
      async () => {
        const out = JSON.parse(
          await kubectlOk(server, ["create", "token", "default", "-o", "json"]),
        );
        assert.equal(out.kind, "TokenRequest");
        assert.equal(out.apiVersion, "authentication.k8s.io/v1");
        assert.deepEqual(out.spec, {
          audiences: [ISSUER],
          expirationSeconds: 3600,
          boundObjectRef: null,
        });
        const jwks = JSON.parse(await kubectlOk(server, ["get", "--raw", "/openid/v1/jwks"]));
        const { payload, protectedHeader } = await jwtVerify(
          out.status.token,
          createLocalJWKSet(jwks),
          {
            issuer: ISSUER,
            audience: ISSUER,
          },
        );
        assert.deepEqual(Object.keys(protectedHeader), ["alg", "kid"]);
        assert.equal(
          new Date(payload.exp! * 1000).toISOString().replace(".000", ""),
          out.status.expirationTimestamp,
        );
      },
    );

    await t.step("the request went out as protobuf", () => {
      const posts = server.requests.filter((r) => r.method === "POST" && r.path.endsWith("/token"));
      assert.ok(posts.length >= 5);
      assert.ok(posts.every((r) => r.contentType === "application/vnd.kubernetes.protobuf"));
    });
  });
});

Deno.test("kubectl create token sees the errors a real server returns", async (t) => {
  await withServer({ maxTokenExpirationSeconds: 3600 }, async (server) => {
    server.store.create(pod("p"));
    const cases = [
      {
        args: ["default", "--duration", "5m"],
        stderr:
          /spec\.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes/,
      },
      { args: ["nope"], stderr: /serviceaccounts "nope" not found/ },
      {
        args: ["default", "--bound-object-kind", "Pod", "--bound-object-name", "gone"],
        stderr: /pods "gone" not found/,
      },
      {
        args: [
          "default",
          "--bound-object-kind",
          "Pod",
          "--bound-object-name",
          "p",
          "--bound-object-uid",
          "x",
        ],
        stderr:
          /Operation cannot be fulfilled on Pod "p": the UID in the bound object reference \(x\) does not match/,
      },
    ];
    for (const c of cases) {
      await t.step(c.args.join(" "), async () => {
        const run = await kubectl(server, ["create", "token", ...c.args]);
        assert.equal(run.code, 1);
        assert.match(run.stderr, c.stderr);
      });
    }
    await t.step("a duration above the maximum is shortened with a warning", async () => {
      const run = await kubectl(server, ["create", "token", "default", "--duration", "2h"]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stderr,
        /Warning: requested expiration of 7200 seconds shortened to 3600 seconds/,
      );
      const claims = decodeJwt(run.stdout.trim());
      assert.equal(claims.exp! - claims.iat!, 3600);
    });
  });
});

Deno.test("kubectl auth whoami reports the admin, a service account and a bootstrap token", async (t) => {
  await withServer({}, async (server) => {
    const whoami = async (kubeconfig?: string) =>
      JSON.parse(await kubectlOk(server, ["auth", "whoami", "-o", "json"], kubeconfig));

    await t.step("admin client certificate", async () => {
      const out = await whoami();
      assert.equal(out.apiVersion, "authentication.k8s.io/v1");
      assert.equal(out.status.userInfo.username, "kubernetes-admin");
      assert.deepEqual(out.status.userInfo.groups, ["system:masters", "system:authenticated"]);
      assert.match(
        out.status.userInfo.extra["authentication.kubernetes.io/credential-id"][0],
        /^X509SHA256=[0-9a-f]{64}$/,
      );
    });

    await t.step("service account token bound to a pod", async () => {
      server.store.create(pod("p"));
      const podUid = uidOf(server, "Pod", "default", "p");
      const token = (await kubectlOk(server, [
        "create",
        "token",
        "default",
        "--bound-object-kind",
        "Pod",
        "--bound-object-name",
        "p",
      ])).trim();
      const out = await whoami(await server.writeKubeconfig("sa", { token }));
      const info = out.status.userInfo;
      assert.equal(info.username, "system:serviceaccount:default:default");
      assert.equal(info.uid, uidOf(server, "ServiceAccount", "default", "default"));
      assert.deepEqual(info.groups, [
        "system:serviceaccounts",
        "system:serviceaccounts:default",
        "system:authenticated",
      ]);
      assert.deepEqual(info.extra["authentication.kubernetes.io/pod-name"], ["p"]);
      assert.deepEqual(info.extra["authentication.kubernetes.io/pod-uid"], [podUid]);
      assert.deepEqual(info.extra["authentication.kubernetes.io/credential-id"], [
        `JTI=${decodeJwt(token).jti}`,
      ]);
    });

    await t.step("bootstrap token", async () => {
      server.store.create({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "bootstrap-token-abcdef", namespace: "kube-system" },
        type: "bootstrap.kubernetes.io/token",
        stringData: {
          "token-id": "abcdef",
          "token-secret": "0123456789abcdef",
          "usage-bootstrap-authentication": "true",
          "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
        },
      });
      const out = await whoami(
        await server.writeKubeconfig("boot", { token: "abcdef.0123456789abcdef" }),
      );
      assert.deepEqual(out.status.userInfo, {
        username: "system:bootstrap:abcdef",
        groups: [
          "system:bootstrappers",
          "system:bootstrappers:kubeadm:default-node-token",
          "system:authenticated",
        ],
      });
    });
  });
});

Deno.test("kubectl auth whoami falls back through SelfSubjectReview versions like against older servers", async (t) => {
  await withServer({ disabledVersions: ["authentication.k8s.io/v1alpha1"] }, async (server) => {
    await t.step("without v1 it uses v1beta1", async () => {
      server.setDisabledVersions(["authentication.k8s.io/v1"]);
      const out = JSON.parse(await kubectlOk(server, ["auth", "whoami", "-o", "json"]));
      assert.equal(out.apiVersion, "authentication.k8s.io/v1beta1");
    });
    await t.step(
      "without any version it is not enabled, and discovery no longer lists it",
      async () => {
        server.setDisabledVersions([
          "authentication.k8s.io/v1",
          "authentication.k8s.io/v1beta1",
          "authentication.k8s.io/v1alpha1",
        ]);
        const run = await kubectl(server, ["auth", "whoami"]);
        assert.equal(run.code, 1);
        assert.match(run.stderr, /the selfsubjectreviews API is not enabled in the cluster/);
        const paths = server.requests.filter((r) => r.path.endsWith("/selfsubjectreviews")).map((
          r,
        ) => r.path);
        assert.deepEqual(paths.slice(-3), [
          "/apis/authentication.k8s.io/v1/selfsubjectreviews",
          "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews",
          "/apis/authentication.k8s.io/v1alpha1/selfsubjectreviews",
        ]);
        const groups = JSON.parse(await kubectlOk(server, ["get", "--raw", "/apis"])).groups.map((
          g: { name: string },
        ) => g.name);
        assert.ok(!groups.includes("authentication.k8s.io"));
      },
    );
    await t.step("like 1.20: no SelfSubjectReview but TokenReview v1 served", async () => {
      server.setDisabledVersions([
        "authentication.k8s.io/v1/selfsubjectreviews",
        "authentication.k8s.io/v1beta1",
        "authentication.k8s.io/v1alpha1",
      ]);
      const run = await kubectl(server, ["auth", "whoami"]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /the selfsubjectreviews API is not enabled in the cluster/);
      const list = JSON.parse(
        await kubectlOk(server, ["get", "--raw", "/apis/authentication.k8s.io/v1"]),
      );
      assert.deepEqual(list.resources.map((r: { name: string }) => r.name), ["tokenreviews"]);
      const token = (await kubectlOk(server, ["create", "token", "default"])).trim();
      const review = await tokenReview(server, token);
      assert.equal(review.status.user.username, "system:serviceaccount:default:default");
    });
  });
});

Deno.test("kubectl auth can-i answers from RBAC for a restricted user", async (t) => {
  await withServer({}, async (server) => {
    server.store.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "token-maker", namespace: "default" },
      rules: [
        { apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"] },
        { apiGroups: [""], resources: ["secrets"], resourceNames: ["s1"], verbs: ["get"] },
      ],
    });
    await kubectlOk(server, [
      "create",
      "rolebinding",
      "jane-tokens",
      "--role",
      "token-maker",
      "--user",
      "jane",
    ]);
    const cert = await server.issueClientCert("jane", ["devs"]);
    const jane = await server.writeKubeconfig("jane", cert);
    const other = await server.writeKubeconfig("joe", await server.issueClientCert("joe"));

    await t.step("--list shows the role's rules and the defaults", async () => {
      const out = await kubectlOk(server, ["auth", "can-i", "--list"], jane);
      assert.match(out, /serviceaccounts\/token\s+\[\]\s+\[\]\s+\[create\]/);
      assert.match(out, /secrets\s+\[\]\s+\[s1\]\s+\[get\]/);
      assert.match(out, /selfsubjectreviews\.authentication\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]/);
    });
    const cases: { who: string; kubeconfig: string; args: string[]; allowed: boolean }[] = [
      {
        who: "jane",
        kubeconfig: jane,
        args: ["create", "serviceaccounts", "--subresource=token"],
        allowed: true,
      },
      {
        who: "joe",
        kubeconfig: other,
        args: ["create", "serviceaccounts", "--subresource=token"],
        allowed: false,
      },
      // kubectl reads "serviceaccounts/token" as resource/NAME, so this asks about an SA named token.
      { who: "jane", kubeconfig: jane, args: ["create", "serviceaccounts/token"], allowed: false },
      { who: "jane", kubeconfig: jane, args: ["get", "secrets/s1"], allowed: true },
      { who: "jane", kubeconfig: jane, args: ["list", "secrets"], allowed: false },
    ];
    for (const c of cases) {
      await t.step(`${c.who}: can-i ${c.args.join(" ")}`, async () => {
        const run = await kubectl(server, ["auth", "can-i", ...c.args], c.kubeconfig);
        assert.equal(run.stdout.trim(), c.allowed ? "yes" : "no");
        assert.equal(run.code, c.allowed ? 0 : 1);
      });
    }
    await t.step("a forbidden list carries the real message", async () => {
      const run = await kubectl(server, ["get", "secrets"], jane);
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /Error from server \(Forbidden\): secrets is forbidden: User "jane" cannot list resource "secrets" in API group "" in the namespace "default"/,
      );
    });
  });
});

Deno.test("kubectl get lists with names, all namespaces, field selectors and chunks", async (t) => {
  await withServer({}, async (server) => {
    for (const name of ["s1", "s2", "s3", "s4", "s5"]) {
      server.store.create({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace: "default" },
        data: {},
      });
    }
    server.store.create({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "robot", namespace: "default" },
    });
    server.store.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "robot-token",
        namespace: "default",
        annotations: { "kubernetes.io/service-account.name": "robot" },
      },
      type: "kubernetes.io/service-account-token",
    });

    await t.step("-o name", async () => {
      const out = await kubectlOk(server, ["get", "sa,secrets", "-o", "name"]);
      assert.deepEqual(out.trim().split("\n"), [
        "serviceaccount/default",
        "serviceaccount/robot",
        "secret/robot-token",
        "secret/s1",
        "secret/s2",
        "secret/s3",
        "secret/s4",
        "secret/s5",
      ]);
    });
    await t.step("-A", async () => {
      const out = await kubectlOk(server, ["get", "sa", "-A", "--no-headers"]);
      const rows = out.trim().split("\n").map((l) => l.split(/\s+/).slice(0, 2).join("/"));
      assert.deepEqual(rows, [
        "default/default",
        "default/robot",
        "kube-node-lease/default",
        "kube-public/default",
        "kube-system/default",
      ]);
    });
    await t.step("the default table has the secret columns", async () => {
      const out = await kubectlOk(server, ["get", "secret", "robot-token"]);
      assert.match(
        out,
        /^NAME\s+TYPE\s+DATA\s+AGE\nrobot-token\s+kubernetes\.io\/service-account-token\s+3\s+\d+s\n$/,
      );
    });
    await t.step("--field-selector type=", async () => {
      const out = await kubectlOk(server, [
        "get",
        "secrets",
        "-A",
        "--field-selector",
        "type=kubernetes.io/service-account-token",
        "-o",
        "name",
      ]);
      assert.equal(out, "secret/robot-token\n");
    });
    await t.step("--chunk-size pages with limit and continue", async () => {
      const before = server.requests.length;
      const out = await kubectlOk(server, ["get", "secrets", "--chunk-size", "2", "-o", "name"]);
      assert.equal(out.trim().split("\n").length, 6);
      const lists = server.requests.slice(before).filter((r) =>
        r.path === "/api/v1/namespaces/default/secrets"
      );
      assert.equal(lists.length, 3);
      assert.ok(lists.every((r) => r.query.limit === "2"));
      assert.equal(lists[0].query.continue, undefined);
      assert.ok(lists[1].query.continue && lists[2].query.continue);
    });
  });
});

Deno.test("failed authentication is Unauthorized and bound tokens die with their objects", async (t) => {
  await withServer({}, async (server) => {
    await t.step("a wrong token", async () => {
      const run = await kubectl(
        server,
        ["get", "pods"],
        await server.writeKubeconfig("bad", { token: "not-a-token" }),
      );
      assert.equal(run.code, 1);
      assert.match(run.stderr, /Unauthorized|provide credentials/);
      const res = await raw(server, "/api/v1/namespaces/default/pods", { token: "not-a-token" });
      assert.equal(res.status, 401);
      assert.deepEqual(JSON.parse(res.body), {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "Unauthorized",
        reason: "Unauthorized",
        code: 401,
      });
    });
    await t.step("an expired client certificate", async () => {
      const cert = await server.issueClientCert("old", [], {
        notAfter: new Date(Date.now() - 60_000),
      });
      const run = await kubectl(
        server,
        ["auth", "whoami"],
        await server.writeKubeconfig("old", cert),
      );
      assert.equal(run.code, 1);
      assert.match(run.stderr, /Unauthorized/);
    });
    await t.step("a pod-bound token stops working once the pod is deleted", async () => {
      server.store.create(pod("p"));
      const token = (await kubectlOk(server, [
        "create",
        "token",
        "default",
        "--bound-object-kind",
        "Pod",
        "--bound-object-name",
        "p",
      ])).trim();
      const kubeconfig = await server.writeKubeconfig("pod-bound", { token });
      await kubectlOk(server, ["auth", "whoami"], kubeconfig);
      await kubectlOk(server, ["delete", "pod", "p"]);
      const run = await kubectl(server, ["auth", "whoami"], kubeconfig);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /Unauthorized/);
    });
    await t.step("a token stops working once its service account is recreated", async () => {
      await kubectlOk(server, ["create", "serviceaccount", "robot"]);
      const token = (await kubectlOk(server, ["create", "token", "robot"])).trim();
      await kubectlOk(server, ["delete", "serviceaccount", "robot"]);
      await kubectlOk(server, ["create", "serviceaccount", "robot"]);
      const review = await tokenReview(server, token);
      assert.equal(review.status.authenticated, undefined);
      assert.match(review.status.error, /^service account UID \(.+\) does not match claim \(.+\)$/);
    });
  });
});

async function tokenReview(server: ApiServer, token: string, audiences?: string[]) {
  const body = {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenReview",
    spec: { token, audiences },
  };
  const file = join(server.dir, "review.json");
  await Deno.writeTextFile(file, JSON.stringify(body));
  return JSON.parse(
    await kubectlOk(server, [
      "create",
      "--raw",
      "/apis/authentication.k8s.io/v1/tokenreviews",
      "-f",
      file,
    ]),
  );
}

Deno.test("TokenReview checks audiences and needs RBAC permission", async () => {
  await withServer({}, async (server) => {
    const token = (await kubectlOk(server, [
      "create",
      "token",
      "default",
      "--audience",
      "vault",
      "--audience",
      "api",
    ])).trim();
    const ok = await tokenReview(server, token, ["vault"]);
    assert.equal(ok.status.authenticated, true);
    assert.deepEqual(ok.status.audiences, ["vault"]);
    assert.equal(ok.status.user.username, "system:serviceaccount:default:default");
    // Without audiences in the review, a real server answers with the API audiences.
    const plain = await tokenReview(
      server,
      (await kubectlOk(server, ["create", "token", "default"])).trim(),
    );
    assert.deepEqual(plain.status.audiences, [ISSUER]);
    const wrong = await tokenReview(server, token, ["other"]);
    assert.equal(
      wrong.status.error,
      'token audiences ["vault" "api"] is invalid for the target audiences ["other"]',
    );
    const asDefault = await server.writeKubeconfig("sa", {
      token: (await kubectlOk(server, ["create", "token", "default"])).trim(),
    });
    const file = join(server.dir, "review.json");
    const run = await kubectl(server, [
      "create",
      "--raw",
      "/apis/authentication.k8s.io/v1/tokenreviews",
      "-f",
      file,
    ], asDefault);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /tokenreviews\.authentication\.k8s\.io is forbidden: User "system:serviceaccount:default:default" cannot create resource "tokenreviews" in API group "authentication\.k8s\.io" at the cluster scope/,
    );
  });
});

Deno.test("legacy token Secrets are filled by the controller, tracked and can be invalidated", async (t) => {
  await withServer({ tokenControllerDelayMs: 50 }, async (server) => {
    await kubectlOk(server, ["create", "serviceaccount", "robot"]);
    const manifest = join(server.dir, "secret.yaml");
    await Deno.writeTextFile(
      manifest,
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: robot-token\n  annotations:\n    kubernetes.io/service-account.name: robot\ntype: kubernetes.io/service-account-token\n",
    );
    await kubectlOk(server, ["apply", "-f", manifest]);
    const get = () => server.store.get("v1", "Secret", "default", "robot-token")!;
    await t.step("empty at first, filled after the controller delay", async () => {
      const token = () => (get().data as Record<string, string> | undefined)?.token;
      assert.equal(token(), undefined);
      // Poll for the controller, never longer than 10 s.
      for (const deadline = Date.now() + 10_000; token() === undefined;) {
        assert.ok(Date.now() < deadline, "the token controller did not fill the Secret");
        await new Promise((r) => setTimeout(r, 10));
      }
      const secret = get();
      const data = secret.data as Record<string, string>;
      assert.equal(Buffer.from(data["ca.crt"], "base64").toString(), server.caPem);
      assert.equal(Buffer.from(data.namespace, "base64").toString(), "default");
      assert.equal(
        secret.metadata.annotations?.["kubernetes.io/service-account.uid"],
        uidOf(server, "ServiceAccount", "default", "robot"),
      );
      assert.deepEqual(decodeJwt(Buffer.from(data.token, "base64").toString()), {
        iss: "kubernetes/serviceaccount",
        "kubernetes.io/serviceaccount/namespace": "default",
        "kubernetes.io/serviceaccount/secret.name": "robot-token",
        "kubernetes.io/serviceaccount/service-account.name": "robot",
        "kubernetes.io/serviceaccount/service-account.uid": uidOf(
          server,
          "ServiceAccount",
          "default",
          "robot",
        ),
        sub: "system:serviceaccount:default:robot",
      });
    });
    const token = () =>
      Buffer.from((get().data as Record<string, string>).token, "base64").toString();
    await t.step("using it stamps the last-used label", async () => {
      const kubeconfig = await server.writeKubeconfig("legacy", { token: token() });
      const out = JSON.parse(await kubectlOk(server, ["auth", "whoami", "-o", "json"], kubeconfig));
      assert.equal(out.status.userInfo.username, "system:serviceaccount:default:robot");
      assert.match(
        get().metadata.labels?.["kubernetes.io/legacy-token-last-used"] ?? "",
        /^\d{4}-\d{2}-\d{2}$/,
      );
    });
    await t.step("the invalid-since label switches it off", async () => {
      await kubectlOk(server, [
        "label",
        "secret",
        "robot-token",
        "kubernetes.io/legacy-token-invalid-since=2024-01-01",
      ]);
      const review = await tokenReview(server, token());
      assert.match(review.status.error, /has been marked invalid/);
    });
    await t.step("deleting the service account deletes the Secret", async () => {
      await kubectlOk(server, ["delete", "serviceaccount", "robot"]);
      assert.equal(server.store.get("v1", "Secret", "default", "robot-token"), undefined);
    });
  });
});

Deno.test("raw protocol: Status bodies, discovery, OIDC and injected faults", async (t) => {
  await withServer({}, async (server) => {
    const admin = (await kubectlOk(server, ["create", "token", "default"])).trim();
    await kubectlOk(server, [
      "create",
      "clusterrolebinding",
      "sa-admin",
      "--clusterrole",
      "cluster-admin",
      "--serviceaccount",
      "default:default",
    ]);

    await t.step("anonymous is forbidden with details {}", async () => {
      const res = await raw(server, "/api");
      assert.equal(res.status, 403);
      assert.equal(
        JSON.parse(res.body).message,
        'forbidden: User "system:anonymous" cannot get path "/api"',
      );
      assert.deepEqual(JSON.parse(res.body).details, {});
      assert.equal((await raw(server, "/version")).status, 200);
    });
    await t.step("NotFound and AlreadyExists", async () => {
      const res = await raw(server, "/api/v1/namespaces/default/secrets/none", { token: admin });
      assert.equal(res.status, 404);
      assert.deepEqual(JSON.parse(res.body), {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: 'secrets "none" not found',
        reason: "NotFound",
        details: { name: "none", kind: "secrets" },
        code: 404,
      });
      const dup = await raw(server, "/api/v1/namespaces", {
        method: "POST",
        token: admin,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name: "default" },
        }),
      });
      assert.equal(dup.status, 409);
      assert.equal(JSON.parse(dup.body).reason, "AlreadyExists");
    });
    await t.step("OIDC discovery", async () => {
      const config = JSON.parse(
        (await raw(server, "/.well-known/openid-configuration", { token: admin })).body,
      );
      assert.equal(config.issuer, ISSUER);
      // Without --service-account-jwks-uri: the server's own address, as kube-apiserver 1.20 does.
      assert.equal(config.jwks_uri, `${server.url}/openid/v1/jwks`);
      assert.deepEqual(config.id_token_signing_alg_values_supported, ["RS256"]);
      const keys = JSON.parse((await raw(server, "/openid/v1/jwks", { token: admin })).body).keys;
      assert.deepEqual(Object.keys(keys[0]), ["use", "kty", "kid", "alg", "n", "e"]);
    });
    await t.step(
      "the key set is application/jwk-set+json: Accept application/json is 406",
      async () => {
        const accept = (value: string) =>
          raw(server, "/openid/v1/jwks", { token: admin, headers: { Accept: value } });
        const refused = await accept("application/json");
        assert.equal(refused.status, 406);
        assert.deepEqual(JSON.parse(refused.body), {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: "406: Not Acceptable",
          reason: "NotAcceptable",
          details: {},
          code: 406,
        });
        for (const ok of ["application/json, */*", "application/jwk-set+json", "*/*"]) {
          const res = await accept(ok);
          assert.equal(res.status, 200, ok);
          assert.equal(res.headers.get("content-type"), "application/jwk-set+json");
        }
      },
    );
    await t.step('Invalid: each cause\'s field error type is sent as "reason"', async () => {
      const res = await raw(server, "/api/v1/namespaces/default/serviceaccounts/default/token", {
        method: "POST",
        token: admin,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ spec: { expirationSeconds: 300 } }),
      });
      assert.equal(res.status, 422);
      assert.deepEqual(JSON.parse(res.body).details.causes, [{
        reason: "FieldValueInvalid",
        message: "Invalid value: 300: may not specify a duration less than 10 minutes",
        field: "spec.expirationSeconds",
      }]);
    });
    await t.step("429 with Retry-After is retried by kubectl", async () => {
      server.injectFault({
        path: /\/serviceaccounts$/,
        kind: "status",
        code: 429,
        retryAfterSeconds: 1,
      });
      const before = server.requests.length;
      await kubectlOk(server, ["get", "sa", "-o", "name"]);
      assert.equal(
        server.requests.slice(before).filter((r) => r.path.endsWith("/serviceaccounts")).length,
        2,
      );
    });
    await t.step("status, reset, truncate and delay", async () => {
      server.injectFault({ path: /^\/version$/, kind: "status", code: 503 });
      const res = await raw(server, "/version");
      assert.equal(res.status, 503);
      assert.equal(JSON.parse(res.body).reason, "ServiceUnavailable");
      server.injectFault({ path: /^\/version$/, kind: "reset" });
      await assert.rejects(raw(server, "/version"));
      server.injectFault({ path: /^\/version$/, kind: "truncate" });
      await assert.rejects(raw(server, "/version"));
      server.injectFault({ path: /^\/version$/, kind: "delay", ms: 200 });
      const start = performance.now();
      assert.equal((await raw(server, "/version")).status, 200);
      assert.ok(performance.now() - start >= 190);
    });
  });
});

Deno.test("namespaces: default service account, create needs the namespace, delete cascades", async () => {
  await withServer({}, async (server) => {
    await kubectlOk(server, ["create", "namespace", "team"]);
    assert.ok(server.store.get("v1", "ServiceAccount", "team", "default"));
    await kubectlOk(server, [
      "create",
      "secret",
      "generic",
      "s",
      "-n",
      "team",
      "--from-literal=a=b",
    ]);
    await kubectlOk(server, ["delete", "namespace", "team"]);
    assert.deepEqual(server.store.list("v1", "Secret", "team"), []);
    assert.deepEqual(server.store.list("v1", "ServiceAccount", "team"), []);
    const run = await kubectl(server, ["create", "serviceaccount", "x", "-n", "team"]);
    assert.match(run.stderr, /namespaces "team" not found/);
  });
});

Deno.test("the server clock signs and validates tokens", async () => {
  let now = new Date("2030-01-01T00:00:00Z");
  await withServer({ now: () => now }, async (server) => {
    const token = (await kubectlOk(server, ["create", "token", "default", "--duration", "10m"]))
      .trim();
    assert.equal(decodeJwt(token).iat, now.getTime() / 1000);
    const kubeconfig = await server.writeKubeconfig("clock", { token });
    await kubectlOk(server, ["auth", "whoami"], kubeconfig);
    // Still valid within go-jose's one-minute leeway after exp, refused after it.
    now = new Date(now.getTime() + 10.5 * 60_000);
    await kubectlOk(server, ["auth", "whoami"], kubeconfig);
    now = new Date(now.getTime() + 60_000);
    const review = await tokenReview(server, token);
    assert.equal(review.status.error, "service account token has expired");
  });
});

Deno.test("main.ts prints the kubeconfig path and stops on SIGTERM", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./main.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  const path = text.trim();
  const version = await new Deno.Command(KUBECTL, {
    args: ["--kubeconfig", path, "version", "-o", "json"],
    env: { KUBECACHEDIR: `${path}.cache` },
    stdout: "piped",
    stderr: "piped",
  }).output();
  child.kill("SIGTERM");
  await reader.cancel();
  const status = await child.status;
  assert.equal(
    JSON.parse(new TextDecoder().decode(version.stdout)).serverVersion.gitVersion,
    "v1.32.0",
  );
  assert.equal(status.code, 0);
});

Deno.test("kubectl --as is authorized and applied as kube-apiserver's impersonation filter does", async (t) => {
  await withServer({}, async (server) => {
    const whoami = async (args: string[], kubeconfig?: string) =>
      JSON.parse(await kubectlOk(server, ["auth", "whoami", "-o", "json", ...args], kubeconfig))
        .status.userInfo;
    await t.step(
      "a service account gets its fixed groups unless groups are asked for",
      async () => {
        assert.deepEqual(await whoami(["--as", "system:serviceaccount:ci:deployer"]), {
          username: "system:serviceaccount:ci:deployer",
          groups: ["system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated"],
        });
        assert.deepEqual(
          (await whoami(["--as", "system:serviceaccount:ci:deployer", "--as-group", "team"]))
            .groups,
          ["team", "system:authenticated"],
        );
      },
    );
    await t.step("a user with groups, a uid and system:authenticated added", async () => {
      assert.deepEqual(await whoami(["--as", "bob", "--as-group", "a", "--as-uid", "42"]), {
        username: "bob",
        uid: "42",
        groups: ["a", "system:authenticated"],
      });
    });
    await t.step("who may not impersonate is refused with the upstream message", async () => {
      const token = (await kubectlOk(server, ["create", "token", "default"])).trim();
      const kubeconfig = await server.writeKubeconfig("sa", { token });
      const run = await kubectl(
        server,
        ["get", "--raw", "/api/v1/pods", "--as", "bob"],
        kubeconfig,
      );
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /users "bob" is forbidden: User "system:serviceaccount:default:default" cannot impersonate resource "users" in API group "" at the cluster scope/,
      );
    });
  });
});
