import assert from "node:assert/strict";
import {
  checkBitString,
  decodeOid,
  decodeTime,
  derChildren,
  DerError,
  type DerNode,
  readDer,
  readDerOnly,
  unsignedIntegerBytes,
} from "../../src/encoding/der.ts";
import { readCertificate, subjectAttributes } from "../../src/encoding/x509.ts";
import { readPrivateKey } from "../../src/encoding/private_key.ts";
import { generateKey, makeCert, pemDer, prng, spkiOf } from "./_fixtures.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);
const text = (s: string) => new TextEncoder().encode(s);
const node = (tag: number, value: Uint8Array): DerNode => ({ tag, value, raw: value });

Deno.test("readDer() reads definite lengths and refuses what DER forbids", async (t) => {
  await t.step("short and long forms", () => {
    assert.deepEqual(readDer(bytes(0x04, 2, 9, 8)).value, bytes(9, 8));
    const long = Uint8Array.from([0x04, 0x81, 0x80, ...new Uint8Array(0x80)]);
    assert.equal(readDer(long).value.length, 0x80);
    assert.equal(readDer(bytes(0x30, 0, 0x05, 0), 2).tag, 0x05);
  });
  const refused: [string, Uint8Array][] = [
    ["empty input", bytes()],
    ["a lone tag", bytes(0x30)],
    ["content shorter than its length", bytes(0x04, 3, 1, 2)],
    ["an indefinite length", bytes(0x30, 0x80, 0, 0)],
    ["a long form for a short length", bytes(0x04, 0x81, 0x05, 1, 2, 3, 4, 5)],
    ["a length with a leading zero byte", Uint8Array.from([0x04, 0x82, 0x00, 0x90])],
    ["a length of five bytes", bytes(0x04, 0x85, 0, 0, 0, 0, 1, 0)],
    ["length bytes cut off", bytes(0x04, 0x82, 0x01)],
    ["a high tag number", bytes(0x1f, 0x81, 0x01, 0x00)],
  ];
  for (const [name, input] of refused) {
    await t.step(name, () => assert.throws(() => readDer(input), DerError));
  }
  await t.step("readDerOnly() refuses trailing bytes and another tag", () => {
    assert.throws(() => readDerOnly(bytes(0x30, 0, 0), 0x30), DerError);
    assert.throws(() => readDerOnly(bytes(0x31, 0), 0x30), DerError);
    assert.equal(readDerOnly(bytes(0x30, 0), 0x30).value.length, 0);
  });
  await t.step("derChildren() needs a constructed node that its children fill", () => {
    assert.throws(() => derChildren(readDer(bytes(0x04, 2, 0x05, 0))), DerError);
    assert.throws(() => derChildren(readDer(bytes(0x30, 3, 0x05, 0, 0x05))), DerError);
    assert.equal(derChildren(readDer(bytes(0x30, 4, 0x05, 0, 0x05, 0))).length, 2);
  });
});

Deno.test("decodeOid() decodes arcs and refuses non-minimal or cut encodings", () => {
  assert.equal(
    decodeOid(bytes(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1, 1)),
    "1.2.840.113549.1.1.1",
  );
  assert.equal(decodeOid(bytes(0x55, 0x04, 0x03)), "2.5.4.3");
  assert.equal(decodeOid(bytes(0x09, 0x92, 0x26)), "0.9.2342");
  assert.equal(decodeOid(bytes(0x88, 0x37, 0x03)), "2.999.3");
  assert.throws(() => decodeOid(bytes()), DerError);
  assert.throws(() => decodeOid(bytes(0x2a, 0x80, 0x01)), DerError);
  assert.throws(() => decodeOid(bytes(0x2a, 0x86)), DerError);
});

Deno.test("unsignedIntegerBytes() drops the sign byte and refuses non-DER integers", async (t) => {
  const int = (...b: number[]) => node(0x02, bytes(...b));
  await t.step("magnitudes", () => {
    assert.deepEqual(unsignedIntegerBytes(int(0x00, 0x80)), bytes(0x80));
    assert.deepEqual(unsignedIntegerBytes(int(0x00)), bytes(0x00));
    assert.deepEqual(unsignedIntegerBytes(int(0x7f, 0x01)), bytes(0x7f, 0x01));
  });
  const refused: [string, DerNode][] = [
    ["empty", int()],
    ["a needless zero", int(0x00, 0x7f)],
    ["a needless 0xff", int(0xff, 0x80)],
    ["negative", int(0x80)],
    ["not an INTEGER", node(0x04, bytes(1))],
  ];
  for (const [name, n] of refused) {
    await t.step(name, () => assert.throws(() => unsignedIntegerBytes(n), DerError));
  }
});

