import assert from "node:assert/strict";
import { type CreateOptions, tokenRequestBody, validateCreate } from "../../src/commands/create.ts";
import { UsageError } from "../../src/errors.ts";

const base: CreateOptions = { serviceAccount: "sa", audience: [], output: "token" };

Deno.test("validateCreate() rejects bad flags with a message that names the flag", async (t) => {
  const cases: [string, Partial<CreateOptions>, RegExp][] = [
    ["name without kind", { boundObjectName: "p" }, /--bound-object-name/],
    ["uid without kind", { boundObjectUid: "u" }, /--bound-object-uid/],
    ["kind without name", { boundObjectKind: "Pod" }, /--bound-object-name/],
    [
      "unknown kind",
      { boundObjectKind: "Deployment", boundObjectName: "d" },
      /--bound-object-kind/,
    ],
    ["negative duration", { duration: "-5m" }, /--duration/],
    ["sub-second duration", { duration: "1500ms" }, /--duration/],
    ["bad duration", { duration: "ten minutes" }, /--duration/],
    ["empty audience", { audience: [""] }, /--audience/],
    ["unknown output", { output: "wide" }, /-o|--output/],
    ["bad name", { serviceAccount: "Not_Valid" }, /service account name/],
  ];
  for (const [name, change, message] of cases) {
    await t.step(name, () => {
      assert.throws(() => validateCreate({ ...base, ...change }), (e: unknown) => {
        assert.ok(e instanceof UsageError);
        assert.match(e.message, message);
        return true;
      });
    });
  }
});

Deno.test("validateCreate() and tokenRequestBody() build the TokenRequest kubectl would", async (t) => {
  const cases: [string, Partial<CreateOptions>, Record<string, unknown>][] = [
    ["defaults", {}, { audiences: [] }],
    ["duration 0 means the server default", { duration: "0" }, { audiences: [] }],
    ["Go duration", { duration: "1h30m" }, { audiences: [], expirationSeconds: 5400 }],
    ["audiences", { audience: ["a", "b"] }, { audiences: ["a", "b"] }],
    [
      "bound pod, kind case-insensitive",
      { boundObjectKind: "pod", boundObjectName: "p", boundObjectUid: "u1" },
      { audiences: [], boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "p", uid: "u1" } },
    ],
    [
      "bound secret without uid",
      { boundObjectKind: "Secret", boundObjectName: "s" },
      { audiences: [], boundObjectRef: { kind: "Secret", apiVersion: "v1", name: "s" } },
    ],
  ];
  for (const [name, change, spec] of cases) {
    await t.step(name, () => {
      const body = tokenRequestBody(validateCreate({ ...base, ...change }));
      assert.deepEqual(body, {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        metadata: {},
        spec,
      });
    });
  }
});
