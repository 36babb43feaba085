import assert from "node:assert/strict";
import { CertificateAuthority } from "./_pki.ts";
import { fromPem, parseCertificate, verifyClientCertificate } from "./_x509.ts";

const NOW = new Date("2025-06-01T12:00:00Z");
const HOUR = 3_600_000;

Deno.test("a client certificate carries the user as CN and groups as O", () => {
  const ca = new CertificateAuthority(NOW, NOW);
  const { certPem } = ca.issueClient(
    "jane",
    ["devs", "ops"],
    new Date(NOW.getTime() - HOUR),
    new Date(NOW.getTime() + HOUR),
  );
  const cert = parseCertificate(fromPem(certPem, "CERTIFICATE")!);
  assert.deepEqual(cert.subject, { commonName: "jane", organizations: ["devs", "ops"] });
  assert.deepEqual(cert.extKeyUsage, ["1.3.6.1.5.5.7.3.2"]);
  assert.equal(verifyClientCertificate(cert, ca.cert, NOW), undefined);
});

Deno.test("verifyClientCertificate() refuses expired, not yet valid and foreign certificates", () => {
  const ca = new CertificateAuthority(NOW, NOW);
  const { certPem } = ca.issueClient(
    "jane",
    [],
    new Date(NOW.getTime() - HOUR),
    new Date(NOW.getTime() + HOUR),
  );
  const cert = parseCertificate(fromPem(certPem, "CERTIFICATE")!);
  assert.match(
    verifyClientCertificate(cert, ca.cert, new Date(NOW.getTime() + 2 * HOUR))!,
    /has expired or is not yet valid: current time .* is after/,
  );
  assert.match(
    verifyClientCertificate(cert, ca.cert, new Date(NOW.getTime() - 2 * HOUR))!,
    /is before/,
  );
  const other = new CertificateAuthority(NOW, NOW);
  assert.equal(
    verifyClientCertificate(cert, other.cert, NOW),
    "x509: certificate signed by unknown authority",
  );
});

Deno.test("a serving certificate is not accepted for client authentication", () => {
  const ca = new CertificateAuthority(NOW, NOW);
  const { certPem } = ca.issueServing(
    new Date(NOW.getTime() - HOUR),
    new Date(NOW.getTime() + HOUR),
  );
  const cert = parseCertificate(fromPem(certPem, "CERTIFICATE")!);
  assert.equal(
    verifyClientCertificate(cert, ca.cert, NOW),
    "x509: certificate specifies an incompatible key usage",
  );
});