Deno.test("checkBitString() wants 0-7 unused bits, and those bits zero", () => {
  checkBitString(node(0x03, bytes(0)));
  checkBitString(node(0x03, bytes(3, 0b1000)));
  assert.throws(() => checkBitString(node(0x03, bytes())), DerError);
  assert.throws(() => checkBitString(node(0x03, bytes(1))), DerError);
  assert.throws(() => checkBitString(node(0x03, bytes(8, 0))), DerError);
  assert.throws(() => checkBitString(node(0x03, bytes(3, 0b0100))), DerError);
});

Deno.test("decodeTime() follows RFC 5280 section 4.1.2.5", async (t) => {
  const utc = (s: string) => node(0x17, text(s));
  const gen = (s: string) => node(0x18, text(s));
  const read: [string, DerNode, string][] = [
    ["UTCTime 49 is 2049", utc("491231235959Z"), "2049-12-31T23:59:59.000Z"],
    ["UTCTime 50 is 1950", utc("500101000000Z"), "1950-01-01T00:00:00.000Z"],
    ["UTCTime 99 is 1999", utc("990615123045Z"), "1999-06-15T12:30:45.000Z"],
    ["GeneralizedTime", gen("20500101000000Z"), "2050-01-01T00:00:00.000Z"],
    ["GeneralizedTime 9999", gen("99991231235959Z"), "9999-12-31T23:59:59.000Z"],
    ["a leap day", gen("20240229120000Z"), "2024-02-29T12:00:00.000Z"],
  ];
  for (const [name, n, iso] of read) {
    await t.step(name, () => assert.equal(decodeTime(n).toISOString(), iso));
  }
  const refused: [string, DerNode][] = [
    ["no seconds", utc("4912312359Z")],
    ["an offset", utc("491231235959+0100")],
    ["no Z", gen("20500101000000")],
    ["fractions", gen("20500101000000.5Z")],
    ["February 29 of a common year", gen("20230229000000Z")],
    ["February 30", utc("240230000000Z")],
    ["month 13", utc("241301000000Z")],
    ["hour 24", utc("240101240000Z")],
    ["second 60", utc("240101235960Z")],
    ["a year before 100", gen("00500101000000Z")],
    ["a UTCTime in a GeneralizedTime", gen("491231235959Z")],
    ["another tag", node(0x0c, text("491231235959Z"))],
    ["a control character", utc("49123123595\u0000Z")],
  ];
  for (const [name, n] of refused) {
    await t.step(name, () => assert.throws(() => decodeTime(n), DerError));
  }
});

function walk(n: DerNode, depth = 0): void {
  if (depth > 20 || !(n.tag & 0x20)) return;
  for (const child of derChildren(n)) walk(child, depth + 1);
}

Deno.test("the DER readers throw only DerError on random and garbled input", async (t) => {
  const rsa = generateKey("rsa-2048");
  const ec = generateKey("ec-P-384");
  const inputs: [string, Uint8Array, (der: Uint8Array) => unknown][] = [
    ["certificate", makeCert({ spki: spkiOf(ec.publicKey) }), (der) => {
      const cert = readCertificate(der);
      return subjectAttributes(cert.subject);
    }],
    [
      "PKCS#1 key",
      pemDer(rsa.pems["RSA PRIVATE KEY"]),
      (der) => readPrivateKey("RSA PRIVATE KEY", der),
    ],
    ["SEC1 key", pemDer(ec.pems["EC PRIVATE KEY"]), (der) => readPrivateKey("EC PRIVATE KEY", der)],
    ["PKCS#8 key", pemDer(ec.pems["PRIVATE KEY"]), (der) => readPrivateKey("PRIVATE KEY", der)],
    ["TLV walk", new Uint8Array(0), (der) => walk(readDer(der))],
  ];
  for (const [name, good, read] of inputs) {
    await t.step(name, () => {
      const rng = prng(name.length);
      let refused = 0;
      for (let n = 0; n < 2000; n++) {
        let der: Uint8Array;
        if (good.length === 0 || rng.chance(0.2)) {
          der = Uint8Array.from(
            { length: rng.int(64) },
            () => rng.pick([0x30, 0x31, 0x02, 0x80, 0x81, 0xa0, rng.int(256)]),
          );
        } else {
          der = good.slice(0, good.length - rng.int(3));
          for (let k = 1 + rng.int(3); k > 0; k--) der[rng.int(der.length)] = rng.int(256);
        }
        try {
          read(der);
        } catch (e) {
          refused++;
          assert.ok(e instanceof DerError, `${name} case ${n}: ${e}`);
        }
      }
      assert.ok(refused > 100, `only ${refused} inputs were refused`);
    });
  }
});
