/**
 * X.509 certificates built and read with the DER helpers: enough for a CA, a serving certificate
 * and client certificates that Go's crypto/x509 (kubectl) accepts, signed with ECDSA P-256.
 */
import { Buffer } from "node:buffer";
import { createHash, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import {
  bitString,
  boolean,
  children,
  decodeOid,
  decodeString,
  decodeTime,
  type DerNode,
  explicit,
  implicitPrimitive,
  namedBits,
  octetString,
  oid,
  readNode,
  sequence,
  set,
  smallInteger,
  Tag,
  time,
  unsignedInteger,
  utf8String,
} from "./_der.ts";

const OID = {
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyId: "2.5.29.14",
  authorityKeyId: "2.5.29.35",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  anyExtendedKeyUsage: "2.5.29.37.0",
} as const;

/** A subject or issuer: a common name and any number of organizations (Kubernetes groups). */
export interface Name {
  commonName: string;
  organizations?: string[];
}

/** What goes into a certificate; the key usages follow from isCA and extKeyUsage. */
export interface CertificateTemplate {
  subject: Name;
  issuer: Name;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  /** The issuer's private key; for a self-signed CA, the CA's own key. */
  signingKey: KeyObject;
  /** The issuer's public key, for the authority key identifier. */
  issuerPublicKey: KeyObject;
  isCA?: boolean;
  extKeyUsage?: ("serverAuth" | "clientAuth")[];
  dnsNames?: string[];
  ipAddresses?: string[];
}

function encodeName(name: Name): Uint8Array {
  // Go orders O before CN when it marshals a pkix.Name; follow it so certificates look familiar.
  const rdns = [
    ...(name.organizations ?? []).map((o) => set(sequence(oid(OID.organization), utf8String(o)))),
    set(sequence(oid(OID.commonName), utf8String(name.commonName))),
  ];
  return sequence(...rdns);
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical
    ? sequence(oid(id), boolean(true), octetString(value))
    : sequence(oid(id), octetString(value));
}

function keyId(publicKey: KeyObject): Uint8Array {
  // RFC 5280 method 1: SHA-1 of the subjectPublicKey bits, which is what Go computes too.
  const spki = readNode(new Uint8Array(publicKey.export({ type: "spki", format: "der" })));
  const bits = children(spki)[1].value.subarray(1);
  return new Uint8Array(createHash("sha1").update(bits).digest());
}

function ipBytes(ip: string): Uint8Array {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) {
    throw new Error(`Cannot encode IP address "${ip}": only IPv4 is supported`);
  }
  return Uint8Array.from(parts);
}

/** Build and sign a certificate; returns its DER encoding. */
export function createCertificate(t: CertificateTemplate): Uint8Array {
  const algorithm = sequence(oid(OID.ecdsaWithSha256));
  const serial = new Uint8Array(16);
  crypto.getRandomValues(serial);
  serial[0] &= 0x7f;

  const extensions: Uint8Array[] = [];
  extensions.push(
    extension(
      OID.keyUsage,
      true,
      // digitalSignature(0), keyEncipherment(2) for leaves; keyCertSign(5), cRLSign(6) for a CA.
      t.isCA ? namedBits([0, 2, 5, 6]) : namedBits([0, 2]),
    ),
  );
  if (t.extKeyUsage?.length) {
    const ids = t.extKeyUsage.map((u) => oid(u === "serverAuth" ? OID.serverAuth : OID.clientAuth));
    extensions.push(extension(OID.extKeyUsage, false, sequence(...ids)));
  }
  extensions.push(
    extension(OID.basicConstraints, true, t.isCA ? sequence(boolean(true)) : sequence()),
  );
  extensions.push(extension(OID.subjectKeyId, false, octetString(keyId(t.publicKey))));
  if (!t.isCA) {
    extensions.push(
      extension(
        OID.authorityKeyId,
        false,
        sequence(implicitPrimitive(0, keyId(t.issuerPublicKey))),
      ),
    );
  }
  const altNames = [
    ...(t.dnsNames ?? []).map((d) => implicitPrimitive(2, new TextEncoder().encode(d))),
    ...(t.ipAddresses ?? []).map((ip) => implicitPrimitive(7, ipBytes(ip))),
  ];
  if (altNames.length) extensions.push(extension(OID.subjectAltName, false, sequence(...altNames)));

  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(serial),
    algorithm,
    encodeName(t.issuer),
    sequence(time(t.notBefore), time(t.notAfter)),
    encodeName(t.subject),
    new Uint8Array(t.publicKey.export({ type: "spki", format: "der" })),
    explicit(3, sequence(...extensions)),
  );
  // node:crypto signs ECDSA as a DER SEQUENCE { r, s }, which is the X.509 signature format.
  const signature = new Uint8Array(sign("sha256", tbs, t.signingKey));
  return sequence(tbs, algorithm, bitString(signature));
}

