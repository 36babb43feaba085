/** Base64 as Go's encoding/json reads `[]byte` (standard alphabet, padded, CR/LF ignored). */

/** The base64 text without CR/LF, or undefined when Go would reject it. */
export function normalizeBase64(text: string): string | undefined {
  const clean = text.replace(/[\r\n]/g, "");
  if (clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return undefined;
  return clean;
}

/** Decodes base64 to bytes. */
export function decodeBase64(text: string): Uint8Array {
  const binary = atob(text.replace(/[\r\n]/g, ""));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Decodes base64 to UTF-8 text (PEM). */
export function decodeBase64Text(text: string): string {
  return new TextDecoder().decode(decodeBase64(text));
}

/** Encodes UTF-8 text as base64. */
export function encodeBase64Text(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
