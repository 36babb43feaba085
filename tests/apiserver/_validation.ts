/** Defaulting and validation of stored objects, with the messages of the pkg/apis validation packages. */
import { Buffer } from "node:buffer";
import type { ResourceInfo } from "./_resources.ts";
import type { FieldError } from "./_status.ts";
import { isObject, type KubeObject, str } from "./_types.ts";

/** Secret type whose data the legacy token controller fills. */
export const SERVICE_ACCOUNT_TOKEN_TYPE = "kubernetes.io/service-account-token";
/** Annotation naming the service account of a legacy token Secret. */
export const SERVICE_ACCOUNT_NAME_ANNOTATION = "kubernetes.io/service-account.name";
/** Annotation with the UID of that service account, set by the token controller. */
export const SERVICE_ACCOUNT_UID_ANNOTATION = "kubernetes.io/service-account.uid";

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/** Fill the defaults a real apiserver's defaulting and admission would set on create. */
export function applyDefaults(info: ResourceInfo, obj: KubeObject): void {
  obj.metadata ??= {};
  switch (info.kind) {
    case "Secret": {
      obj.type ??= "Opaque";
      // stringData is write-only: merged into data as base64, never stored.
      if (isObject(obj.stringData)) {
        const data = (isObject(obj.data) ? obj.data : {}) as Record<string, string>;
        for (const [k, v] of Object.entries(obj.stringData)) {
          data[k] = Buffer.from(String(v)).toString("base64");
        }
        obj.data = data;
      }
      delete obj.stringData;
      break;
    }
    case "Namespace": {
      const name = obj.metadata.name ?? "";
      obj.metadata.labels = { ...obj.metadata.labels, "kubernetes.io/metadata.name": name };
      obj.spec = { finalizers: ["kubernetes"], ...(isObject(obj.spec) ? obj.spec : {}) };
      obj.status = { phase: "Active" };
      break;
    }
    case "Pod": {
      const spec = (isObject(obj.spec) ? obj.spec : {}) as Record<string, unknown>;
      // The ServiceAccount admission plugin puts every pod on a service account.
      spec.serviceAccountName ??= str(spec.serviceAccount) ?? "default";
      spec.serviceAccount = spec.serviceAccountName;
      obj.spec = spec;
      obj.status ??= { phase: "Pending" };
      break;
    }
  }
}

function nameErrors(
  info: ResourceInfo,
  name: string | undefined,
  generated: boolean,
): FieldError[] {
  if (!name) {
    return [{
      type: "FieldValueRequired",
      field: "metadata.name",
      detail: "name or generateName is required",
    }];
  }
  if (info.group === "rbac.authorization.k8s.io") {
    // RBAC objects only need to be a valid path segment.
    if (name === "." || name === ".." || /[/%]/.test(name)) {
      return [{
        type: "FieldValueInvalid",
        field: "metadata.name",
        value: name,
        detail: `may not contain '/' or '%', and may not be '.' or '..'`,
      }];
    }
    return [];
  }
  const isLabel = info.kind === "Namespace";
  const ok = isLabel
    ? LABEL.test(name) && name.length <= 63
    : SUBDOMAIN.test(name) && name.length <= 253;
  if (ok) return [];
  return [{
    type: "FieldValueInvalid",
    field: generated ? "metadata.generateName" : "metadata.name",
    value: name,
    detail: isLabel ? LABEL_MESSAGE : SUBDOMAIN_MESSAGE,
  }];
}

/** Field errors for an object about to be created, or replacing `old` on update. */
export function validate(info: ResourceInfo, obj: KubeObject, old?: KubeObject): FieldError[] {
  const errors = nameErrors(info, obj.metadata.name, Boolean(obj.metadata.generateName));
  const annotations = obj.metadata.annotations ?? {};
  switch (info.kind) {
    case "Secret":
      if (
        obj.type === SERVICE_ACCOUNT_TOKEN_TYPE && !annotations[SERVICE_ACCOUNT_NAME_ANNOTATION]
      ) {
        errors.push({
          type: "FieldValueRequired",
          field: `metadata.annotations[${SERVICE_ACCOUNT_NAME_ANNOTATION}]`,
        });
      }
      if (old && old.type !== obj.type) {
        errors.push({
          type: "FieldValueInvalid",
          field: "type",
          value: obj.type,
          detail: "field is immutable",
        });
      }
      break;
    case "Pod": {
      const containers = isObject(obj.spec) ? obj.spec.containers : undefined;
      if (!old && (!Array.isArray(containers) || containers.length === 0)) {
        errors.push({ type: "FieldValueRequired", field: "spec.containers" });
      }
      break;
    }
    case "RoleBinding":
    case "ClusterRoleBinding": {
      const ref = isObject(obj.roleRef) ? obj.roleRef : {};
      const allowed = info.kind === "RoleBinding" ? ["Role", "ClusterRole"] : ["ClusterRole"];
      if (!str(ref.name)) errors.push({ type: "FieldValueRequired", field: "roleRef.name" });
      if (!allowed.includes(str(ref.kind) ?? "")) {
        errors.push({
          type: "FieldValueNotSupported",
          field: "roleRef.kind",
          value: str(ref.kind) ?? "",
          detail: `supported values: ${allowed.map((k) => JSON.stringify(k)).join(", ")}`,
        });
      }
      if (old && JSON.stringify(old.roleRef) !== JSON.stringify(obj.roleRef)) {
        errors.push({
          type: "FieldValueInvalid",
          field: "roleRef",
          value: JSON.stringify(obj.roleRef),
          detail: "cannot change roleRef",
        });
      }
      break;
    }
  }
  return errors;
}

/** Turn generateName into a name with five random characters, as the apiserver does. */
export function generateName(prefix: string): string {
  // The alphabet of k8s.io/apimachinery/pkg/util/rand: no vowels, no ambiguous characters.
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  const bytes = new Uint8Array(5);
  crypto.getRandomValues(bytes);
  return prefix + [...bytes].map((b) => alphabet[b % alphabet.length]).join("");
}
