import assert from "node:assert/strict";
import { ApiError, wrapApiError } from "../../src/api/errors.ts";

Deno.test("wrapApiError() returns a new ApiError that says the action first and keeps the rest", () => {
  const original = new ApiError('secrets "x" is forbidden', {
    code: 403,
    reason: "Forbidden",
    retryAfterSeconds: 2,
    detail: "body",
  });
  const wrapped = wrapApiError(original, 'Cannot read Secret "ns/x"');
  assert.ok(wrapped instanceof ApiError);
  assert.notEqual(wrapped, original);
  assert.equal(wrapped.message, 'Cannot read Secret "ns/x": secrets "x" is forbidden');
  assert.equal(wrapped.code, 403);
  assert.equal(wrapped.reason, "Forbidden");
  assert.equal(wrapped.retryAfterSeconds, 2);
  assert.equal(wrapped.detail, "body");
  assert.equal(wrapped.cause, original);
  assert.equal(original.message, 'secrets "x" is forbidden');
});

Deno.test("wrapApiError() explains a status code when told how", async (t) => {
  const byCode = { 404: "it does not exist" };
  await t.step("a listed code", () => {
    const e = wrapApiError(new ApiError("not found", { code: 404 }), "Cannot revoke x", { byCode });
    assert.equal((e as ApiError).message, "Cannot revoke x: it does not exist");
  });
  await t.step("another code", () => {
    const e = wrapApiError(new ApiError("conflict", { code: 409 }), "Cannot revoke x", { byCode });
    assert.equal((e as ApiError).message, "Cannot revoke x: conflict");
  });
});

Deno.test("wrapApiError() adds a hint after the reason", () => {
  const e = wrapApiError(new ApiError("forbidden", { code: 403 }), "Cannot list namespaces", {
    hint: "name one with -n",
  });
  assert.equal((e as ApiError).message, "Cannot list namespaces: forbidden; name one with -n");
});

Deno.test("wrapApiError() passes anything but an ApiError through unchanged", () => {
  const other = new TypeError("boom");
  assert.equal(wrapApiError(other, "Cannot do it"), other);
  assert.equal(wrapApiError("text", "Cannot do it"), "text");
});
