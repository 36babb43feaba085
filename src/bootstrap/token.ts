/** Bootstrap tokens (`[a-z0-9]{6}.[a-z0-9]{16}`) drawn from a cryptographic random source. */

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";
// The largest multiple of the alphabet size that fits in a byte: bytes at or above it are
// dropped, so every character is equally likely (no modulo bias).
const ACCEPT_BELOW = 256 - (256 % ALPHABET.length);

/** A new bootstrap token: its public ID, its secret, and both joined as `id.secret`. */
export function generateBootstrapToken(): { id: string; secret: string; token: string } {
  const id = randomString(6);
  const secret = randomString(16);
  return { id, secret, token: `${id}.${secret}` };
}

function randomString(length: number): string {
  let out = "";
  const bytes = new Uint8Array(length * 2);
  while (out.length < length) {
    crypto.getRandomValues(bytes);
    for (const b of bytes) {
      if (b >= ACCEPT_BELOW) continue;
      out += ALPHABET[b % ALPHABET.length];
      if (out.length === length) break;
    }
  }
  return out;
}
