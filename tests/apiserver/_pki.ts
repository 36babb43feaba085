/** A throwaway certificate authority: the cluster CA, the serving certificate and client certificates. */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import {
  createCertificate,
  type Name,
  parseCertificate,
  type ParsedCertificate,
  toPem,
} from "./_x509.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/** The key of a client certificate. */
export type ClientKeyType = "ec-p256" | "ec-p384" | "rsa-2048";

/** A certificate with its private key, both as PEM. */
export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

/** The cluster CA: issues the serving certificate and client certificates. */
export class CertificateAuthority {
  readonly certPem: string;
  readonly cert: ParsedCertificate;
  readonly #key: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #name: Name = { commonName: "kubernetes" };

  /** Create a CA valid from a day before `from` to ten years after `until`. */
  constructor(from: Date, until: Date) {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.#key = privateKey;
    this.#publicKey = publicKey;
    const der = createCertificate({
      subject: this.#name,
      issuer: this.#name,
      notBefore: new Date(from.getTime() - DAY_MS),
      notAfter: new Date(until.getTime() + 3650 * DAY_MS),
      publicKey,
      signingKey: privateKey,
      issuerPublicKey: publicKey,
      isCA: true,
    });
    this.cert = parseCertificate(der);
    this.certPem = toPem(der, "CERTIFICATE");
  }

  /** Issue a serving certificate for the loopback API endpoint. */
  issueServing(notBefore: Date, notAfter: Date): KeyPairPem {
    return this.#issue({ commonName: "kube-apiserver" }, notBefore, notAfter, {
      extKeyUsage: ["serverAuth"],
      dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"],
      ipAddresses: ["127.0.0.1"],
    });
  }

  /**
   * Issue a client certificate: CN is the user name, each O a group, like kube-apiserver reads
   * it. The key is EC P-256 unless `keyType` says otherwise.
   */
  issueClient(
    user: string,
    groups: string[],
    notBefore: Date,
    notAfter: Date,
    keyType: ClientKeyType = "ec-p256",
  ): KeyPairPem {
    return this.#issue({ commonName: user, organizations: groups }, notBefore, notAfter, {
      extKeyUsage: ["clientAuth"],
    }, keyType);
  }

  #issue(
    subject: Name,
    notBefore: Date,
    notAfter: Date,
    extra: {
      extKeyUsage: ("serverAuth" | "clientAuth")[];
      dnsNames?: string[];
      ipAddresses?: string[];
    },
    keyType: ClientKeyType = "ec-p256",
  ): KeyPairPem {
    const { privateKey, publicKey } = keyType === "rsa-2048"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : generateKeyPairSync("ec", { namedCurve: keyType === "ec-p384" ? "P-384" : "P-256" });
    const der = createCertificate({
      subject,
      issuer: this.#name,
      notBefore,
      notAfter,
      publicKey,
      signingKey: this.#key,
      issuerPublicKey: this.#publicKey,
      ...extra,
    });
    return {
      certPem: toPem(der, "CERTIFICATE"),
      // SEC1 "EC PRIVATE KEY" (PKCS#1 "RSA PRIVATE KEY"), the forms kubeadm writes.
      keyPem: privateKey.export({ type: keyType === "rsa-2048" ? "pkcs1" : "sec1", format: "pem" })
        .toString(),
    };
  }
}
