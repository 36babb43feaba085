/**
 * X.509 certificates read with the DER reader, so that checking and interpreting a client
 * certificate need not load `node:crypto` (#12). Each reader either answers for sure or says it
 * cannot (a DerError, or undefined), and its callers then ask `node:crypto`: what is read here
 * is only ever what `node:crypto` would read. That is Deno's `node:crypto` (x509-parser), whose
 * PEM reading and subject text differ from Node's OpenSSL; tests/kubeconfig/pem_test.ts and
 * tests/credential/certificate_test.ts compare this reading with it.
 */
import { decodeBase64 } from "./base64.ts";
import {
  checkBitString,
  decodeOid,
  decodeTime,
  derChildren,
  DerError,
  type DerNode,
  DerTag,
  expectTag,
  readAlgorithm,
  readDerOnly,
  unsignedIntegerBytes,
} from "./der.ts";

const BEGIN = "-----BEGIN ";

/**
 * The certificate that `node:crypto`'s `new X509Certificate(text)` reads from a PEM text: the
 * first PEM block, whatever its type; undefined unless that surely is a certificate read the
 * same way (it is a plain "CERTIFICATE" block at the start of a line, with no other BEGIN line
 * before it), and a DerError when its DER is not a certificate.
 */
export function readPemCertificate(text: string): CertificateFields | undefined {
  const at = text.indexOf(BEGIN);
  if (at < 0 || (at > 0 && text[at - 1] !== "\n")) return undefined;
  const m = /^-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/= \t\r\n]*)-----END CERTIFICATE-----/
    .exec(text.slice(at));
  if (!m) return undefined;
  const der = pemBlockBytes(m[0]);
  return der && readCertificate(der);
}

/** The parts of a certificate that the client-certificate checks need. */
export interface CertificateFields {
  /** The whole SubjectPublicKeyInfo encoding. */
  spki: Uint8Array;
  /** The subject Name. */
  subject: DerNode;
  notAfter: Date;
}

/**
 * Decodes the base64 body of one PEM block (its whole text, BEGIN and END lines included) as
 * `node:crypto` reads it; undefined unless the body is plainly canonical: no headers, padded,
 * zero trailing bits, every line ending in a newline. With `canonical`, as private keys need
 * (node:crypto's key reader refuses some other layouts), the lines are also exactly 64
 * characters but the last, with no blanks and no empty lines.
 */
export function pemBlockBytes(
  blockText: string,
  options: { canonical?: boolean } = {},
): Uint8Array | undefined {
  const begin = blockText.indexOf("\n");
  const end = blockText.lastIndexOf("-----END ");
  if (begin < 0 || end <= begin) return undefined;
  const body = blockText.slice(begin + 1, end);
  if (!body.endsWith("\n")) return undefined;
  const lines = body.slice(0, -1).split("\n");
  let text = "";
  for (const [i, line] of lines.entries()) {
    if (options.canonical) {
      const bare = line.endsWith("\r") ? line.slice(0, -1) : line;
      const last = i === lines.length - 1;
      if (!(last ? bare.length > 0 && bare.length <= 64 : bare.length === 64)) return undefined;
      text += bare;
    } else text += line.replace(/[ \t\r]+$/, "");
  }
  if (!/^[A-Za-z0-9+/]*(?:[AEIMQUYcgkosw048]=|[AQgw]==)?$/.test(text) || text.length % 4 !== 0) {
    return undefined;
  }
  if (text === "") return undefined;
  return decodeBase64(text);
}

function checkName(node: DerNode): void {
  for (const rdn of derChildren(expectTag(node, DerTag.sequence))) {
    const attributes = derChildren(expectTag(rdn, DerTag.set));
    if (attributes.length === 0) throw new DerError("Name has an empty RelativeDistinguishedName");
    for (const attribute of attributes) {
      const [type, value, ...rest] = derChildren(expectTag(attribute, DerTag.sequence));
      if (!value || rest.length) throw new DerError("Name attribute is malformed");
      decodeOid(expectTag(type, DerTag.oid).value);
    }
  }
}

function checkExtensions(node: DerNode): void {
  const [list, ...rest] = derChildren(node);
  if (rest.length) throw new DerError("Extensions are malformed");
  const seen = new Set<string>();
  const extensions = derChildren(expectTag(list, DerTag.sequence));
  if (extensions.length === 0) throw new DerError("Extensions are empty");
  for (const extension of extensions) {
    const parts = derChildren(expectTag(extension, DerTag.sequence));
    const id = decodeOid(expectTag(parts[0], DerTag.oid).value);
    if (seen.has(id)) throw new DerError("Extensions repeat one");
    seen.add(id);
    if (parts.length === 3) {
      const critical = expectTag(parts[1], DerTag.boolean).value;
      // DER: a critical flag is TRUE (0xff); FALSE is left out.
      if (critical.length !== 1 || critical[0] !== 0xff) {
        throw new DerError("Extension is malformed");
      }
    } else if (parts.length !== 2) throw new DerError("Extension is malformed");
    expectTag(parts[parts.length - 1], DerTag.octetString);
  }
}

