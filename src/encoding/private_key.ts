/**
 * Private keys read with the DER reader (PKCS#1 RSA, SEC1 EC, and PKCS#8 around either), for
 * checking that a client key belongs to its certificate without `node:crypto` (#12). A key is
 * read only when it is surely read as `node:crypto` reads it; anything else is undefined, and
 * the caller asks `node:crypto`.
 */
import {
  bitStringBytes,
  decodeOid,
  derChildren,
  type DerNode,
  DerTag,
  expectTag,
  readAlgorithm,
  readDerOnly,
  unsignedIntegerBytes,
} from "./der.ts";
import { encodeBase64Url } from "./base64.ts";

/** The PEM types of the private keys read here. */
export type PrivateKeyType = "RSA PRIVATE KEY" | "EC PRIVATE KEY" | "PRIVATE KEY";

/** A two-prime RSA key: its integers as unsigned big-endian bytes without leading zeros. */
export interface RsaPrivateKey {
  kind: "rsa";
  n: Uint8Array;
  e: Uint8Array;
  d: Uint8Array;
  p: Uint8Array;
  q: Uint8Array;
}

/** An EC key on P-256 or P-384 that carries its public point. */
export interface EcPrivateKey {
  kind: "ec";
  curve: "P-256" | "P-384";
  secret: Uint8Array;
  /** The uncompressed point, 0x04 || X || Y. */
  point: Uint8Array;
}

/** A private key read here. */
export type PrivateKey = RsaPrivateKey | EcPrivateKey;

const OID = {
  rsaEncryption: "1.2.840.113549.1.1.1",
  ecPublicKey: "1.2.840.10045.2.1",
  "P-256": "1.2.840.10045.3.1.7",
  "P-384": "1.3.132.0.34",
} as const;

const CURVES: Record<string, { name: "P-256" | "P-384"; bytes: number }> = {
  [OID["P-256"]]: { name: "P-256", bytes: 32 },
  [OID["P-384"]]: { name: "P-384", bytes: 48 },
};

/**
 * Reads a private key's DER: undefined when it is of another kind or form than read here (a
 * multi-prime RSA key, an EC key without its public point or curve, Ed25519, ...). Throws
 * DerError when it is not DER of its type.
 */
export function readPrivateKey(type: PrivateKeyType, der: Uint8Array): PrivateKey | undefined {
  const top = readDerOnly(der, DerTag.sequence);
  if (type === "RSA PRIVATE KEY") return readRsa(top);
  // node:crypto refuses a SEC1 key that does not name its curve.
  if (type === "EC PRIVATE KEY") return readEc(top, undefined);
  const parts = derChildren(top);
  if (parts.length !== 3 || !isSmall(parts[0], 0)) return undefined;
  const alg = readAlgorithm(parts[1]);
  const inner = readDerOnly(expectTag(parts[2], DerTag.octetString).value, DerTag.sequence);
  if (alg.oid === OID.rsaEncryption) {
    if (alg.params?.tag !== DerTag.null || alg.params.value.length !== 0) return undefined;
    return readRsa(inner);
  }
  if (alg.oid === OID.ecPublicKey && alg.params?.tag === DerTag.oid) {
    return readEc(inner, decodeOid(alg.params.value));
  }
  return undefined;
}

function isSmall(node: DerNode, value: number): boolean {
  const bytes = unsignedIntegerBytes(node);
  return bytes.length === 1 && bytes[0] === value;
}

function readRsa(key: DerNode): RsaPrivateKey | undefined {
  const parts = derChildren(key);
  // RSAPrivateKey version 0: two primes; multi-prime keys are left to node:crypto.
  if (parts.length !== 9 || !isSmall(parts[0], 0)) return undefined;
  const [, n, e, d, p, q] = parts.map(unsignedIntegerBytes);
  return { kind: "rsa", n, e, d, p, q };
}

function readEc(key: DerNode, outerCurve: string | undefined): EcPrivateKey | undefined {
  const parts = derChildren(key);
  if (parts.length < 2 || !isSmall(parts[0], 1)) return undefined;
  const secret = expectTag(parts[1], DerTag.octetString).value;
  let curve = outerCurve;
  let point: Uint8Array | undefined;
  let i = 2;
  if (parts[i]?.tag === 0xa0) {
    const [id, ...rest] = derChildren(parts[i++]);
    const inner = decodeOid(expectTag(id, DerTag.oid).value);
    // A PKCS#8 wrapper names the curve too; the two must agree.
    if (rest.length || (curve !== undefined && curve !== inner)) return undefined;
    curve = inner;
  }
  if (parts[i]?.tag === 0xa1) {
    const [bits, ...rest] = derChildren(parts[i++]);
    if (rest.length) return undefined;
    point = bitStringBytes(bits);
  }
  if (i !== parts.length || curve === undefined || point === undefined) return undefined;
  const spec = CURVES[curve];
  // An uncompressed point of the curve's size, and a private key of the curve's size.
  if (
    !spec || secret.length !== spec.bytes || point.length !== 2 * spec.bytes + 1 || point[0] !== 4
  ) {
    return undefined;
  }
  return { kind: "ec", curve: spec.name, secret, point };
}

