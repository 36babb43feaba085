/**
 * Decoding of the Kubernetes protobuf wire format for the request bodies kubectl sends that way
 * (typed clients: `create token`, `auth can-i`, `auth whoami`, `create secret|sa|ns|rolebinding`).
 * A body is `k8s\0` then a runtime.Unknown envelope whose `raw` field holds the object. Messages
 * decode into the same JSON shape the JSON body would have, so handlers see one form. Field
 * numbers come from the generated.proto files of k8s.io/api and apimachinery; the core and RBAC
 * ones were checked against bodies captured from kubectl 1.32.
 */
import { Buffer } from "node:buffer";
import type { JsonObject } from "./_types.ts";

/** The four magic bytes that open every Kubernetes protobuf body. */
export const PROTOBUF_MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

type Scalar = "string" | "bytes" | "int64" | "bool";
type FieldType = Scalar | Schema | { map: "string" | "bytes" };
interface Field {
  name: string;
  type: FieldType;
  repeated?: boolean;
}
/** Field number to field description. */
type Schema = { [fieldNumber: number]: Field };

const typeMeta: Schema = {
  1: { name: "apiVersion", type: "string" },
  2: { name: "kind", type: "string" },
};
const unknown: Schema = {
  1: { name: "typeMeta", type: typeMeta },
  2: { name: "raw", type: "bytes" },
  3: { name: "contentEncoding", type: "string" },
  4: { name: "contentType", type: "string" },
};
// Only the ObjectMeta fields a client sets on create; server-owned ones are ignored.
const objectMeta: Schema = {
  1: { name: "name", type: "string" },
  2: { name: "generateName", type: "string" },
  3: { name: "namespace", type: "string" },
  5: { name: "uid", type: "string" },
  6: { name: "resourceVersion", type: "string" },
  11: { name: "labels", type: { map: "string" } },
  12: { name: "annotations", type: { map: "string" } },
  14: { name: "finalizers", type: "string", repeated: true },
};
const meta = { 1: { name: "metadata", type: objectMeta } };

const boundObjectReference: Schema = {
  1: { name: "kind", type: "string" },
  2: { name: "apiVersion", type: "string" },
  3: { name: "name", type: "string" },
  4: { name: "uid", type: "string" },
};
const tokenRequest: Schema = {
  ...meta,
  2: {
    name: "spec",
    type: {
      1: { name: "audiences", type: "string", repeated: true },
      4: { name: "expirationSeconds", type: "int64" },
      3: { name: "boundObjectRef", type: boundObjectReference },
    },
  },
};
const tokenReview: Schema = {
  ...meta,
  2: {
    name: "spec",
    type: {
      1: { name: "token", type: "string" },
      2: { name: "audiences", type: "string", repeated: true },
    },
  },
};
const selfSubjectAccessReview: Schema = {
  ...meta,
  2: {
    name: "spec",
    type: {
      1: {
        name: "resourceAttributes",
        type: {
          1: { name: "namespace", type: "string" },
          2: { name: "verb", type: "string" },
          3: { name: "group", type: "string" },
          4: { name: "version", type: "string" },
          5: { name: "resource", type: "string" },
          6: { name: "subresource", type: "string" },
          7: { name: "name", type: "string" },
        },
      },
      2: {
        name: "nonResourceAttributes",
        type: { 1: { name: "path", type: "string" }, 2: { name: "verb", type: "string" } },
      },
    },
  },
};
const selfSubjectRulesReview: Schema = {
  ...meta,
  2: { name: "spec", type: { 1: { name: "namespace", type: "string" } } },
};
const objectReference: Schema = {
  1: { name: "kind", type: "string" },
  2: { name: "namespace", type: "string" },
  3: { name: "name", type: "string" },
  4: { name: "uid", type: "string" },
  5: { name: "apiVersion", type: "string" },
};
const policyRule: Schema = {
  1: { name: "verbs", type: "string", repeated: true },
  2: { name: "apiGroups", type: "string", repeated: true },
  3: { name: "resources", type: "string", repeated: true },
  4: { name: "resourceNames", type: "string", repeated: true },
  5: { name: "nonResourceURLs", type: "string", repeated: true },
};
const role: Schema = { ...meta, 2: { name: "rules", type: policyRule, repeated: true } };
const binding: Schema = {
  ...meta,
  2: {
    name: "subjects",
    type: {
      1: { name: "kind", type: "string" },
      2: { name: "apiGroup", type: "string" },
      3: { name: "name", type: "string" },
      4: { name: "namespace", type: "string" },
    },
    repeated: true,
  },
  3: {
    name: "roleRef",
    type: {
      1: { name: "apiGroup", type: "string" },
      2: { name: "kind", type: "string" },
      3: { name: "name", type: "string" },
    },
  },
};