/**
 * Reads a DER X.509 Certificate (RFC 5280 section 4.1) with nothing after it: its structure,
 * not its signature. Throws DerError when it is not one.
 */
export function readCertificate(der: Uint8Array): CertificateFields {
  const [tbs, signatureAlgorithm, signature, ...extra] = derChildren(
    readDerOnly(der, DerTag.sequence),
  );
  if (extra.length) throw new DerError("Certificate has extra fields");
  readAlgorithm(signatureAlgorithm);
  checkBitString(expectTag(signature, DerTag.bitString));
  const fields = derChildren(expectTag(tbs, DerTag.sequence));
  let i = 0;
  let version = 0;
  if (fields[0]?.tag === 0xa0) {
    const [v, ...rest] = derChildren(fields[i++]);
    const bytes = unsignedIntegerBytes(v);
    if (rest.length || bytes.length !== 1 || bytes[0] < 1 || bytes[0] > 2) {
      throw new DerError("Certificate version is not v2 or v3");
    }
    version = bytes[0];
  }
  unsignedIntegerBytes(expectTag(fields[i++], DerTag.integer));
  readAlgorithm(fields[i++]);
  checkName(fields[i++]);
  const validity = derChildren(expectTag(fields[i++], DerTag.sequence));
  if (validity.length !== 2) throw new DerError("Certificate validity is malformed");
  decodeTime(validity[0]);
  const notAfter = decodeTime(validity[1]);
  const subject = fields[i++];
  checkName(subject);
  const spki = expectTag(fields[i++], DerTag.sequence);
  const spkiParts = derChildren(spki);
  if (spkiParts.length !== 2) throw new DerError("SubjectPublicKeyInfo is malformed");
  readAlgorithm(spkiParts[0]);
  checkBitString(spkiParts[1]);
  // issuerUniqueID [1], subjectUniqueID [2] (v2 and v3), extensions [3] (v3), in this order.
  for (const [tag, minimum] of [[0x81, 1], [0x82, 1], [0xa3, 2]] as const) {
    if (fields[i]?.tag !== tag) continue;
    if (version < minimum) throw new DerError("Certificate field needs a later version");
    if (tag === 0xa3) checkExtensions(fields[i]);
    else checkBitString({ ...fields[i], tag: DerTag.bitString });
    i++;
  }
  if (i !== fields.length) throw new DerError("TBSCertificate has unexpected fields");
  return { spki: spki.raw, subject, notAfter };
}

/** The attribute types that `node:crypto` names in a subject, and the names it gives them. */
const ATTRIBUTE_NAMES: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
};

const STRING_TAGS: ReadonlySet<number> = new Set([
  DerTag.utf8String,
  DerTag.printableString,
  DerTag.ia5String,
  DerTag.t61String,
]);

/** One attribute of a subject: `CN` and its value. */
export interface SubjectAttribute {
  type: string;
  value: string;
}

/**
 * The attributes of a Name in order, as `node:crypto`'s `subject` lists them: one a line,
 * `CN=value`, values as UTF-8 and nothing escaped (Deno's rendering, not OpenSSL's);
 * undefined when the Name holds what is not rendered here exactly as it renders it: an empty
 * Name, a multi-valued RDN, another attribute type, a value that is not a plain string (BMP,
 * invalid UTF-8, control characters).
 */
export function subjectAttributes(name: DerNode): SubjectAttribute[] | undefined {
  const out: SubjectAttribute[] = [];
  const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  for (const rdn of derChildren(name)) {
    const attributes = derChildren(rdn);
    if (attributes.length !== 1) return undefined;
    const [type, value] = derChildren(attributes[0]);
    const label = ATTRIBUTE_NAMES[decodeOid(type.value)];
    if (!label || !STRING_TAGS.has(value.tag)) return undefined;
    let text: string;
    try {
      text = utf8.decode(value.value);
    } catch {
      return undefined;
    }
    // deno-lint-ignore no-control-regex
    if (/[\u0000-\u001f\u007f-\u009f]/.test(text)) return undefined;
    out.push({ type: label, value: text });
  }
  return out.length ? out : undefined;
}
