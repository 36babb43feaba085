/**
 * A strict ASN.1 DER reader: tag-length-value walks with definite, minimally encoded lengths and
 * bounds checks on every read. It reads what certificates and private keys need and nothing
 * more, so that checking a client certificate does not load `node:crypto` (#12). Every failure
 * is a {@link DerError}; nothing else is thrown.
 */

/** A DER input that is not what the reader expected. */
export class DerError extends Error {
  override name = "DerError";
}

/** DER tag bytes read here (universal class; SEQUENCE and SET with the constructed bit). */
export const DerTag = {
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

/** One TLV: its tag byte, its content and its whole encoding (views into the input). */
export interface DerNode {
  tag: number;
  value: Uint8Array;
  raw: Uint8Array;
}

/** Reads the TLV that starts at `offset`; throws DerError unless it is well formed DER. */
export function readDer(bytes: Uint8Array, offset = 0): DerNode {
  if (offset < 0 || offset + 2 > bytes.length) throw new DerError("DER input is truncated");
  const tag = bytes[offset];
  // High tag numbers (low five bits all set) never occur in certificates or keys.
  if ((tag & 0x1f) === 0x1f) throw new DerError("DER tag form is not supported");
  let length = bytes[offset + 1];
  let header = 2;
  if (length === 0x80) throw new DerError("DER input has an indefinite length");
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count > 4) throw new DerError("DER length is too large");
    if (offset + 2 + count > bytes.length) throw new DerError("DER input is truncated");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i];
    // DER: the shortest form, no leading zero byte.
    if (length < 0x80 || bytes[offset + 2] === 0) {
      throw new DerError("DER length is not minimally encoded");
    }
    header += count;
  }
  const end = offset + header + length;
  if (end > bytes.length) throw new DerError("DER input is truncated");
  return { tag, value: bytes.subarray(offset + header, end), raw: bytes.subarray(offset, end) };
}

/** Reads `bytes` as exactly one TLV of the given tag, with nothing after it. */
export function readDerOnly(bytes: Uint8Array, tag: number): DerNode {
  const node = readDer(bytes);
  if (node.raw.length !== bytes.length) throw new DerError("DER input has trailing bytes");
  return expectTag(node, tag);
}

/** The TLVs inside a constructed node, which must fill it exactly. */
export function derChildren(node: DerNode): DerNode[] {
  if (!(node.tag & 0x20)) throw new DerError("DER node is not constructed");
  const out: DerNode[] = [];
  for (let offset = 0; offset < node.value.length;) {
    const child = readDer(node.value, offset);
    out.push(child);
    offset += child.raw.length;
  }
  return out;
}

/** Returns `node` when its tag is `tag`; throws DerError otherwise. */
export function expectTag(node: DerNode | undefined, tag: number): DerNode {
  if (!node) throw new DerError("DER element is missing");
  if (node.tag !== tag) {
    throw new DerError(
      `DER tag 0x${node.tag.toString(16)} found where 0x${tag.toString(16)} was expected`,
    );
  }
  return node;
}

/** Decodes an OBJECT IDENTIFIER's content to dotted form (arcs up to 2^53). */
export function decodeOid(value: Uint8Array): string {
  if (value.length === 0) throw new DerError("DER object identifier is empty");
  const arcs: number[] = [];
  let n = 0;
  let fresh = true;
  for (const byte of value) {
    if (fresh && byte === 0x80) throw new DerError("DER object identifier is not minimal");
    n = n * 128 + (byte & 0x7f);
    if (n > Number.MAX_SAFE_INTEGER) throw new DerError("DER object identifier arc is too large");
    fresh = !(byte & 0x80);
    if (fresh) {
      arcs.push(n);
      n = 0;
    }
  }
  if (!fresh) throw new DerError("DER object identifier is truncated");
  const first = arcs[0];
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join(".");
}

/**
 * The magnitude of a non-negative INTEGER, without leading zero bytes (zero is one 0 byte);
 * throws on a negative or non-minimally encoded integer.
 */
export function unsignedIntegerBytes(node: DerNode): Uint8Array {
  const v = expectTag(node, DerTag.integer).value;
  if (v.length === 0) throw new DerError("DER integer is empty");
  if (v.length > 1 && v[0] === 0 && !(v[1] & 0x80)) {
    throw new DerError("DER integer is not minimally encoded");
  }
  if (v.length > 1 && v[0] === 0xff && (v[1] & 0x80)) {
    throw new DerError("DER integer is not minimally encoded");
  }
  if (v[0] & 0x80) throw new DerError("DER integer is negative");
  return v.length > 1 && v[0] === 0 ? v.subarray(1) : v;
}

/** The content of a BIT STRING that holds whole bytes (no unused bits). */
export function bitStringBytes(node: DerNode): Uint8Array {
  const v = expectTag(node, DerTag.bitString).value;
  if (v.length === 0 || v[0] !== 0) throw new DerError("DER bit string does not hold whole bytes");
  return v.subarray(1);
}

/**
 * Checks a BIT STRING's form: an unused-bit count of 0-7 (0 for an empty one), and those unused
 * bits zero, as DER has them.
 */
export function checkBitString(node: DerNode): void {
  const v = expectTag(node, DerTag.bitString).value;
  if (v.length === 0 || v[0] > 7 || (v.length === 1 && v[0] !== 0)) {
    throw new DerError("DER bit string is malformed");
  }
  if (v[v.length - 1] & ((1 << v[0]) - 1)) throw new DerError("DER bit string is not DER");
}

/** Reads an AlgorithmIdentifier: SEQUENCE { OID, parameters ANY OPTIONAL }. */
export function readAlgorithm(node: DerNode): { oid: string; params?: DerNode } {
  const parts = derChildren(expectTag(node, DerTag.sequence));
  if (parts.length < 1 || parts.length > 2) throw new DerError("AlgorithmIdentifier is malformed");
  return { oid: decodeOid(expectTag(parts[0], DerTag.oid).value), params: parts[1] };
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/**
 * Decodes a certificate time as RFC 5280 section 4.1.2.5 has it: UTCTime YYMMDDHHMMSSZ (YY
 * below 50 is 20YY, else 19YY) or GeneralizedTime YYYYMMDDHHMMSSZ, always with seconds, in UTC
 * and without fractions. Impossible dates (February 30) and years before 100 are errors.
 */
export function decodeTime(node: DerNode): Date {
  const text = ascii(node.value);
  let m: RegExpExecArray | null;
  let year: number;
  if (node.tag === DerTag.utcTime && (m = UTC_TIME.exec(text))) {
    const yy = Number(m[1]);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
  } else if (node.tag === DerTag.generalizedTime && (m = GENERALIZED_TIME.exec(text))) {
    year = Number(m[1]);
  } else {
    throw new DerError("DER time is not a certificate time");
  }
  const [month, day, hour, minute, second] = m.slice(2).map(Number);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(ms);
  // Date.UTC rolls over (month 13, day 32, hour 24); a time that rolled is invalid.
  if (
    date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day || date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute || date.getUTCSeconds() !== second
  ) {
    throw new DerError("DER time is not a valid date");
  }
  return date;
}

function ascii(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) {
    if (b > 0x7e || b < 0x20) throw new DerError("DER text is not printable ASCII");
    out += String.fromCharCode(b);
  }
  return out;
}

/** Equal bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
