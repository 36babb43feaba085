import assert from "node:assert/strict";
import { CliError } from "../../src/errors.ts";
import {
  bootstrapTokenId,
  decodeJwt,
  isBootstrapToken,
  TokenFormatError,
} from "../../src/jwt/decode.ts";
import { b64url, rawToken, tokenParts } from "./_tokens.ts";

const HEADER = b64url('{"alg":"RS256","kid":"k1"}');
const PAYLOAD = b64url('{"sub":"system:serviceaccount:default:my-sa","secretish":"s3cr3t-value"}');
const SIGNATURE = b64url(new Uint8Array([1, 2, 3, 250, 251, 252]));

Deno.test("decodeJwt() returns header, payload, signing input and signature bytes", () => {
  const token = `${HEADER}.${PAYLOAD}.${SIGNATURE}`;
  const decoded = decodeJwt(token);
  assert.deepEqual(decoded.header, { alg: "RS256", kid: "k1" });
  assert.equal(decoded.payload.sub, "system:serviceaccount:default:my-sa");
  assert.equal(decoded.signingInput, `${HEADER}.${PAYLOAD}`);
  assert.deepEqual([...decoded.signature], [1, 2, 3, 250, 251, 252]);
});

Deno.test("decodeJwt() ignores a trailing newline from a file or pipe", () => {
  const decoded = decodeJwt(`  ${HEADER}.${PAYLOAD}.${SIGNATURE}\n`);
  assert.equal(decoded.signingInput, `${HEADER}.${PAYLOAD}`);
});

Deno.test("decodeJwt() accepts an empty signature (alg none) and leaves refusing it to verify", () => {
  const decoded = decodeJwt(rawToken({ alg: "none" }, { sub: "x" }));
  assert.equal(decoded.header.alg, "none");
  assert.equal(decoded.signature.length, 0);
});

Deno.test("decodeJwt() decodes UTF-8 claims", () => {
  const decoded = decodeJwt(rawToken({ alg: "ES256" }, { name: "Zoë 😀" }, "AAAA"));
  assert.equal(decoded.payload.name, "Zoë 😀");
});

