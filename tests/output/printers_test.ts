import assert from "node:assert/strict";
import { UsageError } from "../../src/errors.ts";
import {
  parseOutputFlag,
  renderTable,
  toJson,
  toJsonAt,
  toYaml,
} from "../../src/output/printers.ts";
import { KUBECTL_CASES } from "./_kubectl_cases.ts";

// kubectl's YAML comes from a Go map, so its keys are sorted; toYaml() keeps the given order.
function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value === null || typeof value !== "object") return value;
  const object = value as Record<string, unknown>;
  return Object.fromEntries(Object.keys(object).sort().map((k) => [k, sortKeysDeep(object[k])]));
}

Deno.test("toJson() prints exactly what kubectl -o json prints", async (t) => {
  for (const c of KUBECTL_CASES) {
    await t.step(c.name, () => assert.equal(toJson(JSON.parse(c.json)), c.json));
  }
});

Deno.test("toYaml() prints exactly what kubectl -o yaml prints", async (t) => {
  for (const c of KUBECTL_CASES) {
    await t.step(c.name, () => assert.equal(toYaml(sortKeysDeep(JSON.parse(c.json))), c.yaml));
  }
});

Deno.test("toJson() indents with four spaces and escapes HTML characters like Go", () => {
  assert.equal(
    toJson({ a: [1, { b: "<x> & y\u2028" }], e: [], o: {} }),
    '{\n    "a": [\n        1,\n        {\n            "b": "\\u003cx\\u003e \\u0026 y\\u2028"\n' +
      '        }\n    ],\n    "e": [],\n    "o": {}\n}\n',
  );
});

Deno.test("toJsonAt() prints a value as toJson() prints it that many levels deep", async (t) => {
  const values: [string, unknown][] = [
    ["an object", { a: [1, { b: "<x> & y\u2028" }], e: [], o: {}, skipped: undefined }],
    ["an empty object", {}],
    ["an empty array", []],
    ["a string", "x"],
    ["null", null],
  ];
  for (const [name, value] of values) {
    await t.step(name, () => {
      for (const depth of [0, 1, 3]) {
        const indent = " ".repeat(4 * depth);
        // The value's lines of toJson([[[value]]]) (depth 3), say.
        let nested: unknown = value;
        for (let i = 0; i < depth; i++) nested = [nested];
        const lines = toJson(nested).trimEnd().split("\n");
        assert.equal(toJsonAt(value, depth), lines.slice(depth, lines.length - depth).join("\n"));
        assert.equal(
          toJsonAt(value, depth),
          indent + toJson(value).trimEnd().replaceAll("\n", `\n${indent}`),
        );
      }
    });
  }
  assert.equal(toJsonAt({ a: 1 }, 2), '        {\n            "a": 1\n        }');
});

Deno.test("toJson() and toYaml() drop undefined fields like encoding/json", () => {
  const value = { a: 1, skipped: undefined, when: new Date("2026-11-29T01:00:00Z") };
  assert.equal(toJson(value), '{\n    "a": 1,\n    "when": "2026-11-29T01:00:00.000Z"\n}\n');
  assert.equal(toYaml(value), 'a: 1\nwhen: "2026-11-29T01:00:00.000Z"\n');
});

Deno.test("toYaml() keeps the given key order and does not indent sequences under keys", () => {
  const value = {
    kind: "TokenRequest",
    apiVersion: "authentication.k8s.io/v1",
    spec: { audiences: ["https://kubernetes.default.svc"], expirationSeconds: 3600 },
    status: { expirationTimestamp: "2026-11-29T02:00:00Z", token: "eyJhbGciOi.eyJpc3Mi.c2ln" },
  };
  assert.equal(
    toYaml(value),
    [
      "kind: TokenRequest",
      "apiVersion: authentication.k8s.io/v1",
      "spec:",
      "  audiences:",
      "  - https://kubernetes.default.svc",
      "  expirationSeconds: 3600",
      "status:",
      '  expirationTimestamp: "2026-11-29T02:00:00Z"',
      "  token: eyJhbGciOi.eyJpc3Mi.c2ln",
      "",
    ].join("\n"),
  );
});

Deno.test("toYaml() quotes strings that YAML 1.1 would read as something else", async (t) => {
  const cases: [string, string][] = [
    ["yes", '"yes"'],
    ["on", '"on"'],
    ["y", '"y"'],
    ["true", '"true"'],
    ["null", '"null"'],
    ["~", '"~"'],
    ["", '""'],
    ["123", '"123"'],
    ["0x1F", '"0x1F"'],
    ["1e3", '"1e3"'],
    ["1_000", '"1_000"'],
    ["12:30", '"12:30"'],
    ["2026-11-29", '"2026-11-29"'],
    ["2026-13-01", "2026-13-01"],
    ["yesterday", "yesterday"],
    ["system:serviceaccount:default:x", "system:serviceaccount:default:x"],
    ["a: b", "'a: b'"],
    ["it's", "it's"],
    ["'quoted'", "'''quoted'''"],
    ["tab\there", '"tab\\there"'],
    ["😀", '"\\U0001F600"'],
  ];
  for (const [value, written] of cases) {
    await t.step(
      JSON.stringify(value),
      () => assert.equal(toYaml({ v: value }), `v: ${written}\n`),
    );
  }
});

Deno.test("toYaml() writes scalars and empty collections at the top level", async (t) => {
  const cases: [unknown, string][] = [
    [{}, "{}\n"],
    [[], "[]\n"],
    [null, "null\n"],
    ["plain", "plain\n"],
    [1.5, "1.5\n"],
    [[["a"], { b: [] }], "- - a\n- b: []\n"],
  ];
  for (const [value, written] of cases) {
    await t.step(JSON.stringify(value), () => assert.equal(toYaml(value), written));
  }
});

Deno.test("renderTable() pads columns like kubectl's tabwriter", () => {
  assert.equal(
    renderTable(["name", "age", "x"], [["default", "3d", "a"], ["kube-system-long", "47m", ""]]),
    [
      "NAME               AGE   X",
      "default            3d    a",
      "kube-system-long   47m",
      "",
    ].join("\n"),
  );
});

Deno.test("renderTable() keeps a minimum cell width of six and counts characters, not bytes", () => {
  assert.equal(
    renderTable(["a", "b"], [["é", "1"]]),
    "A     B\né     1\n",
  );
});

Deno.test("renderTable() prints only headers when there are no rows", () => {
  assert.equal(renderTable(["namespace", "name"], []), "NAMESPACE   NAME\n");
});

Deno.test("parseOutputFlag() accepts allowed formats and falls back when unset", async (t) => {
  const cases: [string | undefined, string][] = [
    [undefined, "text"],
    ["", "text"],
    ["json", "json"],
    ["yaml", "yaml"],
  ];
  for (const [value, want] of cases) {
    await t.step(String(value), () => {
      assert.equal(parseOutputFlag(value, ["json", "yaml"], "text"), want);
    });
  }
});

Deno.test("parseOutputFlag() rejects other formats with a UsageError listing the allowed ones", () => {
  assert.throws(
    () => parseOutputFlag("wide", ["json", "yaml"], "text"),
    (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(
        error.message,
        'Invalid value "wide" for flag -o/--output: allowed formats are json, yaml',
      );
      return true;
    },
  );
});

Deno.test("renderTable() shows control characters in cells escaped", () => {
  assert.equal(
    renderTable(["name", "user"], [["\x1b[2Jx", "a\rb"]]),
    "NAME       USER\n\\x1b[2Jx   a\\x0db\n",
  );
});
