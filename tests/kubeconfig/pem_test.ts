/**
 * checkKeyPair() and checkCaBundle() decide the common case with the DER readers and leave the
 * rest to node:crypto: they must decide exactly as the node:crypto versions do, on good pairs,
 * mismatched pairs and garbled input alike, and the readers must never claim more than
 * node:crypto accepts.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import {
  certificateParses,
  checkCaBundle,
  checkCaBundleWithNode,
  checkKeyPair,
  checkKeyPairWithNode,
  keyPairMatches,
} from "../../src/kubeconfig/_pem.ts";
import {
  generateKey,
  makeCert,
  pemDer,
  prng,
  spkiOf,
  type TestKey,
  toPem,
} from "../encoding/_fixtures.ts";

const fields = { cert: '"client-certificate-data"', key: '"client-key-data"' };
const fail = (detail: string) => new Error(detail);

async function outcome(run: () => Promise<void>): Promise<string> {
  try {
    await run();
    return "ok";
  } catch (e) {
    return (e as Error).message;
  }
}

async function bothPair(pair: { certPem: string; keyPem: string }) {
  return {
    ours: await outcome(() => checkKeyPair(pair, fields, fail)),
    node: await outcome(() => checkKeyPairWithNode(pair, fields, fail)),
  };
}

const keys: TestKey[] = [
  generateKey("rsa-2048"),
  generateKey("rsa-2048"),
  generateKey("ec-P-256"),
  generateKey("ec-P-256"),
  generateKey("ec-P-384"),
  generateKey("ec-P-384"),
];
const certs = keys.map((k) => toPem(makeCert({ spki: spkiOf(k.publicKey) }), "CERTIFICATE"));

Deno.test("keyPairMatches() proves every generated pair in every encoding", async (t) => {
  for (const [i, key] of keys.entries()) {
    for (const [label, keyPem] of Object.entries(key.pems)) {
      await t.step(`${key.name} ${label}`, async () => {
        const pair = { certPem: certs[i], keyPem };
        assert.equal(await keyPairMatches(pair), true);
        assert.deepEqual(await bothPair(pair), { ours: "ok", node: "ok" });
      });
    }
  }
});

Deno.test("checkKeyPair() refuses mismatched pairs as node:crypto does", async (t) => {
  const mismatch =
    'the private key of "client-key-data" does not match the certificate of "client-certificate-data"';
  for (const [i, certKey] of keys.entries()) {
    for (const [j, key] of keys.entries()) {
      if (i === j) continue;
      for (const [label, keyPem] of Object.entries(key.pems)) {
        await t.step(`${certKey.name} certificate, other ${key.name} ${label}`, async () => {
          const pair = { certPem: certs[i], keyPem };
          assert.equal(await keyPairMatches(pair), false);
          assert.deepEqual(await bothPair(pair), { ours: mismatch, node: mismatch });
        });
      }
    }
  }
});

/** One random change to DER bytes: a flipped bit, a new byte, a cut, extra or missing bytes. */
function garble(der: Uint8Array, rng: ReturnType<typeof prng>): Uint8Array {
  const out = der.slice();
  const at = rng.int(der.length);
  switch (rng.int(6)) {
    case 0:
      out[at] ^= 1 << rng.int(8);
      return out;
    case 1:
      out[at] = rng.int(256);
      return out;
    case 2:
      return der.slice(0, at);
    case 3:
      return Uint8Array.from([
        ...der,
        ...Array.from({ length: 1 + rng.int(3) }, () => rng.int(256)),
      ]);
    case 4:
      return Uint8Array.from([...der.slice(0, at), ...der.slice(at + 1)]);
    default:
      // Near the front, where the lengths are.
      out[rng.int(Math.min(8, der.length))] ^= 1 << rng.int(8);
      return out;
  }
}

