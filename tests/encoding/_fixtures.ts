/**
 * Keys and certificates for comparing the DER readers with node:crypto: RSA 2048, EC P-256 and
 * P-384 keys in each of their PEM encodings, certificates around any public key and subject,
 * and a seeded PRNG for the mutations.
 */
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import {
  bitString,
  explicit,
  octetString,
  oid,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from "../apiserver/_der.ts";
import { toPem } from "../apiserver/_x509.ts";
import { seededRandom } from "../../scripts/_prng.ts";

export { toPem };

/** A small deterministic PRNG (mulberry32), so a failure names its seed. */
export const prng = seededRandom;

/** One generated key with each PEM encoding node:crypto writes for it. */
export interface TestKey {
  name: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PEM label -> PEM text: "RSA PRIVATE KEY" or "EC PRIVATE KEY", and "PRIVATE KEY". */
  pems: Record<string, string>;
}

/** Generate a key: "rsa-2048", "ec-P-256" or "ec-P-384". */
export function generateKey(name: "rsa-2048" | "ec-P-256" | "ec-P-384"): TestKey {
  const { privateKey, publicKey } = name === "rsa-2048"
    ? generateKeyPairSync("rsa", { modulusLength: 2048 })
    : generateKeyPairSync("ec", { namedCurve: name.slice(3) });
  const native = name === "rsa-2048" ? "pkcs1" : "sec1";
  const pems: Record<string, string> = {
    [name === "rsa-2048" ? "RSA PRIVATE KEY" : "EC PRIVATE KEY"]: privateKey
      .export({ type: native, format: "pem" }).toString(),
    "PRIVATE KEY": privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
  return { name, privateKey, publicKey, pems };
}

/** The DER of a key's SubjectPublicKeyInfo. */
export function spkiOf(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: "spki", format: "der" }));
}

/** A Name of CN and O attributes (UTF8String), in Go's order: the O first. */
export function plainName(commonName: string, organizations: string[] = []): Uint8Array {
  return sequence(
    ...organizations.map((o) => set(sequence(oid("2.5.4.10"), utf8String(o)))),
    set(sequence(oid("2.5.4.3"), utf8String(commonName))),
  );
}

const signer = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
const ECDSA_SHA256 = sequence(oid("1.2.840.10045.4.3.2"));

/** What goes into a test certificate; every part has a plain default. */
export interface CertParts {
  spki: Uint8Array;
  subject?: Uint8Array;
  /** The encoded notBefore and notAfter times. */
  notBefore?: Uint8Array;
  notAfter?: Uint8Array;
  /** Encoded Extension SEQUENCEs; none leaves the [3] field out. */
  extensions?: Uint8Array[];
}

/** A certificate (DER) signed by a fixed P-256 key. */
export function makeCert(parts: CertParts): Uint8Array {
  const name = plainName("issuer");
  const extensions = parts.extensions ?? [
    sequence(oid("2.5.29.19"), octetString(sequence())),
    sequence(oid("2.5.29.37"), octetString(sequence(oid("1.3.6.1.5.5.7.3.2")))),
  ];
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(Uint8Array.of(0x01, 0x23, 0x45)),
    ECDSA_SHA256,
    name,
    sequence(
      parts.notBefore ?? time(new Date("2024-01-01T00:00:00Z")),
      parts.notAfter ?? time(new Date("2034-06-15T12:30:45Z")),
    ),
    parts.subject ?? plainName("alice", ["dev", "ops"]),
    parts.spki,
    ...(extensions.length ? [explicit(3, sequence(...extensions))] : []),
  );
  const signature = new Uint8Array(sign("sha256", tbs, signer));
  return sequence(tbs, ECDSA_SHA256, bitString(signature));
}

/** Decode the base64 body of the first PEM block. */
export function pemDer(pem: string): Uint8Array {
  const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}
