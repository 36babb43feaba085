/**
 * The rule matcher against the cases of upstream's own tests:
 * k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac/rbac_test.go, TestRuleMatches (one table per
 * rule: request -> allowed) and the subresource cases of TestAuthorizer.
 */
import assert from "node:assert/strict";
import { type PolicyRule, type RbacRequest, ruleAllows } from "../../src/rbac/mod.ts";

const res = (verb: string, apiGroup: string, resource: string, subresource?: string) =>
  ({ verb, apiGroup, resource, ...(subresource ? { subresource } : {}) }) as RbacRequest;
const url = (verb: string, nonResourceURL: string): RbacRequest => ({ verb, nonResourceURL });

interface Case {
  name: string;
  rule: PolicyRule;
  requests: [RbacRequest, boolean][];
}

// TestRuleMatches, case by case (the request tables are upstream's, in its order).
const upstream: Case[] = [
  {
    name: "star verb, exact match other",
    rule: { verbs: ["*"], apiGroups: ["group1"], resources: ["resource1"] },
    requests: [
      [res("verb1", "group1", "resource1"), true],
      [res("verb1", "group2", "resource1"), false],
      [res("verb1", "group1", "resource2"), false],
      [res("verb1", "group2", "resource2"), false],
      [res("verb2", "group1", "resource1"), true],
      [res("verb2", "group2", "resource1"), false],
      [res("verb2", "group1", "resource2"), false],
      [res("verb2", "group2", "resource2"), false],
    ],
  },
  {
    name: "star group, exact match other",
    rule: { verbs: ["verb1"], apiGroups: ["*"], resources: ["resource1"] },
    requests: [
      [res("verb1", "group1", "resource1"), true],
      [res("verb1", "group2", "resource1"), true],
      [res("verb1", "group1", "resource2"), false],
      [res("verb1", "group2", "resource2"), false],
      [res("verb2", "group1", "resource1"), false],
      [res("verb2", "group2", "resource1"), false],
      [res("verb2", "group1", "resource2"), false],
      [res("verb2", "group2", "resource2"), false],
    ],
  },
  {
    name: "star resource, exact match other",
    rule: { verbs: ["verb1"], apiGroups: ["group1"], resources: ["*"] },
    requests: [
      [res("verb1", "group1", "resource1"), true],
      [res("verb1", "group2", "resource1"), false],
      [res("verb1", "group1", "resource2"), true],
      [res("verb1", "group2", "resource2"), false],
      [res("verb2", "group1", "resource1"), false],
      [res("verb2", "group2", "resource1"), false],
      [res("verb2", "group1", "resource2"), false],
      [res("verb2", "group2", "resource2"), false],
    ],
  },
  {
    name: "tuple expansion",
    rule: {
      verbs: ["verb1", "verb2"],
      apiGroups: ["group1", "group2"],
      resources: ["resource1", "resource2"],
    },
    requests: [
      [res("verb1", "group1", "resource1"), true],
      [res("verb1", "group2", "resource1"), true],
      [res("verb1", "group1", "resource2"), true],
      [res("verb1", "group2", "resource2"), true],
      [res("verb2", "group1", "resource1"), true],
      [res("verb2", "group2", "resource1"), true],
      [res("verb2", "group1", "resource2"), true],
      [res("verb2", "group2", "resource2"), true],
    ],
  },
  {
    name: "subresource expansion",
    rule: { verbs: ["*"], apiGroups: ["*"], resources: ["resource1/subresource1"] },
    requests: [
      [res("verb1", "group1", "resource1", "subresource1"), true],
      [res("verb1", "group2", "resource1", "subresource2"), false],
      [res("verb1", "group1", "resource2", "subresource1"), false],
      [res("verb1", "group2", "resource2", "subresource1"), false],
      [res("verb2", "group1", "resource1", "subresource1"), true],
      [res("verb2", "group2", "resource1", "subresource2"), false],
      [res("verb2", "group1", "resource2", "subresource1"), false],
      [res("verb2", "group2", "resource2", "subresource1"), false],
    ],
  },
  {
    name: "star nonresource, exact match other",
    rule: { verbs: ["verb1"], nonResourceURLs: ["*"] },
    requests: [
      [url("verb1", "/foo"), true],
      [url("verb1", "/foo/bar"), true],
      [url("verb1", "/foo/baz"), true],
      [url("verb1", "/foo/bar/one"), true],
      [url("verb1", "/foo/baz/one"), true],
      [url("verb2", "/foo"), false],
      [url("verb2", "/foo/bar"), false],
      [url("verb2", "/foo/baz"), false],
      [url("verb2", "/foo/bar/one"), false],
      [url("verb2", "/foo/baz/one"), false],
    ],
  },
  {
    name: "star nonresource subpath",
    rule: { verbs: ["verb1"], nonResourceURLs: ["/foo/*"] },
    requests: [
      [url("verb1", "/foo"), false],
      [url("verb1", "/foo/bar"), true],
      [url("verb1", "/foo/baz"), true],
      [url("verb1", "/foo/bar/one"), true],
      [url("verb1", "/foo/baz/one"), true],
      [url("verb1", "/notfoo"), false],
      [url("verb1", "/notfoo/bar"), false],
      [url("verb1", "/notfoo/baz"), false],
      [url("verb1", "/notfoo/bar/one"), false],
      [url("verb1", "/notfoo/baz/one"), false],
    ],
  },
  {
    name: "star verb, exact nonresource",
    rule: { verbs: ["*"], nonResourceURLs: ["/foo", "/foo/bar/one"] },
    requests: [
      [url("verb1", "/foo"), true],
      [url("verb1", "/foo/bar"), false],
      [url("verb1", "/foo/baz"), false],
      [url("verb1", "/foo/bar/one"), true],
      [url("verb1", "/foo/baz/one"), false],
      [url("verb2", "/foo"), true],
      [url("verb2", "/foo/bar"), false],
      [url("verb2", "/foo/baz"), false],
      [url("verb2", "/foo/bar/one"), true],
      [url("verb2", "/foo/baz/one"), false],
    ],
  },
  // TestAuthorizer, "test subresource resolution": a resource does not grant its subresources,
  // a subresource does not grant its resource.
  {
    name: "TestAuthorizer: pods does not match pods/status",
    rule: { verbs: ["*"], apiGroups: ["*"], resources: ["pods"] },
    requests: [[res("get", "", "pods"), true], [res("get", "", "pods", "status"), false]],
  },
  {
    name: "TestAuthorizer: pods/status does not match pods",
    rule: { verbs: ["*"], apiGroups: ["*"], resources: ["pods/status"] },
    requests: [[res("get", "", "pods", "status"), true], [res("get", "", "pods"), false]],
  },
  // TestAuthorizer's first case: verbs are case-sensitive ("GET" is not "get").
  {
    name: "TestAuthorizer: verbs match case-sensitively",
    rule: { verbs: ["get"], apiGroups: [""], resources: ["pods"] },
    requests: [[res("get", "", "pods"), true], [res("GET", "", "pods"), false]],
  },
];