/** The SubjectPublicKeyInfo DER of the key's public half, as `node:crypto` exports it. */
export function publicKeyInfo(key: PrivateKey): Uint8Array {
  if (key.kind === "rsa") {
    return encode(
      DerTag.sequence,
      encode(DerTag.sequence, encode(DerTag.oid, oidBytes(OID.rsaEncryption)), encode(DerTag.null)),
      encode(
        DerTag.bitString,
        Uint8Array.of(0),
        encode(DerTag.sequence, integer(key.n), integer(key.e)),
      ),
    );
  }
  return encode(
    DerTag.sequence,
    encode(
      DerTag.sequence,
      encode(DerTag.oid, oidBytes(OID.ecPublicKey)),
      encode(DerTag.oid, oidBytes(OID[key.curve])),
    ),
    encode(DerTag.bitString, Uint8Array.of(0), key.point),
  );
}

/**
 * Whether the private half of the key is the one its public half belongs to, as `node:crypto`
 * checks when it reads a key (it refuses one that is not): for RSA n = pq and de = 1 modulo
 * p - 1 and q - 1; for EC the point that WebCrypto derives from the private scalar alone.
 */
export async function isConsistent(key: PrivateKey): Promise<boolean> {
  if (key.kind === "rsa") return rsaIsConsistent(key);
  // A PKCS#8 key without the public point, so that exporting it must derive the point.
  const bare = encode(
    DerTag.sequence,
    encode(DerTag.integer, Uint8Array.of(0)),
    encode(
      DerTag.sequence,
      encode(DerTag.oid, oidBytes(OID.ecPublicKey)),
      encode(DerTag.oid, oidBytes(OID[key.curve])),
    ),
    encode(
      DerTag.octetString,
      encode(
        DerTag.sequence,
        encode(DerTag.integer, Uint8Array.of(1)),
        encode(DerTag.octetString, key.secret),
      ),
    ),
  );
  let jwk: JsonWebKey;
  try {
    const imported = await crypto.subtle.importKey(
      "pkcs8",
      bare,
      { name: "ECDSA", namedCurve: key.curve },
      true,
      ["sign"],
    );
    jwk = await crypto.subtle.exportKey("jwk", imported);
  } catch {
    // WebCrypto refuses a scalar out of range; node:crypto decides on such a key.
    return false;
  }
  const size = (key.point.length - 1) / 2;
  return jwk.x === encodeBase64Url(key.point.subarray(1, 1 + size)) &&
    jwk.y === encodeBase64Url(key.point.subarray(1 + size));
}

function rsaIsConsistent(key: RsaPrivateKey): boolean {
  const bits = key.n.length * 8 - Math.clz32(key.n[0]) + 24;
  // Sizes and exponents that every reader takes; others are left to node:crypto.
  if (bits < 1024 || bits > 4096 || key.e.length > 4) return false;
  const [n, e, d, p, q] = [key.n, key.e, key.d, key.p, key.q].map(bigint);
  if (e < 3n || e % 2n === 0n || p < 2n || q < 2n) return false;
  return p * q === n && (d * e) % (p - 1n) === 1n && (d * e) % (q - 1n) === 1n;
}

function bigint(bytes: Uint8Array): bigint {
  let hex = "0x";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return BigInt(hex);
}

function integer(magnitude: Uint8Array): Uint8Array {
  return magnitude[0] & 0x80
    ? encode(DerTag.integer, Uint8Array.of(0), magnitude)
    : encode(DerTag.integer, magnitude);
}

function oidBytes(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const bytes: number[] = [40 * arcs[0] + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const chunk = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) {
      chunk.unshift(0x80 | (n & 0x7f));
    }
    bytes.push(...chunk);
  }
  return Uint8Array.from(bytes);
}

function encode(tag: number, ...contents: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const length = contents.reduce((n, c) => n + c.length, 0);
  const header = [tag];
  if (length < 0x80) header.push(length);
  else {
    const bytes: number[] = [];
    for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
    header.push(0x80 | bytes.length, ...bytes);
  }
  const out = new Uint8Array(header.length + length);
  out.set(header);
  let offset = header.length;
  for (const c of contents) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
