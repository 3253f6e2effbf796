import { describe, expect, it } from "vitest";
import { z } from "zod";
import { editDistance, nearest, unknownFields } from "./unknown-fields.js";
import { NetworkBaseline } from "./v1alpha1/networkbaseline.js";

type Path = (string | number)[];

/** Every object schema reachable from `schema`, with a path that reaches it in a document. */
function objectsOf(schema: z.ZodType, path: Path, out: { path: Path; schema: z.ZodObject }[]): void {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodNullable)
    objectsOf(schema.def.innerType as z.ZodType, path, out);
  else if (schema instanceof z.ZodArray) objectsOf(schema.element as z.ZodType, [...path, 0], out);
  else if (schema instanceof z.ZodUnion)
    for (const o of schema.options as z.ZodType[]) objectsOf(o, path, out);
  else if (schema instanceof z.ZodObject) {
    out.push({ path, schema });
    for (const [k, v] of Object.entries(schema.shape as Record<string, z.ZodType>))
      objectsOf(v, [...path, k], out);
  }
}

/** The smallest document that holds `leaf` at `path`. */
function documentWith(path: Path, leaf: unknown): unknown {
  let v = leaf;
  for (let i = path.length - 1; i >= 0; i--)
    v = typeof path[i] === "number" ? [v] : { [path[i] as string]: v };
  return v;
}

describe("unknown fields, from the schema's own shapes", () => {
  const objects: { path: Path; schema: z.ZodObject }[] = [];
  objectsOf(NetworkBaseline, [], objects);
  const strict = objects.filter(
    (o) => !(o.schema.def.catchall && !(o.schema.def.catchall instanceof z.ZodNever)),
  );

  it("reaches every object of NetworkBaseline (spec, rules, peers, selectors, status…)", () => {
    const paths = strict.map((o) => o.path.join("."));
    for (const p of [
      "",
      "spec",
      "spec.podSelector",
      "spec.podSelector.matchExpressions.0",
      "spec.egress.0.to.0.ipBlock",
      "spec.egress.0.to.0.service",
      "spec.ingress.0.ports.0",
      "spec.thresholds.tcpStates",
      "spec.learning",
      "spec.exceptions.0",
      "status.learned.egress.0.peer",
      "status.conditions.0",
    ])
      expect(paths).toContain(p);
    // metadata is loose by design: a server's object carries uid, managedFields, …
    expect(objects.map((o) => o.path.join("."))).toContain("metadata");
    expect(paths).not.toContain("metadata");
  });

  it("names the field meant for a one-letter slip of every field of every object", () => {
    let checked = 0;
    for (const { path, schema } of strict) {
      for (const key of Object.keys(schema.shape)) {
        const typo = `${key}${key.at(-1)}`; // listeners → listenerss
        const found = unknownFields(NetworkBaseline, documentWith([...path, typo], 1));
        expect(found, `${[...path, typo].join(".")}`).toEqual([
          { path: [...path, typo], suggestion: key, known: Object.keys(schema.shape) },
        ]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(80);
  });

  it("takes a map's keys as data, and a loose object's unknown keys as allowed", () => {
    const doc = {
      metadata: { name: "web", managedFields: [], uid: "u" },
      spec: { podSelector: { matchLabels: { "app.kubernetes.io/listeners": "x" } } },
      status: { violations: { total: 1, byRule: { Anything: 1 } } },
    };
    expect(unknownFields(NetworkBaseline, doc)).toEqual([]);
  });

  it("never throws on values of the wrong type", () => {
    for (const v of [
      null,
      1,
      "x",
      [],
      { spec: 1 },
      { spec: { egress: "x" } },
      { spec: { egress: [null, 1] } },
    ])
      expect(() => unknownFields(NetworkBaseline, v)).not.toThrow();
  });
});

describe("nearest", () => {
  it.each([
    ["listners", ["podSelector", "mode", "listeners", "egress"], "listeners"],
    ["podselector", ["podSelector", "namespaceSelector"], "podSelector"],
    ["CLOSEWAIT", ["CLOSE_WAIT", "TIME_WAIT", "CLOSE"], "CLOSE_WAIT"],
    ["egrses", ["egress", "ingress"], "egress"], // a swap is one edit
    ["endport", ["port", "endPort", "protocol"], "endPort"],
    ["to", ["from", "ports"], undefined],
    ["x", ["mode"], undefined],
    ["mode", ["mode"], "mode"],
  ])("%s → %s", (key, known, want) => {
    expect(nearest(key, known)).toBe(want);
  });

  it("stops early on long keys", () => {
    expect(editDistance("a".repeat(100_000), "listeners", 3)).toBe(4);
  });
});
