// Status codes and bodies to typed errors (no server needed: the mapping itself).
import assert from "node:assert/strict";
import { test } from "node:test";
import { AccessDenied, BadRequest, errorFromResponse, NotFound, SidecacheError, Throttled, Timeout, UpstreamUnavailable } from "sidecache";

const cases = [
  [400, "UnknownParameter", BadRequest],
  [403, "InvalidToken", AccessDenied],
  [404, "ParameterNotFound", NotFound],
  [429, "ThrottlingException", Throttled],
  [502, "UpstreamUnreachable", UpstreamUnavailable],
  [503, "ServiceUnavailable", UpstreamUnavailable],
  [504, "UpstreamTimeout", Timeout],
  [507, "InsufficientStorage", SidecacheError],
];

for (const [status, type, Expected] of cases) {
  test(`status ${status} is ${Expected.name}`, () => {
    const error = errorFromResponse(status, JSON.stringify({ __type: type, message: "m" }));
    assert.equal(error.constructor, Expected);
    assert.ok(error instanceof SidecacheError && error instanceof Error);
    assert.equal(error.status, status);
    assert.equal(error.errorType, type);
    assert.equal(error.detail, "m");
    assert.equal(error.name, Expected.name);
  });
}

test("a body that is not JSON still gives a typed error", () => {
  const error = errorFromResponse(502, "<html>Bad Gateway</html>");
  assert.ok(error instanceof UpstreamUnavailable);
  assert.equal(error.errorType, "HTTP502");
});
