import { describe, expect, it } from "vitest";
import { formatProblem, validateBaselines } from "./validate.js";

const head =
  "apiVersion: socklens.io/v1alpha1\nkind: NetworkBaseline\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  podSelector: {}\n";

describe("validateBaselines", () => {
  it.each([
    [
      "an unknown mode",
      `${head}  mode: Watch\n`,
      'f.yaml:8:9: spec.mode: got "Watch"; expected one of "Learn", "Alert"',
    ],
    [
      "a port out of range",
      `${head}  listeners:\n    - port: 70000\n`,
      "f.yaml:9:13: spec.listeners[0].port:",
    ],
    [
      "a bad CIDR",
      `${head}  egress:\n    - to:\n        - ipBlock: {cidr: 10.0.0.0/33}\n`,
      'f.yaml:10:27: spec.egress[0].to[0].ipBlock.cidr: got "10.0.0.0/33"; must be a CIDR such as 10.0.0.0/8 or fd00::/8',
    ],
    [
      "an IPv6 CIDR the pattern lets through",
      `${head}  egress:\n    - to:\n        - ipBlock: {cidr: "fd00::1::2/64"}\n`,
      'spec.egress[0].to[0].ipBlock.cidr: "fd00::1::2/64" is not a CIDR',
    ],
    [
      "an except outside its cidr",
      `${head}  egress:\n    - to:\n        - ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}\n`,
      "spec.egress[0].to[0].ipBlock.except[0]: 192.168.0.0/16 is not inside 10.0.0.0/8",
    ],
    [
      "endPort below port",
      `${head}  ingress:\n    - ports: [{port: 9000, endPort: 8000}]\n`,
      "spec.ingress[0].ports[0].endPort: endPort 8000 is below port 9000; expected endPort >= port",
    ],
    [
      "two peer kinds in one peer",
      `${head}  egress:\n    - to:\n        - {ipBlock: {cidr: 10.0.0.0/8}, entity: world}\n`,
      "spec.egress[0].to[0]: a peer is exactly one of",
    ],
    [
      "a listener address that is not an IP",
      `${head}  listeners:\n    - {port: 80, address: localhost}\n`,
      'spec.listeners[0].address: got "localhost"; must be an IP address',
    ],
    [
      "a misspelled TCP state",
      `${head}  thresholds:\n    tcpStates: {CLOSEWAIT: 3}\n`,
      'spec.thresholds.tcpStates: unknown field(s) "CLOSEWAIT"',
    ],
    [
      "a bad expiry",
      `${head}  exceptions:\n    - {rule: UnexpectedEgress, reason: x, expires: tomorrow}\n`,
      'spec.exceptions[0].expires: got "tomorrow"; expected an RFC 3339 time',
    ],
    [
      "missing spec",
      "apiVersion: socklens.io/v1alpha1\nkind: NetworkBaseline\nmetadata: {name: x}\n",
      "f.yaml:1:1: spec: missing; expected object",
    ],
    ["broken YAML", "kind: [\n", "f.yaml:2:1: (yaml):"],
  ])("%s", (_n, text, expected) => {
    const r = validateBaselines(text, "f.yaml");
    expect(r.baselines).toEqual([]);
    expect(r.problems.map(formatProblem).join("\n")).toContain(expected);
  });

  it("reports each document of a multi-document file on its own lines", () => {
    const r = validateBaselines(`${head}---\n${head}  mode: Nope\n`, "multi.yaml");
    expect(r.baselines).toHaveLength(1);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]?.line).toBe(16);
  });
});