// Cases upstream's evaluation helpers decide that its tables do not spell out.
const helpers: Case[] = [
  {
    name: "* matches every resource and every subresource",
    rule: { verbs: ["get"], apiGroups: [""], resources: ["*"] },
    requests: [[res("get", "", "pods", "log"), true], [res("get", "", "secrets"), true]],
  },
  {
    name: "*/subresource matches that subresource of any resource, not the resource",
    rule: { verbs: ["get"], apiGroups: [""], resources: ["*/scale"] },
    requests: [
      [res("get", "", "deployments", "scale"), true],
      [res("get", "", "replicasets", "scale"), true],
      [res("get", "", "deployments"), false],
      [res("get", "", "deployments", "status"), false],
      // The length check: "*/scale" is not a suffix match for "xscale".
      [res("get", "", "deployments", "xscale"), false],
    ],
  },
  {
    name: "the core group is the empty string, not *",
    rule: { verbs: ["get"], apiGroups: [""], resources: ["pods"] },
    requests: [[res("get", "", "pods"), true], [res("get", "apps", "pods"), false]],
  },
  {
    name: "a rule without apiGroups matches no resource request",
    rule: { verbs: ["get"], resources: ["pods"] },
    requests: [[res("get", "", "pods"), false]],
  },
  {
    name: "resourceNames: only those names, and never a request without a name",
    rule: { verbs: ["get", "list"], apiGroups: [""], resources: ["secrets"], resourceNames: ["a"] },
    requests: [
      [{ ...res("get", "", "secrets"), name: "a" }, true],
      [{ ...res("get", "", "secrets"), name: "b" }, false],
      // A list (or a create) carries no name: resourceNames cannot allow it.
      [res("list", "", "secrets"), false],
    ],
  },
  {
    name: "no resourceNames: any name",
    rule: { verbs: ["get"], apiGroups: [""], resources: ["secrets"] },
    requests: [[{ ...res("get", "", "secrets"), name: "anything" }, true]],
  },
  {
    name: "a resource rule never allows a non-resource request, and the other way round",
    rule: { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
    requests: [[url("get", "/version"), false], [res("get", "", "pods"), true]],
  },
  {
    name: "a non-resource rule never allows a resource request",
    rule: { verbs: ["*"], nonResourceURLs: ["*"] },
    requests: [[res("get", "", "pods"), false]],
  },
  {
    name: "every trailing * is trimmed from a prefix",
    rule: { verbs: ["get"], nonResourceURLs: ["/healthz**"] },
    requests: [[url("get", "/healthz/etcd"), true], [url("get", "/health"), false]],
  },
];

for (const [title, table] of [["upstream TestRuleMatches", upstream], ["helpers", helpers]]) {
  Deno.test(`ruleAllows() decides like RuleAllows: ${title}`, async (t) => {
    for (const c of table as Case[]) {
      await t.step(c.name, () => {
        const got = c.requests.map(([r]) => ruleAllows(c.rule, r));
        assert.deepEqual(got, c.requests.map(([, want]) => want));
      });
    }
  });
}
