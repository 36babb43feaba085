import assert from "node:assert/strict";
import { generateBootstrapToken } from "../../src/bootstrap/token.ts";

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