/** Kinds whose protobuf bodies this server can read, by "apiVersion/kind". */
const schemas: Record<string, Schema> = {
  "authentication.k8s.io/v1/TokenRequest": tokenRequest,
  "authentication.k8s.io/v1/TokenReview": tokenReview,
  "authentication.k8s.io/v1/SelfSubjectReview": meta,
  "authentication.k8s.io/v1beta1/SelfSubjectReview": meta,
  "authentication.k8s.io/v1alpha1/SelfSubjectReview": meta,
  "authorization.k8s.io/v1/SelfSubjectAccessReview": selfSubjectAccessReview,
  "authorization.k8s.io/v1/SelfSubjectRulesReview": selfSubjectRulesReview,
  "v1/Secret": {
    ...meta,
    2: { name: "data", type: { map: "bytes" } },
    3: { name: "type", type: "string" },
    4: { name: "stringData", type: { map: "string" } },
    5: { name: "immutable", type: "bool" },
  },
  "v1/ServiceAccount": {
    ...meta,
    2: { name: "secrets", type: objectReference, repeated: true },
    3: { name: "imagePullSecrets", type: { 1: { name: "name", type: "string" } }, repeated: true },
    4: { name: "automountServiceAccountToken", type: "bool" },
  },
  "v1/Namespace": {
    ...meta,
    2: { name: "spec", type: { 1: { name: "finalizers", type: "string", repeated: true } } },
  },
  "rbac.authorization.k8s.io/v1/Role": role,
  "rbac.authorization.k8s.io/v1/ClusterRole": role,
  "rbac.authorization.k8s.io/v1/RoleBinding": binding,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": binding,
};

/** Thrown for bodies that are not well-formed protobuf or carry a kind this server cannot read. */
export class ProtobufError extends Error {
  /** True when the body was fine but its kind has no schema here (answer 415, not 400). */
  readonly unsupported: boolean;
  constructor(message: string, unsupported = false) {
    super(message);
    this.unsupported = unsupported;
  }
}

class Reader {
  #pos = 0;
  constructor(readonly bytes: Uint8Array) {}
  get done(): boolean {
    return this.#pos >= this.bytes.length;
  }
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.#pos >= this.bytes.length) throw new ProtobufError("truncated varint");
      const byte = this.bytes[this.#pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return result;
    }
    throw new ProtobufError("varint is too long");
  }
  take(length: number): Uint8Array {
    if (this.#pos + length > this.bytes.length) throw new ProtobufError("truncated field");
    const out = this.bytes.subarray(this.#pos, this.#pos + length);
    this.#pos += length;
    return out;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.take(8);
    else if (wireType === 2) this.take(Number(this.varint()));
    else if (wireType === 5) this.take(4);
    else throw new ProtobufError(`unsupported wire type ${wireType}`);
  }
}

function decodeMapEntry(bytes: Uint8Array, valueType: "string" | "bytes"): [string, string] {
  const r = new Reader(bytes);
  let key = "";
  let value = "";
  while (!r.done) {
    const tag = Number(r.varint());
    const [field, wire] = [tag >>> 3, tag & 7];
    if (wire !== 2) {
      r.skip(wire);
      continue;
    }
    const data = r.take(Number(r.varint()));
    if (field === 1) key = new TextDecoder().decode(data);
    // Bytes become base64, exactly as the JSON form of a []byte field.
    if (field === 2) {
      value = valueType === "bytes"
        ? Buffer.from(data).toString("base64")
        : new TextDecoder().decode(data);
    }
  }
  return [key, value];
}

/** Decode one message against its schema; unknown fields are skipped like a real decoder does. */
function decodeMessage(bytes: Uint8Array, schema: Schema): JsonObject {
  const out: JsonObject = {};
  const r = new Reader(bytes);
  while (!r.done) {
    const tag = Number(r.varint());
    const [number, wire] = [tag >>> 3, tag & 7];
    const field = schema[number];
    if (!field) {
      r.skip(wire);
      continue;
    }
    let value: unknown;
    const type = field.type;
    if (type === "int64" || type === "bool") {
      if (wire !== 0) throw new ProtobufError(`field ${field.name} has wire type ${wire}`);
      const raw = r.varint();
      value = type === "bool" ? raw !== 0n : Number(BigInt.asIntN(64, raw));
    } else {
      if (wire !== 2) throw new ProtobufError(`field ${field.name} has wire type ${wire}`);
      const data = r.take(Number(r.varint()));
      if (type === "string") {
        const text = new TextDecoder().decode(data);
        // Go's JSON omits empty strings (omitempty); drop them so both body forms look alike.
        if (text === "" && !field.repeated) continue;
        value = text;
      } else if (type === "bytes") {
        value = Buffer.from(data).toString("base64");
      } else if ("map" in type) {
        const [k, v] = decodeMapEntry(data, type.map as "string" | "bytes");
        const map = (out[field.name] ??= {}) as Record<string, string>;
        map[k] = v;
        continue;
      } else {
        value = decodeMessage(data, type as Schema);
      }
    }
    if (field.repeated) ((out[field.name] ??= []) as unknown[]).push(value);
    else out[field.name] = value;
  }
  return out;
}

/**
 * Decode a `application/vnd.kubernetes.protobuf` body into the JSON form of the object, with
 * apiVersion and kind from the envelope.
 */
export function decodeProtobufBody(body: Uint8Array): JsonObject {
  if (body.length < 4 || !PROTOBUF_MAGIC.every((b, i) => body[i] === b)) {
    throw new ProtobufError("provided object is not a protobuf-encoded Kubernetes object");
  }
  const envelope = decodeMessage(body.subarray(4), unknown);
  const tm = (envelope.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const apiVersion = tm.apiVersion ?? "";
  const kind = tm.kind ?? "";
  const schema = schemas[`${apiVersion}/${kind}`];
  if (!schema) {
    throw new ProtobufError(
      `protobuf bodies of kind "${apiVersion}/${kind}" are not supported`,
      true,
    );
  }
  const raw = typeof envelope.raw === "string"
    ? Buffer.from(envelope.raw, "base64")
    : new Uint8Array();
  return { apiVersion, kind, ...decodeMessage(new Uint8Array(raw), schema) };
}
