import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { decodeProtobufBody, ProtobufError } from "./_protobuf.ts";

// Bodies captured from kubectl 1.32 requests.
const hex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const CAPTURED = {
  tokenRequest:
    "6b3873000a280a1861757468656e7469636174696f6e2e6b38732e696f2f7631120c546f6b656e5265717565737412320a100a0012001a0022002a0032003800420012180a01611a100a03506f64120276311a01702202753120a0381a040a0012001a002200",
  accessReview:
    "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c665375626a656374416363657373526576696577124f0a100a0012001a0022002a0032003800420012310a2f0a0764656661756c7412066372656174651a0022002a0f736572766963656163636f756e747332003a05746f6b656e1a08080012001a0020001a002200",
  secret:
    "6b3873000a0c0a027631120653656372657412280a150a02737812001a036e733122002a0032003800420012060a016b1201761a07666f6f2f6261721a002200",
  roleBinding:
    "6b3873000a2b0a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f7631120b526f6c6542696e64696e6712b5010a130a0372623112001a0022002a0032003800420012270a04557365721219726261632e617574686f72697a6174696f6e2e6b38732e696f1a027531220012280a0547726f75701219726261632e617574686f72697a6174696f6e2e6b38732e696f1a0267312200121b0a0e536572766963654163636f756e7412001a02733222036e73321a2e0a19726261632e617574686f72697a6174696f6e2e6b38732e696f120b436c7573746572526f6c651a04766965771a002200",
};

Deno.test("decodeProtobufBody() reads kubectl's TokenRequest", () => {
  assert.deepEqual(decodeProtobufBody(hex(CAPTURED.tokenRequest)), {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    metadata: {},
    spec: {
      audiences: ["a"],
      boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "p", uid: "u1" },
      expirationSeconds: 7200,
    },
  });
});

Deno.test("decodeProtobufBody() reads a SelfSubjectAccessReview with a resource name", () => {
  const review = decodeProtobufBody(hex(CAPTURED.accessReview));
  assert.deepEqual(review.spec, {
    resourceAttributes: {
      namespace: "default",
      verb: "create",
      resource: "serviceaccounts",
      name: "token",
    },
  });
});

Deno.test("decodeProtobufBody() turns Secret bytes into base64 like the JSON form", () => {
  assert.deepEqual(decodeProtobufBody(hex(CAPTURED.secret)), {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "sx", namespace: "ns1" },
    data: { k: "dg==" },
    type: "foo/bar",
  });
});

Deno.test("decodeProtobufBody() reads RoleBinding subjects and roleRef", () => {
  const rb = decodeProtobufBody(hex(CAPTURED.roleBinding));
  assert.deepEqual(rb.subjects, [
    { kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "u1" },
    { kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "g1" },
    { kind: "ServiceAccount", name: "s2", namespace: "ns2" },
  ]);
  assert.deepEqual(rb.roleRef, {
    apiGroup: "rbac.authorization.k8s.io",
    kind: "ClusterRole",
    name: "view",
  });
});

Deno.test("decodeProtobufBody() rejects bodies without the magic and kinds it cannot read", () => {
  assert.throws(() => decodeProtobufBody(new Uint8Array([1, 2, 3, 4])), ProtobufError);
  // An envelope for v1/Pod: typeMeta {apiVersion "v1", kind "Pod"} and no raw.
  const pod = hex("6b387300" + "0a09" + "0a027631" + "1203506f64");
  assert.throws(() => decodeProtobufBody(pod), (e) => e instanceof ProtobufError && e.unsupported);
});