Deno.test("checkKeyPair() decides garbled keys and certificates as node:crypto does", async (t) => {
  for (const [i, key] of keys.entries()) {
    for (const [label, keyPem] of Object.entries(key.pems)) {
      const seed = 1000 + i * 10 + label.length;
      await t.step(`${key.name} ${label} (seed ${seed})`, async () => {
        const rng = prng(seed);
        const keyDer = pemDer(keyPem);
        const certDer = pemDer(certs[i]);
        for (let n = 0; n < 300; n++) {
          const garbleKey = rng.chance(0.7);
          const pair = {
            certPem: garbleKey ? certs[i] : toPem(garble(certDer, rng), "CERTIFICATE"),
            keyPem: garbleKey ? toPem(garble(keyDer, rng), label) : keyPem,
          };
          const proven = await keyPairMatches(pair);
          const { ours, node } = await bothPair(pair);
          assert.equal(ours, node, `case ${n}: ${pair.keyPem}\n${pair.certPem}`);
          // What the reader proves, node:crypto accepts.
          if (proven) assert.equal(node, "ok", `case ${n}`);
        }
      });
    }
  }
});

Deno.test("keyPairMatches() refuses a key whose private half is another key's", async (t) => {
  // Only the private scalar or primes differ: the public half still names the certificate's key.
  for (const [i, key] of keys.entries()) {
    const label = Object.keys(key.pems)[0];
    await t.step(`${key.name} ${label}`, async () => {
      const der = pemDer(key.pems[label]);
      // The last byte of the private scalar (SEC1) or of the private exponent d (PKCS#1).
      const at = label === "EC PRIVATE KEY" ? 6 + der[6] : privateExponentEnd(der);
      const bad = der.slice();
      bad[at] ^= 0x01;
      const pair = { certPem: certs[i], keyPem: toPem(bad, label) };
      assert.equal(await keyPairMatches(pair), false);
      const { ours, node } = await bothPair(pair);
      assert.equal(ours, node);
      assert.match(node, /is not a valid private key/);
    });
  }
});

// The offset of the last byte of d in a PKCS#1 RSAPrivateKey.
function privateExponentEnd(der: Uint8Array): number {
  let offset = der[1] & 0x80 ? 2 + (der[1] & 0x7f) : 2;
  for (let field = 0; field < 4; field++) {
    const lengthByte = der[offset + 1];
    const count = lengthByte & 0x80 ? lengthByte & 0x7f : 0;
    let length = count ? 0 : lengthByte;
    for (let k = 0; k < count; k++) length = length * 256 + der[offset + 2 + k];
    offset += 2 + count + length;
  }
  return offset - 1;
}

Deno.test("checkKeyPair() keeps node:crypto's verdicts on keys the reader leaves to it", async (t) => {
  const ed = generateKeyPairSync("ed25519").privateKey;
  const sec1 = pemDer(keys[2].pems["EC PRIVATE KEY"]);
  // SEC1 without the [1] public key: node:crypto derives it from the scalar.
  // version (3 bytes), the scalar (34) and the curve (12), without the [1] point.
  const withoutPoint = Uint8Array.from([0x30, 49, ...sec1.slice(2, 2 + 49)]);
  const cases: [string, { certPem: string; keyPem: string }][] = [
    ["a SEC1 key without its public key", {
      certPem: certs[2],
      keyPem: toPem(withoutPoint, "EC PRIVATE KEY"),
    }],
    ["an encrypted PKCS#8 key", {
      certPem: certs[2],
      keyPem: keys[2].privateKey.export({
        type: "pkcs8",
        format: "pem",
        cipher: "aes-256-cbc",
        passphrase: "secret",
      }).toString(),
    }],
    ["a PKCS#1 key with PEM encryption headers", {
      certPem: certs[0],
      keyPem: keys[0].pems["RSA PRIVATE KEY"].replace(
        "-----\n",
        "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n",
      ),
    }],
    ["an Ed25519 key", {
      certPem: certs[2],
      keyPem: ed.export({ type: "pkcs8", format: "pem" }).toString(),
    }],
    ["a key block of another type", {
      certPem: certs[2],
      keyPem: keys[2].pems["EC PRIVATE KEY"].replaceAll("EC PRIVATE KEY", "DSA PRIVATE KEY"),
    }],
    ["a truncated key body", {
      certPem: certs[4],
      keyPem: toPem(pemDer(keys[4].pems["PRIVATE KEY"]).slice(0, 60), "PRIVATE KEY"),
    }],
    ["a certificate with trailing bytes", {
      certPem: toPem(Uint8Array.from([...pemDer(certs[2]), 0, 0]), "CERTIFICATE"),
      keyPem: keys[2].pems["EC PRIVATE KEY"],
    }],
  ];
  for (const [name, pair] of cases) {
    await t.step(name, async () => {
      assert.equal(await keyPairMatches(pair), false);
      const { ours, node } = await bothPair(pair);
      assert.equal(ours, node);
    });
  }
  await t.step("an encrypted key keeps its message", async () => {
    const { ours } = await bothPair(cases[1][1]);
    assert.equal(
      ours,
      '"client-key-data" is not a valid private key: its PEM block cannot be parsed ' +
        "(an encrypted key is not supported)",
    );
  });
});

