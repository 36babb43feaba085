/**
 * certificateInterpretation() reads a client certificate's subject and notAfter from the DER
 * and leaves what it cannot render exactly as node:crypto does to node:crypto: on generated
 * subjects of every attribute type, string type and special character, and on every time
 * form, it must give what the node:crypto reading gives.
 */
import assert from "node:assert/strict";
import {
  certificateInterpretation,
  certificateInterpretationFromDer,
  certificateInterpretationWithNode,
} from "../../src/credential/interpret.ts";
import { oid, sequence, set, smallInteger, Tag, time, tlv } from "../apiserver/_der.ts";
import { generateKey, makeCert, plainName, prng, spkiOf, toPem } from "../encoding/_fixtures.ts";

const spki = spkiOf(generateKey("ec-P-256").publicKey);
const encoder = new TextEncoder();

const ATTRIBUTES = [
  "2.5.4.3", // CN
  "2.5.4.10", // O
  "2.5.4.11", // OU
  "2.5.4.6", // C
  "2.5.4.7", // L
  "2.5.4.8", // ST
  "2.5.4.5", // serialNumber
  "2.5.4.12", // title
  "1.2.840.113549.1.9.1", // emailAddress
  "0.9.2342.19200300.100.1.25", // DC
  "0.9.2342.19200300.100.1.1", // uid
  "1.2.3.4", // unknown to everyone
] as const;

const PIECES = [
  "alice",
  "system:masters",
  "dev",
  "a,b",
  "a+b=c",
  " lead",
  "trail ",
  "#hash",
  'q"uote',
  "back\\slash",
  "<>;",
  "\n",
  "\t",
  "\u0000",
  "é",
  "ü€",
  "日本",
  "😀",
  "",
  "OU=x",
  "CN=y",
];

type Rng = ReturnType<typeof prng>;

// deno-lint-ignore no-control-regex
const PRINTABLE = PIECES.filter((p) => !/[\u0000-\u001f]/.test(p));

function stringValue(rng: Rng): Uint8Array {
  const pool = rng.chance(0.7) ? PRINTABLE : PIECES;
  const text = Array.from({ length: 1 + rng.int(3) }, () => rng.pick(pool)).join("");
  const bytes = encoder.encode(text);
  switch (rng.int(12)) {
    case 0:
      return tlv(Tag.printableString, bytes);
    case 1:
      return tlv(Tag.ia5String, bytes);
    case 2:
      // Latin-1 bytes in a TeletexString: not always valid UTF-8.
      return tlv(Tag.t61String, Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff));
    case 3: {
      const ucs2 = new Uint8Array(text.length * 2);
      for (let i = 0; i < text.length; i++) {
        ucs2[2 * i] = text.charCodeAt(i) >> 8;
        ucs2[2 * i + 1] = text.charCodeAt(i) & 0xff;
      }
      return tlv(Tag.bmpString, ucs2);
    }
    case 4:
      return rng.chance(0.5) ? smallInteger(rng.int(1000)) : tlv(0x04, bytes);
    default:
      return tlv(Tag.utf8String, bytes);
  }
}

function attribute(rng: Rng): Uint8Array {
  // Mostly CN and O, as Kubernetes client certificates have them.
  const type = rng.chance(0.6) ? rng.pick(ATTRIBUTES.slice(0, 2)) : rng.pick(ATTRIBUTES);
  return sequence(oid(type), stringValue(rng));
}

function randomName(rng: Rng): Uint8Array {
  if (rng.chance(0.03)) return sequence();
  const rdns = Array.from(
    { length: 1 + rng.int(4) },
    () => rng.chance(0.08) ? set(attribute(rng), attribute(rng)) : set(attribute(rng)),
  );
  return sequence(...rdns);
}

const ascii = (text: string) => encoder.encode(text);

function randomTime(rng: Rng): Uint8Array {
  switch (rng.int(10)) {
    case 0:
      return tlv(Tag.generalizedTime, ascii(`${1000 + rng.int(9000)}0615123045Z`));
    case 1:
      return tlv(Tag.generalizedTime, ascii(`0${100 + rng.int(900)}0615123045Z`));
    case 2:
      return tlv(
        rng.chance(0.5) ? Tag.utcTime : Tag.generalizedTime,
        ascii(
          rng.pick([
            "3406151230Z",
            "340615123045+0100",
            "340230123045Z",
            "341315123045Z",
            "340615243045Z",
            "340615123060Z",
            "20340615123045.5Z",
            "20340615123045",
            "2034061512Z",
            "20340229000000Z",
            "20320229000000Z",
            "491231235959Z",
            "500101000000Z",
          ]),
        ),
      );
    default: {
      const at = new Date(
        Date.UTC(1950, 0, 1) + rng.int(100 * 365) * 86_400_000 + rng.int(86_400) * 1000,
      );
      return time(at);
    }
  }
}

