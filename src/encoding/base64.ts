/**
 * Base64 (RFC 4648 section 4, padded) and base64url (section 5, unpadded, as JWTs use it), in
 * the shape of Deno std's `encoding/base64.ts`: the one codec of the code base. Strings are
 * encoded as UTF-8.
 */

/** Encodes bytes, or a string as UTF-8, as padded base64. */
export function encodeBase64(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let binary = "";
  // In chunks: String.fromCharCode takes its arguments on the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * Decodes base64 (padding optional, ASCII whitespace ignored, as `atob` reads it) to bytes;
 * throws on other characters or an impossible length.
 */
export function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Encodes bytes, or a string as UTF-8, as unpadded base64url. */
export function encodeBase64Url(data: Uint8Array | string): string {
  return encodeBase64(data).replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_");
}

/** Decodes base64url (padding optional) to bytes; throws on characters outside its alphabet. */
export function decodeBase64Url(text: string): Uint8Array {
  if (/[+/\s]/.test(text)) throw new TypeError("Cannot decode base64url: invalid character");
  const base64 = text.replaceAll("-", "+").replaceAll("_", "/");
  return decodeBase64(base64 + "=".repeat((4 - base64.length % 4) % 4));
}
