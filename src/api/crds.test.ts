/** The generated CRDs: not stale, structurally valid, and the samples fit them. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { renderChartCrdTemplates, renderCrdFiles } from "./crds.js";
import { NetworkBaseline } from "./v1alpha1/networkbaseline.js";
import { validateBaselines } from "./validate.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("crds/ and the chart's CRD templates are generated from the zod schemas", () => {
  it.each(Object.entries(renderCrdFiles()))(
    "crds/%s is up to date (run `npm run gen` if not)",
    (file, text) => {
      expect(readFileSync(join(root, "crds", file), "utf8")).toBe(text);
    },
  );
  it.each(Object.entries(renderChartCrdTemplates()))(
    "charts/socklens/templates/crds/%s is up to date",
    (file, text) => {
      expect(readFileSync(join(root, "charts", "socklens", "templates", "crds", file), "utf8")).toBe(text);
    },
  );
});

type Node = Record<string, unknown>;

/** The structural-schema rules of apiextensions.k8s.io/v1 that a generator can get wrong. */
function structuralProblems(node: Node, path: string, out: string[]): void {
  const intOrString = node["x-kubernetes-int-or-string"] === true;
  if (!intOrString && node.type === undefined && !node["x-kubernetes-preserve-unknown-fields"])
    out.push(`${path}: no type`);
  if (intOrString && node.type !== undefined) out.push(`${path}: int-or-string with a type`);
  for (const k of ["anyOf", "oneOf", "allOf", "not", "$ref", "$schema", "definitions", "$defs"])
    if (k in node) out.push(`${path}: ${k}`);
  if (node.properties && node.additionalProperties !== undefined)
    out.push(`${path}: properties with additionalProperties`);
  for (const [k, v] of Object.entries((node.properties as Record<string, Node>) ?? {}))
    structuralProblems(v, `${path}.${k}`, out);
  if (node.items) structuralProblems(node.items as Node, `${path}[]`, out);
  if (typeof node.additionalProperties === "object")
    structuralProblems(node.additionalProperties as Node, `${path}{}`, out);
}

describe("CRD objects", () => {
  const crds = Object.fromEntries(Object.entries(renderCrdFiles()).map(([f, t]) => [f, parse(t) as Node]));

  it.each(Object.keys(crds))("%s is an apiextensions.k8s.io/v1 CRD with a structural schema", (file) => {
    const crd = crds[file] as Node;
    expect(crd.apiVersion).toBe("apiextensions.k8s.io/v1");
    expect(crd.kind).toBe("CustomResourceDefinition");
    const spec = crd.spec as Node;
    expect(spec.group).toBe("socklens.io");
    expect(spec.scope).toBe("Namespaced");
    const [version] = spec.versions as Node[];
    expect(version).toMatchObject({ name: "v1alpha1", served: true, storage: true });
    const schema = ((version as Node).schema as Node).openAPIV3Schema as Node;
    const problems: string[] = [];
    structuralProblems(schema, "", problems);
    expect(problems).toEqual([]);
  });

  it("NetworkBaseline: names, status subresource and the printer columns kubectl shows", () => {
    const crd = crds["socklens.io_networkbaselines.yaml"] as Node;
    const spec = crd.spec as Node;
    expect(spec.names).toMatchObject({
      kind: "NetworkBaseline",
      plural: "networkbaselines",
      shortNames: ["nbl"],
      categories: ["socklens"],
    });
    const [version] = spec.versions as Node[];
    expect(version?.subresources).toEqual({ status: {} });
    const columns = (version as Node).additionalPrinterColumns as { name: string; priority?: number }[];
    expect(columns.filter((c) => !c.priority).map((c) => c.name.toUpperCase())).toEqual([
      "MODE",
      "PODS",
      "VIOLATIONS",
      "LAST-VIOLATION",
      "READY",
      "AGE",
    ]);
    // `kubectl get nbl -o wide` adds the priority-1 columns after those.
    expect(columns.filter((c) => c.priority === 1).map((c) => c.name.toUpperCase())).toEqual([
      "LEARNING",
      "VIOLATING",
      "GENERATION",
      "OBSERVED-GENERATION",
    ]);
  });

  it("carries CEL rules where they give a better error than a webhook", () => {
    const text = renderCrdFiles()["socklens.io_networkbaselines.yaml"] as string;
    // CIDRs are checked by pattern, not isCIDR(): see CIDR_PATTERN on why.
    expect(text).toContain("pattern: ^((((25[0-5]");
    expect(text).toContain("self.endPort >= self.port");
    expect(text).toContain("a peer is exactly one of");
  });
});

/**
 * Fields without a description: `kubectl explain` shows `<empty>` for them. Every field (a
 * property) and the object itself must say what it is; list items and map values are
 * explained by the field that holds them.
 */
