import assert from "node:assert/strict";
import {
  decodeBase64,
  decodeBase64Url,
  encodeBase64,
  encodeBase64Url,
} from "../../src/encoding/base64.ts";

const bytes = (...b: number[]) => new Uint8Array(b);

Deno.test("encodeBase64() and decodeBase64() follow RFC 4648 section 10", async (t) => {
  const cases: [string, string][] = [
    ["", ""],
    ["f", "Zg=="],
    ["fo", "Zm8="],
    ["foo", "Zm9v"],
    ["foob", "Zm9vYg=="],
    ["fooba", "Zm9vYmE="],
    ["foobar", "Zm9vYmFy"],
  ];
  for (const [text, b64] of cases) {
    await t.step(JSON.stringify(text), () => {
      assert.equal(encodeBase64(text), b64);
      assert.equal(encodeBase64(new TextEncoder().encode(text)), b64);
      assert.equal(new TextDecoder().decode(decodeBase64(b64)), text);
    });
  }
});

Deno.test("encodeBase64() encodes strings as UTF-8, not Latin-1", () => {
  assert.equal(encodeBase64("ü€"), "w7zigqw=");
  assert.equal(new TextDecoder().decode(decodeBase64("w7zigqw=")), "ü€");
});

Deno.test("encodeBase64() encodes every byte value and long inputs", () => {
  const all = Uint8Array.from({ length: 256 * 400 }, (_, i) => i % 256);
  assert.deepEqual(decodeBase64(encodeBase64(all)), all);
  assert.equal(encodeBase64(bytes(0xfb, 0xff)), "+/8=");
});

Deno.test("decodeBase64() ignores line breaks and rejects other characters", () => {
  assert.deepEqual(decodeBase64("Zm9v\r\nYmFy\n"), new TextEncoder().encode("foobar"));
  assert.throws(() => decodeBase64("Zm9v!"));
  assert.throws(() => decodeBase64("Zm9vY"));
});

Deno.test("encodeBase64Url() and decodeBase64Url() use the URL alphabet without padding", () => {
  assert.equal(encodeBase64Url(bytes(0xfb, 0xff)), "-_8");
  assert.equal(encodeBase64Url('{"alg":"RS256"}'), "eyJhbGciOiJSUzI1NiJ9");
  assert.deepEqual(decodeBase64Url("-_8"), bytes(0xfb, 0xff));
  assert.deepEqual(decodeBase64Url("-_8="), bytes(0xfb, 0xff));
  assert.throws(() => decodeBase64Url("+/8"));
});