Deno.test("decodeJwt() rejects malformed tokens with one clear line", async (t) => {
  const cases: { name: string; token: string; message: string }[] = [
    {
      name: "an empty token",
      token: " \n",
      message: "Cannot decode token: the token is empty",
    },
    {
      name: "a two-segment token",
      token: `${HEADER}.${PAYLOAD}`,
      message: "Cannot decode token: expected 3 dot-separated segments, found 2",
    },
    {
      name: "a four-segment token",
      token: `${HEADER}.${PAYLOAD}.${SIGNATURE}.${SIGNATURE}`,
      message: "Cannot decode token: expected 3 dot-separated segments, found 4",
    },
    {
      name: "an encrypted (five-segment) token",
      token: `${HEADER}.${PAYLOAD}.${SIGNATURE}.${SIGNATURE}.${SIGNATURE}`,
      message:
        "Cannot decode token: expected 3 dot-separated segments, found 5 (an encrypted JWE token, which cannot be read)",
    },
    {
      name: "a bootstrap token",
      token: "abcdef.0123456789abcdef",
      message:
        "Cannot decode token: expected 3 dot-separated segments, found 2 (this is a bootstrap token, not a JWT)",
    },
    {
      name: "an empty header",
      token: `.${PAYLOAD}.${SIGNATURE}`,
      message: "Cannot decode token: the header segment is empty",
    },
    {
      name: "an empty payload",
      token: `${HEADER}..${SIGNATURE}`,
      message: "Cannot decode token: the payload segment is empty",
    },
    {
      name: "padded base64",
      token: `${HEADER}.${b64url('{"a":1}')}==.${SIGNATURE}`,
      message: 'Cannot decode token: the payload has base64 padding ("="), which JWTs do not use',
    },
    {
      name: "the standard base64 alphabet",
      token: `${HEADER}.${PAYLOAD}.ab+/cd`,
      message:
        'Cannot decode token: the signature is not base64url (only A-Z, a-z, 0-9, "-" and "_" are allowed)',
    },
    {
      name: "whitespace inside the token",
      token: `${HEADER}.${PAYLOAD.slice(0, 10)} ${PAYLOAD.slice(10)}.${SIGNATURE}`,
      message:
        'Cannot decode token: the payload is not base64url (only A-Z, a-z, 0-9, "-" and "_" are allowed)',
    },
    {
      name: "an impossible base64 length",
      token: `${HEADER}.${PAYLOAD}.abcde`,
      message: "Cannot decode token: the signature is not valid base64url (bad length)",
    },
    {
      name: "a header that is not JSON",
      token: `${b64url("{alg: RS256 s3cr3t-header}")}.${PAYLOAD}.${SIGNATURE}`,
      message: "Cannot decode token: the header is not valid JSON",
    },
    {
      name: "a payload that is a JSON array",
      token: `${HEADER}.${b64url('["s3cr3t-array"]')}.${SIGNATURE}`,
      message: "Cannot decode token: the payload is not a JSON object",
    },
    {
      name: "a payload that is JSON null",
      token: `${HEADER}.${b64url("null")}.${SIGNATURE}`,
      message: "Cannot decode token: the payload is not a JSON object",
    },
    {
      name: "a payload that is not UTF-8",
      token: `${HEADER}.${b64url(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))}.${SIGNATURE}`,
      message: "Cannot decode token: the payload is not valid UTF-8",
    },
    {
      name: "a header without alg",
      token: `${b64url('{"typ":"JWT"}')}.${PAYLOAD}.${SIGNATURE}`,
      message: 'Cannot decode token: the header has no "alg" field',
    },
    {
      name: "a header whose alg is not a string",
      token: `${b64url('{"alg":256}')}.${PAYLOAD}.${SIGNATURE}`,
      message: 'Cannot decode token: the header field "alg" is not a non-empty string',
    },
  ];
  for (const c of cases) {
    await t.step(`decodeJwt() rejects ${c.name}`, () => {
      const error = thrownBy(() => decodeJwt(c.token));
      assert.ok(error instanceof TokenFormatError);
      assert.ok(error instanceof CliError, "TokenFormatError is a CliError (exit code 1)");
      assert.equal(error.message, c.message);
    });
  }
});

Deno.test("decodeJwt() errors never contain the token or its decoded contents", async (t) => {
  const tokens = [
    `${HEADER}.${PAYLOAD}`,
    `${HEADER}.${PAYLOAD}.${SIGNATURE}.${SIGNATURE}`,
    `${b64url("{alg: RS256 s3cr3t-header}")}.${PAYLOAD}.${SIGNATURE}`,
    `${HEADER}.${b64url('{"sub": "s3cr3t-value"')}.${SIGNATURE}`,
    `${HEADER}.${b64url('["s3cr3t-array"]')}.${SIGNATURE}`,
    `${HEADER}.${PAYLOAD}.!!${SIGNATURE}`,
  ];
  for (const token of tokens) {
    await t.step(`for ${token.slice(0, 24)}…`, () => {
      const error = thrownBy(() => decodeJwt(token));
      const message = `${error.message} ${String(error.cause ?? "")}`;
      for (const part of tokenParts(token)) assert.ok(!message.includes(part), message);
      assert.ok(!message.includes("s3cr3t"), message);
    });
  }
});

Deno.test("isBootstrapToken() and bootstrapTokenId() recognise the bootstrap format", async (t) => {
  const cases: { token: string; id: string | undefined }[] = [
    { token: "abcdef.0123456789abcdef", id: "abcdef" },
    { token: "07401b.f395accd246ae52d\n", id: "07401b" },
    { token: "ABCDEF.0123456789abcdef", id: undefined },
    { token: "abcde.0123456789abcdef", id: undefined },
    { token: "abcdef.0123456789abcde", id: undefined },
    { token: "abcdef0123456789abcdef", id: undefined },
    { token: `${HEADER}.${PAYLOAD}.${SIGNATURE}`, id: undefined },
  ];
  for (const c of cases) {
    await t.step(JSON.stringify(c.token), () => {
      assert.equal(isBootstrapToken(c.token), c.id !== undefined);
      assert.equal(bootstrapTokenId(c.token), c.id);
    });
  }
});

function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail("expected an error");
}
