import assert from "node:assert/strict";
import {
  escapeControls,
  redact,
  REDACTED,
  Redactor,
  redactorOf,
  withRedactedStderr,
} from "../../src/output/redact.ts";
import { denoRuntime, type Output } from "../../src/runtime.ts";

const JWT =
  "eyJhbGciOiJSUzI1NiIsImtpZCI6ImFiYyJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDpyb2JvdCJ9.c2lnbmF0dXJlX2J5dGVz-_x";

Deno.test("redact() replaces token-shaped words", async (t) => {
  const cases: [string, string, string][] = [
    ["a JWT", `token ${JWT} is bad`, `token ${REDACTED} is bad`],
    [
      "a JWT without signature",
      `got eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0. here`,
      `got ${REDACTED} here`,
    ],
    [
      "a JWE (five parts)",
      `x eyJhbGciOiJSU0EifQ.aaaaaaaaaa.bbbbbbbbbb.cccccccccc.dddddddddd y`,
      `x ${REDACTED} y`,
    ],
    ["a JWT in quotes", `"${JWT}"`, `"${REDACTED}"`],
    ["a bootstrap token", `token abcdef.0123456789abcdef rejected`, `token ${REDACTED} rejected`],
    ["a bootstrap token in quotes", `"abcdef.0123456789abcdef"`, `"${REDACTED}"`],
    [
      "a bearer value",
      `header Authorization: Bearer s3cr3t-static-T0KEN`,
      `header Authorization: Bearer ${REDACTED}`,
    ],
    ["a basic value", `Basic YWRtaW46aHVudGVyMg==`, `Basic ${REDACTED}`],
  ];
  for (const [name, input, want] of cases) {
    await t.step(name, () => assert.equal(redact(input), want));
  }
});

Deno.test("redact() leaves ordinary messages alone", async (t) => {
  const messages = [
    `serviceaccounts "robot" is forbidden: User "system:serviceaccount:default:robot" cannot create resource "serviceaccounts/token" in API group "" in the namespace "default"`,
    `Unable to connect to the server "https://kubernetes.default.svc.cluster.local:6443": no answer within 5s`,
    `Get "https://10.96.0.1:443/version?timeout=32s": dial tcp 10.96.0.1:443: connect: connection refused`,
    `the server could not find the requested resource (get selfsubjectreviews.authentication.k8s.io)`,
    `secrets "bootstrap-token-abcdef" not found`,
    `Server version v1.20.2+k3s1.0-0123456789abcdef, client v1.32.0`,
    `the Bearer token for authentication to the API server expired`,
    `Basic authentication is not supported`,
    `file "/home/user/.kube/config.backup-2026-12-01" has mode 0644`,
    `x509: certificate is valid for kubernetes.default.svc, not 127.0.0.2`,
    `apiVersion "client.authentication.k8s.io/v1beta1" of exec plugin "aws-iam-authenticator"`,
    `line one\n\tline two`,
  ];
  for (const message of messages) {
    await t.step(message.slice(0, 60), () => assert.equal(redact(message), message));
  }
});

Deno.test("redact() escapes terminal control characters", async (t) => {
  const cases: [string, string][] = [
    ["\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"],
    ["a\rb", "a\\x0db"],
    ["bell\x07", "bell\\x07"],
    ["del\x7f", "del\\x7f"],
    ["c1\x9b2J", "c1\\x9b2J"],
    ["nul\0", "nul\\x00"],
    ["rtl\u202eoverride", "rtl\\u202eoverride"],
    ["line\u2028sep", "line\\u2028sep"],
    ["keeps\nnewline\tand tab", "keeps\nnewline\tand tab"],
    ["unicode é ü 日本", "unicode é ü 日本"],
  ];
  for (const [input, want] of cases) {
    await t.step(JSON.stringify(input), () => {
      assert.equal(escapeControls(input), want);
      assert.equal(redact(input), want);
    });
  }
});

Deno.test("Redactor replaces the secrets it was given, longest first", () => {
  const r = new Redactor();
  r.add("static-admin-token");
  r.add("static-admin-token-2");
  r.add("abc"); // too short to replace as text
  r.add(undefined);
  r.add("");
  assert.equal(
    r.redact("got static-admin-token-2 and static-admin-token, abc"),
    `got ${REDACTED} and ${REDACTED}, abc`,
  );
});

Deno.test("Redactor replaces the lines of a PEM key one by one", () => {
  const r = new Redactor();
  const line1 = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg";
  const line2 = "oX3k2Jm0rQ8mDv7f1tBz9YyWcF5sKpL0aE4nH6uI2jOhRANC";
  r.add(`-----BEGIN PRIVATE KEY-----\n${line1}\n${line2}\n-----END PRIVATE KEY-----\n`);
  assert.equal(r.redact(`bad key ${line2}`), `bad key ${REDACTED}`);
  assert.equal(r.redact("-----BEGIN PRIVATE KEY-----"), "-----BEGIN PRIVATE KEY-----");
});

Deno.test("withRedactedStderr() redacts stderr and keeps only a progress line's own controls", () => {
  const real = denoRuntime();
  let text = "";
  const guarded = withRedactedStderr({
    ...real,
    stderr: {
      write: (d: string | Uint8Array) => text += String(d),
      isTerminal: () => true,
    } satisfies Output,
  });
  redactorOf(guarded).add("static-admin-token");
  guarded.stderr.write("error: static-admin-token\x1b[2J\n");
  guarded.stderr.write("\rRead 3 service accounts...\x1b[K");
  guarded.stderr.write("\r\x1b[K");
  guarded.stderr.write("Warning: \rhidden\x1b[K\n");
  assert.equal(
    text,
    `error: ${REDACTED}\\x1b[2J\n\rRead 3 service accounts...\x1b[K\r\x1b[KWarning: \\x0dhidden\\x1b[K\n`,
  );
  assert.equal(withRedactedStderr(guarded), guarded);
});