function undescribed(node: Node, path: string, out: string[]): void {
  if (typeof node.description !== "string" || node.description.trim() === "") out.push(path || "(the kind)");
  const visit = (child: Node, at: string) => {
    // A CRD's metadata may carry nothing but its type (the API server says so); kubectl
    // explain shows ObjectMeta's description for it.
    for (const [k, v] of Object.entries((child.properties as Record<string, Node>) ?? {}))
      if (!(at === "" && k === "metadata")) undescribed(v, `${at}.${k}`, out);
    if (child.items) visit(child.items as Node, `${at}[]`);
    if (typeof child.additionalProperties === "object") visit(child.additionalProperties as Node, `${at}{}`);
  };
  visit(node, path);
}

describe("descriptions, for kubectl explain", () => {
  it.each(Object.entries(renderCrdFiles()))(
    "%s: metadata is only {type: object}, as the API server requires",
    (_file, text) => {
      const [version] = ((parse(text) as Node).spec as Node).versions as Node[];
      const props = (((version as Node).schema as Node).openAPIV3Schema as Node).properties as Record<
        string,
        Node
      >;
      expect(props.metadata).toEqual({ type: "object" });
    },
  );

  it.each(Object.entries(renderCrdFiles()))("%s describes the kind and every field", (_file, text) => {
    const crd = parse(text) as Node;
    const [version] = (crd.spec as Node).versions as Node[];
    const schema = ((version as Node).schema as Node).openAPIV3Schema as Node;
    const out: string[] = [];
    undescribed(schema, "", out);
    expect(out).toEqual([]);
    // The walk reaches deep fields (a selector inside a learned peer), not just the top.
    expect(text).toContain("The Service's namespace; absent: the baseline's.");
  });

  it("the walk finds a field without a description (so the test above can fail)", () => {
    const out: string[] = [];
    undescribed(
      {
        description: "x",
        properties: { a: { description: "a", items: { properties: { b: { type: "string" } } } } },
      },
      "",
      out,
    );
    expect(out).toEqual([".a[].b"]);
  });
});

/**
 * Maps (additionalProperties) that server-side apply would own key by key. A list without
 * x-kubernetes-list-type is atomic: it is replaced whole, maps inside it included.
 */
function granularMaps(node: Node, path: string, out: string[]): void {
  if (typeof node.additionalProperties === "object" && node["x-kubernetes-map-type"] !== "atomic")
    out.push(path);
  for (const [k, v] of Object.entries((node.properties as Record<string, Node>) ?? {}))
    granularMaps(v, `${path}.${k}`, out);
  if (node.items && node["x-kubernetes-list-type"] === "map")
    granularMaps(node.items as Node, `${path}[]`, out);
}

describe("NetworkObservation, written by server-side apply", () => {
  it("has only atomic maps: an emptied granular map becomes null and the write a 422", () => {
    const crd = parse(renderCrdFiles()["socklens.io_networkobservations.yaml"] as string) as Node;
    const [version] = (crd.spec as Node).versions as Node[];
    const out: string[] = [];
    granularMaps(((version as Node).schema as Node).openAPIV3Schema as Node, "", out);
    expect(out).toEqual([]);
  });
});

/** CEL cost is estimated from these bounds: an unbounded list makes any rule under it too costly. */
function unboundedArrays(node: Node, path: string, out: string[]): void {
  if (node.type === "array" && node.maxItems === undefined) out.push(path);
  for (const [k, v] of Object.entries((node.properties as Record<string, Node>) ?? {}))
    unboundedArrays(v, `${path}.${k}`, out);
  if (node.items) unboundedArrays(node.items as Node, `${path}[]`, out);
}

describe("bounds for the CEL cost budget", () => {
  it.each(Object.entries(renderCrdFiles()))("%s bounds every list", (_file, text) => {
    const crd = parse(text) as Node;
    const [version] = (crd.spec as Node).versions as Node[];
    const out: string[] = [];
    unboundedArrays(((version as Node).schema as Node).openAPIV3Schema as Node, "", out);
    expect(out).toEqual([]);
  });
});

describe("config/samples", () => {
  const dir = join(root, "config", "samples");
  const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
  it("exist", () => expect(files.length).toBeGreaterThanOrEqual(2));
  it.each(files)("%s validates and round-trips through the schema", (file) => {
    const text = readFileSync(join(dir, file), "utf8");
    const r = validateBaselines(text, file);
    expect(r.problems).toEqual([]);
    expect(r.baselines.length).toBe(parseAllDocuments(text).length);
    for (const { baseline } of r.baselines) {
      const again = NetworkBaseline.parse(JSON.parse(JSON.stringify(baseline)));
      expect(again).toEqual(baseline);
    }
  });
});