/** The parts of a certificate that authentication needs. */
export interface ParsedCertificate {
  der: Uint8Array;
  tbs: Uint8Array;
  signatureAlgorithm: string;
  signature: Uint8Array;
  subject: { commonName: string; organizations: string[] };
  issuerRaw: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  /** Extended key usage OIDs, or undefined when the extension is absent. */
  extKeyUsage?: string[];
}

function parseName(node: DerNode): { commonName: string; organizations: string[] } {
  let commonName = "";
  const organizations: string[] = [];
  for (const rdn of children(node)) {
    for (const attribute of children(rdn)) {
      const [type, value] = children(attribute);
      const id = decodeOid(type.value);
      // Like Go's pkix.Name: the last CN wins, every O is a group in order.
      if (id === OID.commonName) commonName = decodeString(value);
      if (id === OID.organization) organizations.push(decodeString(value));
    }
  }
  return { commonName, organizations };
}

/** Parse a DER certificate; throws when it is malformed. */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const [tbsNode, algorithmNode, signatureNode] = children(readNode(der));
  const fields = children(tbsNode);
  const rest = fields[0].tag === 0xa0 ? fields.slice(1) : fields;
  const [, , issuer, validity, subject, spki, ...optional] = rest;
  const [notBefore, notAfter] = children(validity).map(decodeTime);
  let extKeyUsage: string[] | undefined;
  const extensionsNode = optional.find((n) => n.tag === 0xa3);
  if (extensionsNode) {
    for (const ext of children(children(extensionsNode)[0])) {
      const parts = children(ext);
      if (decodeOid(parts[0].value) !== OID.extKeyUsage) continue;
      const value = readNode(parts[parts.length - 1].value);
      extKeyUsage = children(value).map((n) => decodeOid(n.value));
    }
  }
  if (signatureNode.tag !== Tag.bitString) throw new Error("Certificate signature is malformed");
  return {
    der,
    tbs: tbsNode.raw,
    signatureAlgorithm: decodeOid(children(algorithmNode)[0].value),
    signature: signatureNode.value.subarray(1),
    subject: parseName(subject),
    issuerRaw: issuer.raw,
    notBefore,
    notAfter,
    publicKey: createPublicKey({ key: Buffer.from(spki.raw), format: "der", type: "spki" }),
    extKeyUsage,
  };
}

/** Why a client certificate is refused, or undefined when it verifies against the CA at `now`. */
export function verifyClientCertificate(
  cert: ParsedCertificate,
  ca: ParsedCertificate,
  now: Date,
): string | undefined {
  if (!equalBytes(cert.issuerRaw, encodeSubjectOf(ca))) {
    return "x509: certificate signed by unknown authority";
  }
  if (cert.signatureAlgorithm !== OID.ecdsaWithSha256) {
    return "x509: certificate signed by unknown authority";
  }
  if (!verify("sha256", cert.tbs, ca.publicKey, cert.signature)) {
    return "x509: certificate signed by unknown authority";
  }
  if (now < cert.notBefore || now > cert.notAfter) {
    // Go's wording for the same failure, so logs read like a real apiserver's.
    return `x509: certificate has expired or is not yet valid: current time ${
      now.toISOString().replace(/\.\d+Z$/, "Z")
    } is ${now > cert.notAfter ? "after" : "before"} ${
      (now > cert.notAfter ? cert.notAfter : cert.notBefore).toISOString().replace(/\.\d+Z$/, "Z")
    }`;
  }
  const usages = cert.extKeyUsage;
  if (usages && !usages.includes(OID.clientAuth) && !usages.includes(OID.anyExtendedKeyUsage)) {
    return "x509: certificate specifies an incompatible key usage";
  }
  return undefined;
}

function encodeSubjectOf(ca: ParsedCertificate): Uint8Array {
  const fields = children(readNode(ca.tbs));
  const rest = fields[0].tag === 0xa0 ? fields.slice(1) : fields;
  return rest[4].raw;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Wrap DER bytes in PEM armour with the given label. */
export function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Unwrap the first PEM block with the given label; undefined when there is none. */
export function fromPem(pem: string, label: string): Uint8Array | undefined {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(pem);
  if (!m) return undefined;
  return new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ""), "base64"));
}
