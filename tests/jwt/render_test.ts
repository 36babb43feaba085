import assert from "node:assert/strict";
import { inspectToken } from "../../src/jwt/inspect.ts";
import { renderTokenReport, tokenReportDocument } from "../../src/jwt/render.ts";
import { toJson, toYaml } from "../../src/output/printers.ts";
import { boundClaims, ISSUED_S, legacyClaims, NOW, rawToken } from "./_tokens.ts";

const HEADER = { alg: "RS256", kid: "key-1", typ: "JWT" };
const boundReport = () => inspectToken(rawToken(HEADER, boundClaims(), "c2ln"), NOW);

Deno.test("renderTokenReport() describes a Pod-bound token in aligned lines", () => {
  assert.equal(
    renderTokenReport(boundReport(), NOW),
    [
      "Type:             bound service-account token (Pod-bound)",
      "Algorithm:        RS256",
      "Key ID:           key-1",
      "Issuer:           https://kubernetes.default.svc.cluster.local",
      "Subject:          system:serviceaccount:default:my-sa",
      "Audiences:        https://kubernetes.default.svc.cluster.local",
      "Issued:           2026-11-29T01:00:00Z (13m ago)",
      "Expires:          2026-11-29T02:00:00Z (in 47m)",
      "Lifetime left:    78% of 1h",
      "Stale after:      2026-11-29T01:10:00Z (3m ago)",
      "Credential ID:    JTI=0c5e2a55-6d39-4a8e-9f2b-3c1d2e4f5a6b",
      "Namespace:        default",
      "Service account:  my-sa (uid 5e7b5c2f-0000-4000-8000-000000000003)",
      "Bound to:         Pod my-pod (uid 5e7b5c2f-0000-4000-8000-000000000002)",
      "Node:             node-1 (uid 5e7b5c2f-0000-4000-8000-000000000001)",
      "Username:         system:serviceaccount:default:my-sa",
      "Groups:           [system:serviceaccounts system:serviceaccounts:default system:authenticated]",
      "",
    ].join("\n"),
  );
});

Deno.test("renderTokenReport() shows an expired token and the verification outcome", () => {
  const later = new Date((ISSUED_S + 4 * 3600) * 1000);
  const report = inspectToken(rawToken(HEADER, boundClaims(), "c2ln"), later);
  const text = renderTokenReport(report, later, {
    verification: {
      valid: false,
      reason: "token expired 3h ago",
      kid: "key-1",
      signature: { valid: true },
      time: { valid: false, text: "expired 3h ago", leewaySeconds: 60 },
    },
  });
  assert.match(text, /^Expires: +2026-11-29T02:00:00Z \(expired 3h ago\)$/m);
  assert.match(text, /^Lifetime left: +0% of 1h$/m);
  // Two checks, two lines: a correctly signed token is not "Signature: invalid".
  assert.match(text, /^Signature: +valid \(key "key-1"\)$/m);
  assert.match(text, /^Expiry: +expired 3h ago$/m);
});

Deno.test("renderTokenReport() shows a not-yet-valid token's nbf", () => {
  const report = inspectToken(
    rawToken(HEADER, { ...boundClaims(), nbf: ISSUED_S + 20 * 60 }, "c2ln"),
    NOW,
  );
  assert.match(renderTokenReport(report, NOW), /^Not before: +2026-11-29T01:20:00Z \(in 7m\)$/m);
});

Deno.test("renderTokenReport() describes a legacy Secret-based token", () => {
  const report = inspectToken(rawToken({ alg: "RS256", kid: "" }, legacyClaims(), "c2ln"), NOW);
  assert.equal(
    renderTokenReport(report, NOW),
    [
      "Type:             legacy service-account token (Secret-based)",
      "Algorithm:        RS256",
      "Key ID:",
      "Issuer:           kubernetes/serviceaccount",
      "Subject:          system:serviceaccount:default:my-sa",
      "Audiences:        <none>",
      "Issued:           <none>",
      "Expires:          never (the token has no expiry)",
      "Namespace:        default",
      "Service account:  my-sa (uid 5e7b5c2f-0000-4000-8000-000000000003)",
      "Secret:           my-sa-token-x7k2p",
      "Username:         system:serviceaccount:default:my-sa",
      "Groups:           [system:serviceaccounts system:serviceaccounts:default system:authenticated]",
      "",
    ].join("\n"),
  );
});

