/** Bootstrap tokens (`[a-z0-9]{6}.[a-z0-9]{16}`) and the Secret that holds one. */

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** A bootstrap token: the public ID, the secret half and both joined by a dot. */
export interface BootstrapToken {
  id: string;
  secret: string;
  /** `id.secret`, what a client sends as bearer token. */
  token: string;
}

/** The Secret type of bootstrap tokens. */
export const BOOTSTRAP_TOKEN_SECRET_TYPE = "bootstrap.kubernetes.io/token";

/** The name of the Secret in `kube-system` that holds the bootstrap token `id`. */
export function bootstrapSecretName(id: string): string {
  return `bootstrap-token-${id}`;
}

/** Whether `id` is a valid bootstrap token ID (`[a-z0-9]{6}`). */
export function isBootstrapTokenId(id: string): boolean {
  return /^[a-z0-9]{6}$/.test(id);
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
