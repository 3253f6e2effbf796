import { describe, expect, it } from "vitest";
import { apiErrorText, apiFailure } from "./errors.js";

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

describe("apiErrorText", () => {
  it("gives the API server's Status message, not the JSON around it", () => {
    const message = `networkobservations.socklens.io "web.n2" is forbidden: ValidatingAdmissionPolicy 'sl-socklens-agent-node-scope' with binding 'sl-socklens-agent-node-scope' denied request: socklens agent on node n1 may only write NetworkObservations of node n1, not n2`;
    const body = JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message, code: 403 });
    expect(apiErrorText({ code: 403, body })).toBe(`HTTP 403: ${message}`);
  });

  it("keeps a body that is not a Status, cut to 500 characters, and an error without a body", () => {
    expect(apiErrorText({ code: 502, body: "bad gateway" })).toBe("HTTP 502: bad gateway");
    expect(apiErrorText({ code: 500, body: "x".repeat(2000) })).toHaveLength("HTTP 500: ".length + 500);
    expect(apiErrorText(new Error("connect ECONNREFUSED"))).toBe("connect ECONNREFUSED");
  });
});
