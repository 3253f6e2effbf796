import { describe, expect, it } from "vitest";
import { apiErrorText } from "./errors.js";

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
