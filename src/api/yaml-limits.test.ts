import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { aliasBombUnderTheAliasLimit, billionLaughs } from "../../test/unit/hostile-yaml.js";
import { formatProblem, validateBaselines } from "./validate.js";
import { DEFAULT_YAML_LIMITS } from "./yaml-limits.js";

const head =
  "apiVersion: socklens.io/v1alpha1\nkind: NetworkBaseline\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  podSelector: {}\n";

const problemsOf = (text: string, limits = DEFAULT_YAML_LIMITS) => {
  const r = validateBaselines(text, "f.yaml", limits);
  expect(r.baselines).toEqual([]);
  return r.problems.map(formatProblem);
};

describe("YAML limits, enforced before expansion", () => {
  it.each([
    [
      "a billion laughs",
      billionLaughs(),
      "f.yaml:6:11: (yaml): aliases expand the document to more than 100000 nodes; the limit is 100000",
    ],
    [
      "an alias bomb under yaml's alias limit",
      aliasBombUnderTheAliasLimit(),
      "f.yaml:2:302: (yaml): aliases expand the document to more than 100000 nodes; the limit is 100000",
    ],
    [
      "a recursive alias",
      "a: &a [1, *a]\n",
      "f.yaml:1:11: (yaml): alias *a refers to a node that contains it (a recursive alias)",
    ],
    [
      "101 aliases",
      `a: &a 1\nb: [${Array(101).fill("*a").join(", ")}]\n`,
      "(yaml): more than 100 aliases in one document; the limit is 100",
    ],
    [
      "deep flow nesting",
      `a: ${"[".repeat(100)}${"]".repeat(100)}\n`,
      "f.yaml:1:66: (yaml): nested more than 64 levels deep; the limit is 64",
    ],
    [
      "deep compact sequences",
      `${"- ".repeat(100)}x\n`,
      "f.yaml:1:127: (yaml): nested more than 64 levels deep; the limit is 64",
    ],
    [
      "deep indentation",
      Array.from({ length: 70 }, (_, i) => `${" ".repeat(i)}k:`).join("\n"),
      "(yaml): nested more than 64 levels deep; the limit is 64",
    ],
    [
      "aliases that nest past the depth limit",
      `a: &a ${"[".repeat(45)}1${"]".repeat(45)}\nb: ${"[".repeat(25)}*a${"]".repeat(25)}\n`,
      "(yaml): aliases nest the document more than 64 levels deep; the limit is 64",
    ],
    [
      "too many nodes",
      "- 1\n".repeat(60_000),
      "(yaml): more than 100000 YAML nodes in the file; the limit is 100000",
    ],
    [
      "a duplicate key",
      `${head}  mode: Alert\n  mode: Learn\n`,
      'f.yaml:9:3: (yaml): map keys must be unique: "mode" appears twice',
    ],
  ])("%s", (_name, text, expected) => {
    expect(problemsOf(text).join("\n")).toContain(expected);
  });

  it("a file over the size limit is refused without parsing, naming the limit", () => {
    const text = `${head}# ${"x".repeat(200)}\n`;
    expect(problemsOf(text, { ...DEFAULT_YAML_LIMITS, maxBytes: 100 })).toEqual([
      `f.yaml: (yaml): the file is ${text.length} bytes; the limit is 100 bytes (SOCKLENS_MAX_YAML_BYTES sets another)`,
    ]);
  });

  it("ignores brackets, dashes and colons inside quotes and comments", () => {
    const noise = `"${"[".repeat(60)}" # ${"{".repeat(200)}`;
    const r = validateBaselines(`${head}  listeners:\n    - port: 80\n      process: ${noise}\n`, "f.yaml");
    expect(r.problems).toEqual([]);
    expect(r.baselines[0]?.baseline.spec.listeners?.[0]?.process).toBe("[".repeat(60));
  });

  it("lets the largest baseline the schema allows through: 16 rules of 32 peers and 16 ports each way", () => {
    const rules = (dir: string, key: string) => {
      let text = `  ${dir}:\n`;
      for (let r = 0; r < 16; r++) {
        text += `    - ${key}:\n`;
        for (let p = 0; p < 32; p++)
          text += `        - podSelector: {matchLabels: {app: a${p}}, matchExpressions: [{key: tier, operator: In, values: [x, y]}]}\n`;
        text += "      ports:\n";
        for (let p = 0; p < 16; p++)
          text += `        - {port: ${1000 + p}, endPort: ${2000 + p}, protocol: TCP}\n`;
      }
      return text;
    };
    const r = validateBaselines(`${head}${rules("egress", "to")}${rules("ingress", "from")}`, "big.yaml");
    expect(r.problems).toEqual([]);
    expect(r.baselines[0]?.baseline.spec.egress).toHaveLength(16);
  });

  it("counts the pairs of a one-line flow map as siblings, not levels: 64 labels pass", () => {
    const labels = Array.from({ length: 64 }, (_, i) => `l${i}: v`).join(", ");
    const r = validateBaselines(
      head.replace("podSelector: {}", `podSelector: {matchLabels: {${labels}}}`),
      "f.yaml",
    );
    expect(r.problems).toEqual([]);
    expect(Object.keys(r.baselines[0]?.baseline.spec.podSelector.matchLabels ?? {})).toHaveLength(64);
  });

  it("never throws, whatever the text (property)", () => {
    const yamlish = fc.array(
      fc.constantFrom(
        "- ",
        "? ",
        ": ",
        "[",
        "]",
        "{",
        "}",
        ",",
        "&a ",
        "*a",
        "\n",
        "  ",
        "'",
        '"',
        "#",
        "x",
        "|",
        "---\n",
      ),
      { maxLength: 200 },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          yamlish.map((a) => a.join("")),
        ),
        (text) => {
          validateBaselines(text, "f.yaml");
        },
      ),
      { numRuns: 500 },
    );
  });
});
