/**
 * Bootstrap tokens (`[a-z0-9]{6}.[a-z0-9]{16}`) and where they are stored: the one definition of
 * their shape, the Secret's namespace, name and type. It loads nothing, so decoding and
 * redaction can use it.
 */

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
const ID = "[a-z0-9]{6}";
const SECRET = "[a-z0-9]{16}";

/** The form of a bootstrap token, as messages state it. */
export const BOOTSTRAP_TOKEN_FORM = `${ID}.${SECRET}`;
/** A whole bootstrap token; group 1 is the ID, group 2 the secret. */
export const BOOTSTRAP_TOKEN = new RegExp(`^(${ID})\\.(${SECRET})$`);
/** A bootstrap token ID. */
export const BOOTSTRAP_TOKEN_ID = new RegExp(`^${ID}$`);
/** A bootstrap token anywhere in a text, not inside a longer word (global: for replacing). */
export const BOOTSTRAP_TOKEN_IN_TEXT = new RegExp(
  `(?<![A-Za-z0-9_-])${ID}\\.${SECRET}(?![A-Za-z0-9_-])`,
  "g",
);

/** The Secret type of bootstrap tokens. */
export const BOOTSTRAP_TOKEN_TYPE = "bootstrap.kubernetes.io/token";
/** The namespace bootstrap tokens live in. */
export const BOOTSTRAP_NAMESPACE = "kube-system";

const SECRET_NAME_PREFIX = "bootstrap-token-";

/** A bootstrap token: the public ID, the secret half and both joined by a dot. */
export interface BootstrapToken {
  id: string;
  secret: string;
  /** `id.secret`, what a client sends as bearer token. */
  token: string;
}

/** The name of the Secret in `kube-system` that holds the bootstrap token `id`. */
export function bootstrapSecretName(id: string): string {
  return `${SECRET_NAME_PREFIX}${id}`;
}

/**
 * What follows `bootstrap-token-` in a Secret's name (the token ID, when the name is valid), or
 * undefined when the name does not start so.
 */
export function tokenIdOfSecretName(name: string): string | undefined {
  return name.startsWith(SECRET_NAME_PREFIX) ? name.slice(SECRET_NAME_PREFIX.length) : undefined;
}

/** Whether `id` is a valid bootstrap token ID (`[a-z0-9]{6}`). */
export function isBootstrapTokenId(id: string): boolean {
  return BOOTSTRAP_TOKEN_ID.test(id);
}

/**
 * A new bootstrap token from the platform's cryptographic random source, each character drawn
 * uniformly from `[a-z0-9]` (as kubeadm's `GenerateBootstrapToken` does).
 */
export function generateBootstrapToken(): BootstrapToken {
  const id = randomString(6);
  const secret = randomString(16);
  return { id, secret, token: `${id}.${secret}` };
}

function randomString(length: number): string {
  let out = "";
  const buffer = new Uint8Array(length * 2);
  while (out.length < length) {
    crypto.getRandomValues(buffer);
    for (const byte of buffer) {
      // 252 = 7 * 36: rejecting the rest keeps every character equally likely.
      if (byte >= 252) continue;
      out += ALPHABET[byte % 36];
      if (out.length === length) break;
    }
  }
  return out;
}
