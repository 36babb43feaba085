/**
 * Service-account names as the commands take them (`NAME` or `NAMESPACE/NAME`): the one
 * definition of what a valid name is. It does no I/O and loads nothing, so the exec-credential
 * cache hit can use it.
 */
import { UsageError } from "../errors.ts";

/** A service account by namespace and name. */
export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

// A namespace is an RFC 1123 label, a service account's name an RFC 1123 subdomain.
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SERVICE_ACCOUNT_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Whether `name` is a valid service-account name (a lowercase RFC 1123 subdomain). */
export function isServiceAccountName(name: string): boolean {
  return SERVICE_ACCOUNT_NAME.test(name);
}

/** Whether `value` is `NAME` or `NAMESPACE/NAME` with valid names. */
export function isServiceAccountArg(value: string): boolean {
  const parts = value.split("/");
  if (parts.length === 1) return isServiceAccountName(parts[0]);
  return parts.length === 2 && NAMESPACE_NAME.test(parts[0]) && isServiceAccountName(parts[1]);
}

/**
 * Parse `NS/NAME` (or `NAME`, in `defaultNamespace` when given) from `flag`; usage errors name
 * the flag.
 */
export function parseServiceAccountFlag(
  flag: string,
  value: string,
  defaultNamespace?: string,
): ServiceAccountRef {
  const parts = value.split("/");
  const [namespace, name] = parts.length === 2
    ? parts
    : parts.length === 1 && defaultNamespace !== undefined
    ? [defaultNamespace, parts[0]]
    : [undefined, undefined];
  if (namespace === undefined || name === undefined) {
    throw new UsageError(`Invalid value "${value}" for flag ${flag}: expected NAMESPACE/NAME`);
  }
  if (!NAMESPACE_NAME.test(namespace) || !isServiceAccountName(name)) {
    throw new UsageError(
      `Invalid value "${value}" for flag ${flag}: namespace and name must be lowercase ` +
        `RFC 1123 names`,
    );
  }
  return { namespace, name };
}
