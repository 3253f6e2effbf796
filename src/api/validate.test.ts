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
      "f.yaml:9:17: spec.thresholds.tcpStates.CLOSEWAIT: `spec.thresholds.tcpStates.CLOSEWAIT` is not a field; did you mean `spec.thresholds.tcpStates.CLOSE_WAIT`?",
    ],
    [
      "a misspelled section (which would check nothing)",
      `${head}  listners:\n    - port: 80\n`,
      "f.yaml:8:3: spec.listners: `spec.listners` is not a field; did you mean `spec.listeners`?",
    ],
    [
      "a misspelled field deep in a list, in another case",
      `${head}  egress:\n    - to:\n        - ipblock: {cidr: 10.0.0.0/8}\n`,
      "f.yaml:10:11: spec.egress[0].to[0].ipblock: `spec.egress[0].to[0].ipblock` is not a field; did you mean `spec.egress[0].to[0].ipBlock`?",
    ],
    [
      "a misspelled top-level field",
      head.replace("spec:", "sepc:"),
      "f.yaml:6:1: sepc: `sepc` is not a field; did you mean `spec`?",
    ],
    [
      "an unknown field with no near name: the fields that exist",
      `${head}  ingress:\n    - to: [{entity: world}]\n`,
      "f.yaml:9:7: spec.ingress[0].to: `spec.ingress[0].to` is not a field; the fields here are `from`, `ports`",
    ],
    [
      "a bad expiry",
      `${head}  exceptions:\n    - {rule: UnexpectedEgress, reason: x, expires: tomorrow}\n`,
      'spec.exceptions[0].expires: got "tomorrow"; expected an RFC 3339 time such as 2026-12-31T00:00:00Z',
    ],
    [
      "an expiry that Date.parse reads as the year 2000",
      `${head}  exceptions:\n    - {rule: UnexpectedEgress, reason: x, expires: "0"}\n`,
      'f.yaml:9:52: spec.exceptions[0].expires: got "0"; expected an RFC 3339 time such as 2026-12-31T00:00:00Z (a date, T, a time with seconds, then Z or an offset such as +02:00)',
    ],
    [
      "an expiry on a day that does not exist",
      `${head}  exceptions:\n    - {rule: UnexpectedEgress, reason: x, expires: "2026-02-30T00:00:00Z"}\n`,
      'spec.exceptions[0].expires: got "2026-02-30T00:00:00Z"; 2026-02-30 is not a date: February 2026 has 28 days; expected an RFC 3339 time',
    ],
    [
      "an expiry that is a date only, and not a date",
      `${head}  exceptions:\n    - {rule: UnexpectedEgress, reason: x, expires: "2026-02-30"}\n`,
      'got "2026-02-30"; 2026-02-30 is not a date: February 2026 has 28 days',
    ],
    [
      "an expiry that is a date only",
      `${head}  exceptions:\n    - {rule: UnexpectedEgress, reason: x, expires: "2026-03-31"}\n`,
      'got "2026-03-31"; a date without a time; expected an RFC 3339 time such as 2026-03-31T00:00:00Z',
    ],
    [
      "an expiry at hour 25",
      `${head}  exceptions:\n    - {rule: UnexpectedEgress, reason: x, expires: "2026-03-31T25:00:00Z"}\n`,
      'got "2026-03-31T25:00:00Z"; 25:00:00 is not a time of day',
    ],
    [
      "a duration of 10^20 days",
      `${head}  learning: {duration: 99999999999999999999d}\n`,
      'f.yaml:8:24: spec.learning.duration: got "99999999999999999999d"; 99999999999999999999d is longer than 365d; expected a duration of at most 365d',
    ],
    [
      "a duration a day over the bound",
      `${head}  learning: {duration: 365d24h}\n`,
      'spec.learning.duration: got "365d24h"; 365d24h is longer than 365d',
    ],
    [
      "a duration in words",
      `${head}  learning: {duration: a day}\n`,
      'spec.learning.duration: got "a day"; expected a duration such as 30s, 10m, 24h, 7d or 1h30m',
    ],
    [
      "a CIDR with host bits set",
      `${head}  egress:\n    - to:\n        - ipBlock: {cidr: 10.1.2.3/8}\n`,
      'f.yaml:10:27: spec.egress[0].to[0].ipBlock.cidr: got "10.1.2.3/8"; 10.1.2.3/8 has host bits set: /8 selects the network 10.0.0.0/8; write 10.0.0.0/8, or 10.1.2.3/32 for the one address',
    ],
    [
      "an except with host bits set",
      `${head}  ingress:\n    - from:\n        - ipBlock: {cidr: 10.0.0.0/8, except: [10.96.7.1/12]}\n`,
      'spec.ingress[0].from[0].ipBlock.except[0]: got "10.96.7.1/12"; 10.96.7.1/12 has host bits set: /12 selects the network 10.96.0.0/12',
    ],
    [
      "an IPv6 CIDR with host bits set",
      `${head}  egress:\n    - to:\n        - ipBlock: {cidr: "fd00::1/8"}\n`,
      "fd00::1/8 has host bits set: /8 selects the network fd00::/8; write fd00::/8, or fd00::1/128 for the one address",
    ],
    [
      "an exception address with host bits set",
      `${head}  exceptions:\n    - {rule: UnexpectedEgress, reason: x, address: 203.0.113.9/24}\n`,
      'spec.exceptions[0].address: got "203.0.113.9/24"; 203.0.113.9/24 has host bits set: /24 selects the network 203.0.113.0/24',
    ],
    [
      "an exception address that is no address (it would never match)",
      `${head}  exceptions:\n    - {rule: UnexpectedEgress, reason: x, address: db.example.com}\n`,
      'spec.exceptions[0].address: got "db.example.com"; expected an IP address or a CIDR such as 203.0.113.9 or 203.0.113.0/24',
    ],
    [
      "a document without metadata.name",
      "apiVersion: socklens.io/v1alpha1\nkind: NetworkBaseline\nmetadata: {namespace: shop}\nspec: {podSelector: {}}\n",
      "f.yaml:3:11: metadata.name: missing; every NetworkBaseline needs a name, e.g. metadata: {name: web, namespace: shop}",
    ],
    [
      "a name the API server would refuse",
      head.replace("name: web", "name: Web_1"),
      'f.yaml:4:9: metadata.name: got "Web_1"; expected a lowercase RFC 1123 name',
    ],
    [
      "a selector with more labels than the CRD allows",
      `${head.replace("podSelector: {}", `podSelector: {matchLabels: {${Array.from({ length: 65 }, (_, i) => `l${i}: v`).join(", ")}}}`)}`,
      "spec.podSelector.matchLabels: got {",
    ],
    [
      "an empty file",
      "",
      "f.yaml: (file): the file holds no document (it is empty or only comments); expected at least one NetworkBaseline",
    ],
    [
      "a file of comments and empty documents",
      "# nothing here\n---\n---\n",
      "f.yaml: (file): the file holds no document",
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

  it.each([
    ["the longest duration", `${head}  learning: {duration: 365d}\n`],
    [
      "a leap day",
      `${head}  exceptions:\n    - {rule: UnexpectedEgress, reason: x, expires: "2028-02-29T23:59:59+02:00"}\n`,
    ],
    ["a host address as a /32", `${head}  egress:\n    - to:\n        - ipBlock: {cidr: 10.1.2.3/32}\n`],
    [
      "an exception for one address",
      `${head}  exceptions:\n    - {rule: UnexpectedEgress, reason: x, address: "2001:db8::1"}\n`,
    ],
    [
      "status from the server (unknown metadata fields pass)",
      `${head.replace("metadata:\n", "metadata:\n  uid: x\n  managedFields: []\n")}`,
    ],
  ])("accepts %s", (_n, text) => {
    const r = validateBaselines(text, "f.yaml");
    expect(r.problems.map(formatProblem)).toEqual([]);
    expect(r.baselines).toHaveLength(1);
  });

  it("lists problems of one document in the order of the file", () => {
    const r = validateBaselines(`${head}  listners: []\n  mode: Watch\n  egres: []\n`, "f.yaml");
    expect(r.problems.map((p) => p.path)).toEqual(["spec.listners", "spec.mode", "spec.egres"]);
  });

  it("reports each document of a multi-document file on its own lines", () => {
    const r = validateBaselines(`${head}---\n${head}  mode: Nope\n`, "multi.yaml");
    expect(r.baselines).toHaveLength(1);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]?.line).toBe(16);
  });
});
