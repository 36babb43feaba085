/** Strict decoding of compact JWS tokens (JWTs), and recognition of bootstrap tokens. */

import { CliError } from "../errors.ts";
import { BOOTSTRAP_TOKEN } from "../bootstrap/token.ts";
import { decodeBase64Url } from "../encoding/base64.ts";

/** The parts of a compact JWT, decoded but not verified. */
export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** `<header>.<payload>` exactly as given: the bytes the signature covers. */
  signingInput: string;
  signature: Uint8Array;
}

/**
 * A token that cannot be read as a JWT. Its message never contains the token or any part of
 * it, so it is safe to print.
 */
export class TokenFormatError extends CliError {
  override name = "TokenFormatError";
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
type Segment = "header" | "payload" | "signature";

/**
 * Decodes a compact JWT (`header.payload.signature`) without verifying it. Strict: exactly three
 * segments, unpadded base64url, header and payload JSON objects, a string `alg`. Surrounding
 * whitespace (a trailing newline from a file or pipe) is ignored.
 */
export function decodeJwt(token: string): DecodedJwt {
  const text = token.trim();
  if (text === "") fail("the token is empty");
  const segments = text.split(".");
  if (segments.length !== 3) {
    let hint = "";
    if (segments.length === 5) hint = " (an encrypted JWE token, which cannot be read)";
    else if (isBootstrapToken(text)) hint = " (this is a bootstrap token, not a JWT)";
    fail(`expected 3 dot-separated segments, found ${segments.length}${hint}`);
  }
  const [headerText, payloadText, signatureText] = segments;
  const header = decodeJsonSegment(headerText, "header");
  if (!("alg" in header)) fail('the header has no "alg" field');
  if (typeof header.alg !== "string" || header.alg === "") {
    fail('the header field "alg" is not a non-empty string');
  }
  const payload = decodeJsonSegment(payloadText, "payload");
  const signature = decodeSegment(signatureText, "signature");
  return { header, payload, signingInput: `${headerText}.${payloadText}`, signature };
}

/**
 * The token in text pasted from somewhere: surrounding whitespace and an HTTP authorization
 * scheme (`Bearer <token>`, as in an `Authorization` header; the scheme is case-insensitive)
 * removed.
 */
export function tokenFromText(text: string): string {
  return text.trim().replace(/^(?:authorization:\s*)?bearer\s+/i, "").trim();
}

/** Tells whether a string has the shape of a bootstrap token (`abcdef.0123456789abcdef`). */
export function isBootstrapToken(token: string): boolean {
  return BOOTSTRAP_TOKEN.test(token.trim());
}

/** The public ID (first six characters) of a bootstrap token, or undefined for anything else. */
export function bootstrapTokenId(token: string): string | undefined {
  return BOOTSTRAP_TOKEN.exec(token.trim())?.[1];
}

function fail(why: string): never {
  throw new TokenFormatError(`Cannot decode token: ${why}`);
}

function decodeSegment(text: string, segment: Segment): Uint8Array {
  if (text === "" && segment !== "signature") fail(`the ${segment} segment is empty`);
  if (text.includes("=")) fail(`the ${segment} has base64 padding ("="), which JWTs do not use`);
  if (!BASE64URL.test(text)) {
    fail(`the ${segment} is not base64url (only A-Z, a-z, 0-9, "-" and "_" are allowed)`);
  }
  if (text.length % 4 === 1) fail(`the ${segment} is not valid base64url (bad length)`);
  return decodeBase64Url(text);
}

function decodeJsonSegment(text: string, segment: Segment): Record<string, unknown> {
  const bytes = decodeSegment(text, segment);
  let json: string;
  try {
    json = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    fail(`the ${segment} is not valid UTF-8`);
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    // The parser's message quotes the input, so it must not reach the user.
    fail(`the ${segment} is not valid JSON`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    fail(`the ${segment} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}
