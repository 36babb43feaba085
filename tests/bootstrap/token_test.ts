import assert from "node:assert/strict";
import { generateBootstrapToken } from "../../src/bootstrap/token.ts";
import { parseDaysFlag } from "../../src/flags/duration.ts";
import { UsageError } from "../../src/errors.ts";

Deno.test("generateBootstrapToken() returns an ID, a secret and both joined", () => {
  const { id, secret, token } = generateBootstrapToken();
  assert.match(id, /^[a-z0-9]{6}$/);
  assert.match(secret, /^[a-z0-9]{16}$/);
  assert.equal(token, `${id}.${secret}`);
});

Deno.test("generateBootstrapToken() uses every character about equally often", () => {
  // 2,000 tokens give 44,000 characters, about 1,222 of each of 36; modulo bias on bytes
  // would make the first 4 characters ~1.3 times as frequent as the others.
  const counts = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    for (const ch of generateBootstrapToken().token.replace(".", "")) {
      counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
  }
  assert.equal(counts.size, 36);
  for (const [ch, n] of counts) assert.ok(n > 1000 && n < 1450, `${ch}: ${n}`);
});

Deno.test("parseDaysFlag() accepts days before a Go duration", async (t) => {
  const cases: [string, number][] = [
    ["90d", 90 * 86_400_000],
    ["1d12h", 36 * 3_600_000],
    ["36h", 36 * 3_600_000],
    ["1h30m", 90 * 60_000],
  ];
  for (const [text, ms] of cases) {
    await t.step(text, () => assert.equal(parseDaysFlag("unused-for", text), ms));
  }
  for (const text of ["d", "90", "1.5d", "-1d", "ninety"]) {
    await t.step(`rejects ${text}`, () => {
      assert.throws(
        () => parseDaysFlag("unused-for", text),
        (e) => e instanceof UsageError && e.message.includes(`flag --unused-for`),
      );
    });
  }
});
Deno.test("generateBootstrapToken() makes distinct [a-z0-9]{6}.[a-z0-9]{16} tokens", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const t = generateBootstrapToken();
    assert.match(t.token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    assert.equal(t.token, `${t.id}.${t.secret}`);
    seen.add(t.token);
  }
  assert.equal(seen.size, 200);
});
