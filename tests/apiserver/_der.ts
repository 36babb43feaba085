/**
 * The few ASN.1 DER encodings and a reader that X.509 certificates need. Node has no certificate
 * builder and CI machines may lack openssl, so certificates are assembled from these by hand.
 */

/** DER tag numbers used here (universal class, plus the constructed bit where it applies). */
export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  t61String: 0x14,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  bmpString: 0x1e,
  sequence: 0x30,
  set: 0x31,
} as const;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** Encode one TLV with the given tag byte around the concatenated contents. */
export function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const body = concat(contents);
  return concat([Uint8Array.of(tag), encodeLength(body.length), body]);
}

/** SEQUENCE of the given encoded elements. */
export function sequence(...elements: Uint8Array[]): Uint8Array {
  return tlv(Tag.sequence, ...elements);
}

/** SET of the given encoded elements (callers pass one element, so no sorting is needed). */
export function set(...elements: Uint8Array[]): Uint8Array {
  return tlv(Tag.set, ...elements);
}

/** INTEGER from unsigned big-endian bytes; a leading zero keeps it positive. */
export function unsignedInteger(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return trimmed[0] & 0x80
    ? tlv(Tag.integer, Uint8Array.of(0), trimmed)
    : tlv(Tag.integer, trimmed);
}

/** INTEGER from a small non-negative number. */
export function smallInteger(value: number): Uint8Array {
  const bytes: number[] = [];
  let n = value;
  do {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n > 0);
  return unsignedInteger(Uint8Array.from(bytes));
}

/** BOOLEAN. */
export function boolean(value: boolean): Uint8Array {
  return tlv(Tag.boolean, Uint8Array.of(value ? 0xff : 0));
}

/** OBJECT IDENTIFIER from dotted form. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const bytes: number[] = [40 * arcs[0] + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) {
      chunk.unshift(0x80 | (n & 0x7f));
    }
    bytes.push(...chunk);
  }
  return tlv(Tag.oid, Uint8Array.from(bytes));
}

/** UTF8String. */
export function utf8String(value: string): Uint8Array {
  return tlv(Tag.utf8String, new TextEncoder().encode(value));
}

/** OCTET STRING. */
export function octetString(bytes: Uint8Array): Uint8Array {
  return tlv(Tag.octetString, bytes);
}

/** BIT STRING holding whole bytes. */
export function bitString(bytes: Uint8Array): Uint8Array {
  return tlv(Tag.bitString, Uint8Array.of(0), bytes);
}

/** BIT STRING of named bits (bit 0 is the most significant), minimally encoded as DER wants. */
export function namedBits(bits: number[]): Uint8Array {
  const highest = Math.max(...bits);
  const bytes = new Uint8Array(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[Math.floor(bit / 8)] |= 0x80 >> (bit % 8);
  const unused = 7 - (highest % 8);
  return tlv(Tag.bitString, Uint8Array.of(unused), bytes);
}

/** UTCTime up to 2049, GeneralizedTime after, as RFC 5280 requires. */
export function time(date: Date): Uint8Array {
  const iso = date.toISOString(); // 2024-01-02T03:04:05.678Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, "");
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050
    ? tlv(Tag.utcTime, new TextEncoder().encode(digits.slice(2) + "Z"))
    : tlv(Tag.generalizedTime, new TextEncoder().encode(digits + "Z"));
}

/** Context-specific constructed tag [n] wrapping the given elements (EXPLICIT tagging). */
export function explicit(n: number, ...contents: Uint8Array[]): Uint8Array {
  return tlv(0xa0 | n, ...contents);
}

/** Context-specific primitive tag [n] around raw bytes (IMPLICIT tagging of a primitive). */
export function implicitPrimitive(n: number, bytes: Uint8Array): Uint8Array {
  return tlv(0x80 | n, bytes);
}

/** One decoded TLV: its tag byte, its content bytes and the whole encoding. */
export interface DerNode {
  tag: number;
  value: Uint8Array;
  raw: Uint8Array;
}

/** Read the TLV that starts at offset; throws on truncated input. */
export function readNode(bytes: Uint8Array, offset = 0): DerNode {
  if (offset + 2 > bytes.length) throw new Error("DER input is truncated");
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new Error("DER length form is not supported");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i];
    header += count;
  }
  const end = offset + header + length;
  if (end > bytes.length) throw new Error("DER input is truncated");
  return { tag, value: bytes.subarray(offset + header, end), raw: bytes.subarray(offset, end) };
}

/** The child TLVs inside a constructed node's content. */
export function children(node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  for (let offset = 0; offset < node.value.length;) {
    const child = readNode(node.value, offset);
    out.push(child);
    offset += child.raw.length;
  }
  return out;
}

/** Decode an OBJECT IDENTIFIER's content to dotted form. */
export function decodeOid(value: Uint8Array): string {
  const arcs = [Math.floor(value[0] / 40), value[0] % 40];
  let n = 0;
  for (const byte of value.subarray(1)) {
    n = n * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(n);
      n = 0;
    }
  }
  return arcs.join(".");
}

/** Decode a UTCTime or GeneralizedTime node (the Z form that certificates use). */
export function decodeTime(node: DerNode): Date {
  const text = new TextDecoder().decode(node.value);
  const full = node.tag === Tag.utcTime
    ? (Number(text.slice(0, 2)) < 50 ? "20" : "19") + text
    : text;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(full);
  if (!m) throw new Error(`Cannot parse certificate time "${text}"`);
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

/** Decode any of the string types that X.509 names use. */
export function decodeString(node: DerNode): string {
  if (node.tag === Tag.bmpString) {
    let out = "";
    for (let i = 0; i + 1 < node.value.length; i += 2) {
      out += String.fromCharCode((node.value[i] << 8) | node.value[i + 1]);
    }
    return out;
  }
  return new TextDecoder().decode(node.value);
}
