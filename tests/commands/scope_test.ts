import assert from "node:assert/strict";
import { type RulesStatus, scopeRows, verdictOf } from "../../src/commands/scope.ts";

const tokenRule = (resourceNames?: string[]) => ({
  verbs: ["create"],
  apiGroups: [""],
  resources: ["serviceaccounts/token"],
  ...(resourceNames ? { resourceNames } : {}),
});

Deno.test("scopeRows() tells self-renewal from creating others' tokens", async (t) => {
  const self = { namespace: "ci", name: "deployer" };
  const cases: {
    name: string;
    names?: string[];
    namespace: string;
    risks: string[];
    notes: string[];
    verdict: string;
  }[] = [
    {
      name: "its own name, its own namespace: self-renewal",
      names: ["deployer"],
      namespace: "ci",
      risks: [],
      notes: ["self-renewal"],
      verdict: "read-only",
    },
    {
      name: "any name",
      namespace: "ci",
      risks: ["creates service-account tokens"],
      notes: [],
      verdict: "broader than read-only",
    },
    {
      name: "its own name and another",
      names: ["deployer", "admin"],
      namespace: "ci",
      risks: ["creates service-account tokens"],
      notes: [],
      verdict: "broader than read-only",
    },
    {
      name: "the same name in another namespace is another account",
      names: ["deployer"],
      namespace: "prod",
      risks: ["creates service-account tokens"],
      notes: [],
      verdict: "broader than read-only",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const status: RulesStatus = { resourceRules: [tokenRule(c.names)] };
      const rows = scopeRows(status, { self, namespace: c.namespace });
      assert.deepEqual([rows[0].risks, rows[0].notes], [c.risks, c.notes]);
      assert.equal(verdictOf(status, rows), c.verdict);
    });
  }
  await t.step("not a service account: never self-renewal", () => {
    const rows = scopeRows({ resourceRules: [tokenRule(["deployer"])] }, { namespace: "ci" });
    assert.deepEqual(rows[0].risks, ["creates service-account tokens"]);
  });
});