/** The same PEM text laid out differently. */
function layouts(pem: string): [string, string][] {
  const label = /-----BEGIN ([A-Z ]+)-----/.exec(pem)![1];
  const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  const wrap = (width: number) => body.match(new RegExp(`.{1,${width}}`, "g"))!.join("\n");
  const armour = (text: string, eol = "\n") =>
    `-----BEGIN ${label}-----${eol}${text}${eol}-----END ${label}-----${eol}`;
  return [
    ["64 columns", armour(wrap(64))],
    ["76 columns", armour(wrap(76))],
    ["one line", armour(body)],
    ["CRLF", armour(wrap(64).replaceAll("\n", "\r\n"), "\r\n")],
    ["trailing blanks", armour(wrap(64).replaceAll("\n", "  \n"))],
    ["leading blanks", armour(wrap(64).replaceAll("\n", "\n "))],
    ["no final newline", armour(wrap(64)).trimEnd()],
    ["END on the last body line", `-----BEGIN ${label}-----\n${wrap(64)}-----END ${label}-----\n`],
    ["text around it", `# a comment\n${armour(wrap(64))}trailing words\n`],
    ["a blank line inside", armour(wrap(64).replace("\n", "\n\n"))],
    ["padding removed", armour(wrap(64).replace(/=+$/, ""))],
    ["a stray character", armour(wrap(64).replace("\n", "\n*"))],
  ];
}

Deno.test("checkKeyPair() and checkCaBundle() read PEM layouts as node:crypto does", async (t) => {
  for (const i of [0, 2, 4]) {
    for (const [label, keyPem] of Object.entries(keys[i].pems)) {
      for (
        const [[certLayout, certPem], [keyLayout, keyText]] of zip(
          layouts(certs[i]),
          layouts(keyPem),
        )
      ) {
        await t.step(`${keys[i].name} ${label}: ${certLayout} / ${keyLayout}`, async () => {
          const pair = { certPem, keyPem: keyText };
          const { ours, node } = await bothPair(pair);
          assert.equal(ours, node);
          if (await keyPairMatches(pair)) assert.equal(node, "ok");
          assert.equal(
            await outcome(() => checkCaBundle(certPem, "ca", fail)),
            await outcome(() => checkCaBundleWithNode(certPem, "ca", fail)),
          );
        });
      }
    }
  }
});

function zip<A, B>(a: A[], b: B[]): [A, B][] {
  return a.map((x, i) => [x, b[(i * 5) % b.length]]);
}

function nodeParses(blockText: string): boolean {
  try {
    new X509Certificate(blockText);
    return true;
  } catch {
    return false;
  }
}

Deno.test("certificateParses() accepts only what X509Certificate parses", async (t) => {
  for (const [i, cert] of certs.entries()) {
    await t.step(`${keys[i].name} certificate, garbled (seed ${2000 + i})`, async () => {
      assert.equal(certificateParses(cert), true);
      const rng = prng(2000 + i);
      const der = pemDer(cert);
      for (let n = 0; n < 600; n++) {
        const pem = toPem(garble(der, rng), "CERTIFICATE");
        if (certificateParses(pem)) assert.equal(nodeParses(pem), true, pem);
        const bundle = rng.chance(0.5) ? pem : pem + cert;
        assert.equal(
          await outcome(() => checkCaBundle(bundle, "ca", fail)),
          await outcome(() => checkCaBundleWithNode(bundle, "ca", fail)),
          bundle,
        );
      }
    });
  }
});