Deno.test("renderTokenReport() shows a bootstrap token's ID but never its secret", () => {
  const text = renderTokenReport(inspectToken("07401b.f395accd246ae52d", NOW), NOW);
  assert.equal(
    text,
    [
      "Type:      bootstrap token",
      "Token ID:  07401b",
      "Username:  system:bootstrap:07401b",
      'Groups:    [system:bootstrappers system:authenticated] and the "auth-extra-groups" of Secret kube-system/bootstrap-token-07401b (unknown)',
      "Secret:    kube-system/bootstrap-token-07401b",
      'Expires:   unknown (the "expiration" field of Secret kube-system/bootstrap-token-07401b)',
      "",
      "The secret part of the token is not shown.",
      "",
    ].join("\n"),
  );
  assert.ok(!text.includes("f395accd246ae52d"));
});

Deno.test("renderTokenReport() lists other claims and escapes control characters", () => {
  const claims = { iss: "https://idp.example", sub: "42", groups: ["dev"], name: "x\u001b[2Jy" };
  const text = renderTokenReport(inspectToken(rawToken(HEADER, claims, "c2ln"), NOW), NOW);
  assert.match(text, /^Type: +JWT$/m);
  assert.ok(
    text.endsWith('Other claims:\n  groups:  ["dev"]\n  name:    x\\u001b[2Jy\n'),
    text,
  );
  assert.ok(!text.includes("\u001b"));
});

Deno.test("renderTokenReport() lists warnings about malformed claims", () => {
  const text = renderTokenReport(
    inspectToken(rawToken(HEADER, { exp: "soon" }, "c2ln"), NOW),
    NOW,
  );
  assert.ok(
    text.endsWith(
      'Warnings:\n  claim "exp" is not a valid NumericDate (seconds since 1970)\n',
    ),
    text,
  );
});

Deno.test("tokenReportDocument() has a fixed key order and RFC 3339 times", () => {
  const doc = tokenReportDocument(boundReport(), {
    valid: true,
    kid: "key-1",
    algorithm: "RS256",
    signature: { valid: true },
    time: { valid: true, text: "expires in 47m", leewaySeconds: 60 },
  });
  assert.deepEqual(Object.keys(doc), [
    "apiVersion",
    "kind",
    "type",
    "header",
    "claims",
    "issuer",
    "subject",
    "audiences",
    "issuedAt",
    "notBefore",
    "expiresAt",
    "expiry",
    "user",
    "expired",
    "notYetValid",
    "remainingSeconds",
    "lifetimeSeconds",
    "staleAfter",
    "credentialId",
    "kubernetes",
    "verification",
  ]);
  assert.equal(doc.apiVersion, "kubectl-token.dev/v1alpha1");
  assert.equal(doc.kind, "TokenInfo");
  assert.equal(doc.type, "bound-service-account");
  assert.deepEqual(doc.header, HEADER);
  assert.deepEqual(doc.claims, boundClaims());
  assert.equal(doc.issuedAt, "2026-11-29T01:00:00Z");
  assert.equal(doc.expiresAt, "2026-11-29T02:00:00Z");
  assert.equal(doc.staleAfter, "2026-11-29T01:10:00Z");
  assert.equal(doc.remainingSeconds, 2820);
  assert.deepEqual(doc.kubernetes, {
    namespace: "default",
    serviceAccount: { name: "my-sa", uid: "5e7b5c2f-0000-4000-8000-000000000003" },
    boundObject: { kind: "Pod", name: "my-pod", uid: "5e7b5c2f-0000-4000-8000-000000000002" },
    node: { name: "node-1", uid: "5e7b5c2f-0000-4000-8000-000000000001" },
    secretName: null,
  });
  assert.deepEqual(doc.verification, {
    valid: true,
    reason: null,
    kid: "key-1",
    algorithm: "RS256",
    signature: { valid: true, reason: null },
    time: { valid: true, text: "expires in 47m", leewaySeconds: 60 },
  });
  assert.deepEqual(doc.expiry, { kind: "at", at: "2026-11-29T02:00:00Z" });
  assert.deepEqual(doc.user, {
    username: "system:serviceaccount:default:my-sa",
    uid: "5e7b5c2f-0000-4000-8000-000000000003",
    groups: ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"],
    unknownGroups: null,
  });
});

Deno.test("tokenReportDocument() prints as kubectl-style YAML and JSON", () => {
  const doc = tokenReportDocument(inspectToken("07401b.f395accd246ae52d", NOW));
  const yaml = toYaml(doc);
  assert.ok(yaml.startsWith("apiVersion: kubectl-token.dev/v1alpha1\nkind: TokenInfo\n"), yaml);
  assert.match(yaml, /^audiences: \[\]$/m);
  assert.match(yaml, /^expired: null$/m);
  assert.match(yaml, /^bootstrap:\n {2}tokenId: 07401b\n {2}username: system:bootstrap:07401b\n/m);
  const json = toJson(doc);
  assert.ok(json.startsWith('{\n    "apiVersion": "kubectl-token.dev/v1alpha1",\n'), json);
  assert.ok(!json.includes("f395accd246ae52d") && !yaml.includes("f395accd246ae52d"));
});
