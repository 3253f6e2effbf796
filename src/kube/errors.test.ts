import { describe, expect, it } from "vitest";
import { apiFailure } from "./errors.js";

describe("apiFailure: a kind to group repeats by, and the API server's own message", () => {
  const status = (code: number, reason: string, message: string) =>
    JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code, reason, message });
  const long = `spec.violations: Invalid value: "null": ${"x".repeat(400)}`;
  it.each([
    [
      "a 422 Status body as a string (client-node's ApiException)",
      { code: 422, body: status(422, "Invalid", long), message: "HTTP-Code: 422 …" },
      { kind: "HTTP 422 Invalid", message: long },
    ],
    [
      "a parsed Status body",
      { code: 403, body: { reason: "Forbidden", message: "nope" } },
      { kind: "HTTP 403 Forbidden", message: "nope" },
    ],
    [
      "a body that is not JSON",
      { code: 502, body: "<html>bad gateway</html>" },
      { kind: "HTTP 502", message: "<html>bad gateway</html>" },
    ],
    [
      "a connection failure (fetch's errno in cause.code)",
      Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } }),
      { kind: "ECONNREFUSED", message: "fetch failed" },
    ],
    ["anything else", new RangeError("odd"), { kind: "RangeError", message: "odd" }],
  ])("%s", (_, err, expected) => {
    expect(apiFailure(err)).toEqual(expected);
  });
});