async function compare(pem: string, context: string) {
  assert.deepEqual(
    await certificateInterpretation(pem),
    await certificateInterpretationWithNode(pem),
    context,
  );
}

Deno.test("certificateInterpretation() reads generated subjects and times as node:crypto does", async (t) => {
  for (const seed of [1, 2, 3, 4]) {
    await t.step(`seed ${seed}`, async () => {
      const rng = prng(seed);
      let read = 0;
      for (let n = 0; n < 400; n++) {
        const pem = toPem(
          makeCert({ spki, subject: randomName(rng), notAfter: randomTime(rng) }),
          "CERTIFICATE",
        );
        await compare(pem, `case ${n}: ${pem}`);
        if (certificateInterpretationFromDer(pem)) read++;
      }
      // Both paths are exercised: the DER reader decides a good share itself.
      assert.ok(read >= 50 && read <= 350, `the DER reader decided ${read} of 400`);
    });
  }
});

Deno.test("certificateInterpretationFromDer() reads the usual client certificate itself", async (t) => {
  const cases: [string, Uint8Array, string, string[]][] = [
    ["CN only", plainName("alice"), "CN=alice", []],
    ["O then CN, as Go writes them", plainName("alice", ["dev", "ops"]), "O=dev, O=ops, CN=alice", [
      "dev",
      "ops",
    ]],
    [
      "CN then O, non-ASCII, punctuation",
      sequence(
        set(sequence(oid("2.5.4.3"), tlv(Tag.printableString, ascii("bob")))),
        set(sequence(oid("2.5.4.10"), tlv(Tag.utf8String, encoder.encode("system:ünïcode, +=#")))),
        set(sequence(oid("2.5.4.6"), tlv(Tag.printableString, ascii("DE")))),
      ),
      "CN=bob, O=system:ünïcode, +=#, C=DE",
      ["system:ünïcode, +=#"],
    ],
  ];
  for (const [name, subject, parts, groups] of cases) {
    await t.step(name, async () => {
      const pem = toPem(makeCert({ spki, subject }), "CERTIFICATE");
      const ours = certificateInterpretationFromDer(pem);
      assert.deepEqual(ours, await certificateInterpretationWithNode(pem));
      assert.equal(ours?.label, `client certificate (${parts})`);
      assert.deepEqual(ours?.user?.groups, [...groups, "system:authenticated"]);
      assert.deepEqual(ours?.expiry, { kind: "at", at: new Date("2034-06-15T12:30:45Z") });
    });
  }
});

Deno.test("certificateInterpretation() leaves unusual certificates to node:crypto", async (t) => {
  const cert = toPem(makeCert({ spki }), "CERTIFICATE");
  const key = generateKey("ec-P-256").pems["EC PRIVATE KEY"];
  const der = (attributes: Uint8Array) =>
    toPem(makeCert({ spki, subject: attributes }), "CERTIFICATE");
  const cases: [string, string][] = [
    [
      "a multi-valued RDN",
      der(sequence(set(
        sequence(oid("2.5.4.3"), tlv(Tag.utf8String, ascii("a"))),
        sequence(oid("2.5.4.10"), tlv(Tag.utf8String, ascii("b"))),
      ))),
    ],
    ["an empty subject", der(sequence())],
    [
      "an unknown attribute",
      der(sequence(set(sequence(oid("1.2.3.4"), tlv(Tag.utf8String, ascii("v")))))),
    ],
    ["a newline in the CN", der(plainName("a\nO=b"))],
    [
      "a BMPString CN",
      der(sequence(set(sequence(oid("2.5.4.3"), tlv(Tag.bmpString, Uint8Array.of(0, 0x61)))))),
    ],
    ["a key before the certificate", key + cert],
    ["text before the certificate", "junk\n" + cert],
    [
      "trailing bytes after the certificate",
      toPem(Uint8Array.from([...makeCert({ spki }), 0]), "CERTIFICATE"),
    ],
    ["garbage", "garbage"],
  ];
  for (const [name, pem] of cases) {
    await t.step(name, async () => {
      // Text before the block is read by both; the rest is left to node:crypto.
      if (name !== "text before the certificate") {
        assert.equal(certificateInterpretationFromDer(pem), undefined);
      }
      await compare(pem, pem);
    });
  }
  await t.step("two certificates: the first one counts", async () => {
    const other = toPem(makeCert({ spki, subject: plainName("other") }), "CERTIFICATE");
    const ours = certificateInterpretationFromDer(cert + other);
    assert.equal(ours?.user?.username, "alice");
    await compare(cert + other, "two certificates");
  });
});
