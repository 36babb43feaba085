/**
 * A server that echoes the request's credential and sends terminal escapes, in a Status
 * message, in a Warning header and in a non-Status body shown at -v 6: no output of any command
 * shows the credential or a raw control character.
 */
import assert from "node:assert/strict";
import { runCli } from "./_cli.ts";
import { type FaultRequest, startApiServer } from "../apiserver/mod.ts";

// Not JWT-shaped: only the registered credential can redact it.
const TOKEN = "Static-Admin-Secret-0123456789";
const BOOTSTRAP = "abcdef.0123456789abcdef";
const JWT =
  "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDpvdGhlciJ9.c2lnbmF0dXJl";
const echo = (req: FaultRequest) =>
  `you sent ${req.authorization ?? "nothing"}; other ${JWT} ${BOOTSTRAP}`;

const COMMANDS: [string, string[]][] = [
  ["create", ["create", "robot"]],
  ["audit", ["audit"]],
  ["scope", ["scope"]],
  ["decode --verify", ["decode", "--verify"]],
  ["whoami", ["whoami"]],
];

function assertClean(output: string) {
  assert.ok(!output.includes(TOKEN), output);
  // Nor a recognisable part of it.
  assert.ok(!output.includes("0123456789"), output);
  assert.ok(!output.includes(JWT.slice(0, 30)), output);
  assert.ok(!output.includes(BOOTSTRAP), output);
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(output, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, JSON.stringify(output));
}

Deno.test("a hostile server cannot make a command print the credential or control characters", async (t) => {
  const server = await startApiServer();
  try {
    server.addStaticToken(TOKEN, { username: "admin", groups: ["system:masters"] });
    const kubeconfig = await server.writeKubeconfig("static", { token: TOKEN });
    const env = { KUBECONFIG: kubeconfig };
    server.store.create({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "robot", namespace: "default" },
    });
    // decode --verify fetches the server's keys to check a token the server signed.
    const created = await runCli(["create", "robot"], { env });
    assert.equal(created.code, 0, created.stderr);
    COMMANDS[3][1].push(created.stdout.trim());
    const faults = {
      "a 403 Status message": () =>
        server.injectFault({
          kind: "answer",
          times: 50,
          answer: (req) => ({
            code: 403,
            body: JSON.stringify({
              kind: "Status",
              apiVersion: "v1",
              status: "Failure",
              reason: "Forbidden",
              code: 403,
              message: `\x1b[2J\x1b]0;pwned\x07${echo(req)}\r\x1b[31mdenied\x9b0m\u202e`,
            }),
          }),
        }),
      "a non-Status body at -v 6": () =>
        server.injectFault({
          kind: "answer",
          times: 50,
          answer: (req) => ({
            code: 502,
            contentType: "text/html",
            body: `<html>\x1b[1m${echo(req)}\x1b[0m\x7f</html>`,
          }),
        }),
      "a Warning header": () =>
        server.injectFault({
          kind: "warn",
          times: 50,
          warning: (req) => `\u009b2J${echo(req)}`,
        }),
    };
    for (const [faultName, inject] of Object.entries(faults)) {
      for (const [name, args] of COMMANDS) {
        await t.step(`${faultName}: ${name}`, async () => {
          inject();
          const r = await runCli([...args, "-v", "6"], { env });
          const output = r.stdout + r.stderr;
          // A command sends fewer requests than `times`: what is left must not reach the next.
          server.clearFaults();
          assertClean(output);
          const shown = /you sent Bearer \[redacted\]; other \[redacted\] \[redacted\]/;
          if (faultName === "a Warning header") {
            assert.equal(r.code, 0, output);
            // create prints the Warning headers of its TokenRequest, as kubectl does.
            if (name === "create") {
              assert.match(r.stderr, new RegExp(`Warning: \\\\x9b2J${shown.source}`));
            }
          } else if (faultName === "a 403 Status message" && name === "whoami") {
            // whoami falls back through the review APIs and then says why none answered.
            assert.equal(r.code, 1, output);
            assert.match(r.stderr, /error: Cannot tell who you are/);
          } else {
            assert.equal(r.code, 1, output);
            assert.match(r.stderr, shown);
          }
        });
      }
    }
  } finally {
    await server.close();
  }
});

Deno.test("a 2xx answer that is not a JSON object is one line saying what was expected", async (t) => {
  const server = await startApiServer();
  try {
    server.store.create({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "robot", namespace: "default" },
    });
    const env = { KUBECONFIG: server.kubeconfigPath };
    const bodies: [string, string, string, RegExp][] = [
      ["an empty body", "application/json", "", /got an empty body \(status 200\)$/],
      ["null", "application/json", "null", /got null \(status 200\)$/],
      ["a list", "application/json", "[]", /got a list \(status 200\)$/],
      ["a string", "application/json", '"ok"', /got a string \(status 200\)$/],
      [
        "an HTML page",
        "text/html; charset=utf-8",
        "<html>login</html>",
        /got "text\/html" content \(status 200\)$/,
      ],
    ];
    const commands: [string, string[]][] = [
      ["create", ["create", "robot"]],
      ["whoami", ["whoami"]],
      ["scope", ["scope"]],
      ["audit", ["audit"]],
    ];
    for (const [what, contentType, body, want] of bodies) {
      for (const [name, args] of commands) {
        await t.step(`${what}: ${name}`, async () => {
          server.injectFault({
            kind: "answer",
            times: 50,
            answer: () => ({ code: 200, contentType, body }),
          });
          const r = await runCli(args, { env });
          server.clearFaults();
          assert.equal(r.code, 1, r.stderr);
          const lines = r.stderr.trimEnd().split("\n");
          assert.equal(lines.length, 1, r.stderr);
          assert.match(
            lines[0],
            /^error: .*Cannot read the response to (GET|POST) \/\S+: expected a JSON object, /,
          );
          assert.match(lines[0], want);
          assert.doesNotMatch(r.stderr, /Cannot read properties/);
        });
      }
    }
  } finally {
    await server.close();
  }
});
