/**
 * Checks of PEM credentials before they are used: a client certificate, its key and a CA bundle
 * that cannot be used are errors naming the field, as kubectl refuses them (`tls: failed to find
 * any PEM data in key input`), instead of a request that goes out without them and fails as
 * "certificate not trusted" or, worse, succeeds anonymously.
 */
import { CliError } from "../errors.ts";
import { DerError, equalBytes } from "../encoding/der.ts";
import { pemBlockBytes, readPemCertificate } from "../encoding/x509.ts";
import {
  isConsistent,
  type PrivateKeyType,
  publicKeyInfo,
  readPrivateKey,
} from "../encoding/private_key.ts";

/** A PEM source as messages name it: `"client-key-data"` or `client-key "/path"`. */
export type PemField = string;

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

function blocks(pem: string): { type: string; text: string }[] {
  return [...pem.matchAll(BLOCK)].map((m) => ({ type: m[1], text: m[0] }));
}

/**
 * Throws unless `certPem` holds a certificate, `keyPem` a private key, and the key belongs to
 * the certificate (Go's tls.X509KeyPair). `fail` builds the error from a detail.
 */
export async function checkKeyPair(
  pair: { certPem: string; keyPem: string },
  fields: { cert: PemField; key: PemField },
  fail: (detail: string) => Error,
): Promise<void> {
  // The DER reader proves the common case (#12); whatever it cannot prove, refusals included,
  // node:crypto decides as before, so verdicts and messages stay its own.
  if (await keyPairMatches(pair)) return;
  await checkKeyPairWithNode(pair, fields, fail);
}

const KEY_TYPES: ReadonlySet<string> = new Set([
  "RSA PRIVATE KEY",
  "EC PRIVATE KEY",
  "PRIVATE KEY",
]);

/**
 * Whether the first certificate of `certPem` and the first private key of `keyPem` surely are a
 * pair, read without node:crypto: the public key in the key's own encoding is the certificate's,
 * byte for byte (as node:crypto's checkPrivateKey compares them), and the private half belongs
 * to it. False means "not proven", not "no pair".
 */
export async function keyPairMatches(pair: { certPem: string; keyPem: string }): Promise<boolean> {
  const leaf = blocks(pair.certPem).find((b) => b.type === "CERTIFICATE");
  const block = blocks(pair.keyPem).find((b) => b.type.endsWith("PRIVATE KEY"));
  if (!leaf || !block || !KEY_TYPES.has(block.type)) return false;
  let key;
  try {
    const cert = readPemCertificate(leaf.text);
    const keyDer = pemBlockBytes(block.text, { canonical: true });
    if (!cert || !keyDer) return false;
    key = readPrivateKey(block.type as PrivateKeyType, keyDer);
    if (!key || !equalBytes(publicKeyInfo(key), cert.spki)) return false;
  } catch (e) {
    if (e instanceof DerError) return false;
    throw e;
  }
  // node:crypto refuses a key whose private half is not its public half's.
  return await isConsistent(key);
}

/** Whether a CERTIFICATE block surely parses, read without node:crypto (false: not proven). */
export function certificateParses(blockText: string): boolean {
  try {
    return readPemCertificate(blockText) !== undefined;
  } catch (e) {
    if (e instanceof DerError) return false;
    throw e;
  }
}

/** checkKeyPair() as node:crypto decides it. */
export async function checkKeyPairWithNode(
  pair: { certPem: string; keyPem: string },
  fields: { cert: PemField; key: PemField },
  fail: (detail: string) => Error,
): Promise<void> {
  const { X509Certificate, createPrivateKey } = await import("node:crypto");
  const certBlocks = blocks(pair.certPem);
  const leaf = certBlocks.find((b) => b.type === "CERTIFICATE");
  if (!leaf) throw fail(noPem(fields.cert, "certificate", certBlocks, pair.certPem));
  let cert;
  try {
    cert = new X509Certificate(leaf.text);
  } catch {
    throw fail(`${fields.cert} is not a valid certificate: its PEM block cannot be parsed`);
  }
  const keyBlocks = blocks(pair.keyPem);
  const keyBlock = keyBlocks.find((b) => b.type.endsWith("PRIVATE KEY"));
  if (!keyBlock) throw fail(noPem(fields.key, "private key", keyBlocks, pair.keyPem));
  let key;
  try {
    key = createPrivateKey(keyBlock.text);
  } catch {
    throw fail(
      `${fields.key} is not a valid private key: its PEM block cannot be parsed ` +
        `(an encrypted key is not supported)`,
    );
  }
  let matches = false;
  try {
    matches = cert.checkPrivateKey(key);
  } catch {
    matches = false;
  }
  if (!matches) {
    throw fail(`the private key of ${fields.key} does not match the certificate of ${fields.cert}`);
  }
}

/** Throws unless `pem` holds at least one certificate (Go's CertPool.AppendCertsFromPEM). */
export async function checkCaBundle(
  pem: string,
  field: PemField,
  fail: (detail: string) => Error,
): Promise<void> {
  const found = blocks(pem);
  const certs = found.filter((b) => b.type === "CERTIFICATE");
  if (certs.length === 0) throw fail(noPem(field, "certificate", found, pem));
  if (certs.some((b) => certificateParses(b.text))) return;
  await checkCaBundleWithNode(pem, field, fail);
}

/** checkCaBundle() as node:crypto decides it. */
export async function checkCaBundleWithNode(
  pem: string,
  field: PemField,
  fail: (detail: string) => Error,
): Promise<void> {
  const found = blocks(pem);
  const certs = found.filter((b) => b.type === "CERTIFICATE");
  if (certs.length === 0) throw fail(noPem(field, "certificate", found, pem));
  const { X509Certificate } = await import("node:crypto");
  const parses = certs.some((b) => {
    try {
      new X509Certificate(b.text);
      return true;
    } catch {
      return false;
    }
  });
  if (!parses) {
    throw fail(`${field} is not a valid certificate bundle: no PEM block in it can be parsed`);
  }
}

/** A CliError "Cannot use <owner>: <detail>". */
export function cannotUse(owner: string): (detail: string) => CliError {
  return (detail) => new CliError(`Cannot use ${owner}: ${detail}`);
}

function noPem(
  field: PemField,
  what: string,
  found: { type: string }[],
  text: string,
): string {
  if (text.trim() === "") return `${field} is empty (expected a PEM ${what})`;
  if (found.length === 0) return `${field} holds no PEM data (expected a PEM ${what})`;
  const types = [...new Set(found.map((b) => `"${b.type}"`))].join(", ");
  return `${field} holds no PEM ${what} (found ${types})`;
}
