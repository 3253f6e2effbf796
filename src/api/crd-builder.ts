/**
 * Build CustomResourceDefinitions from the zod schemas. The output must be a *structural*
 * schema (apiextensions.k8s.io/v1): every node typed, no anyOf of differing types,
 * additionalProperties only where there are no properties. zod's OpenAPI 3.0 output is close;
 * this file closes the gap and adds what only Kubernetes knows (CEL rules, printer columns,
 * status subresource).
 */
import { z } from "zod";
import { GROUP, VERSION } from "./v1alpha1/common.js";

type JsonSchema = { [key: string]: unknown };

const SAFE_INT = 9007199254740991;

/** Make zod's JSON schema structural and Kubernetes-flavoured, recursively. */
export function toStructural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toStructural);
  if (typeof node !== "object" || node === null) return node;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node as JsonSchema)) {
    if (k === "$schema" || k === "id" || k === "title") continue;
    // zod writes the safe-integer bounds for every .int(): noise in a CRD.
    if ((k === "minimum" && v === -SAFE_INT) || (k === "maximum" && v === SAFE_INT)) continue;
    out[k] = toStructural(v);
  }
  if (out["x-kubernetes-int-or-string"] === true) {
    // Structural schemas allow no typed anyOf branches here. Each branch's checks apply to
    // one type only (minimum to numbers, pattern to strings), so they fold into the node.
    for (const branch of (out.anyOf as JsonSchema[] | undefined) ?? []) {
      for (const [k, v] of Object.entries(branch)) if (k !== "type") out[k] = v;
    }
    delete out.anyOf;
  }
  // A strict object (zod .strict()) gives additionalProperties: false next to properties,
  // which structural schemas forbid; unknown fields are pruned by the API server anyway.
  if (out.properties && out.additionalProperties === false) delete out.additionalProperties;
  return out;
}

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "date" | "boolean" | "number";
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CrdOptions {
  kind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  categories?: string[];
  schema: z.ZodType;
  printerColumns?: PrinterColumn[];
  statusSubresource?: boolean;
}

export function buildCrd(o: CrdOptions): JsonSchema {
  const json = toStructural(
    z.toJSONSchema(o.schema, { target: "openapi-3.0", io: "input", unrepresentable: "any" }),
  ) as JsonSchema;
  const props = json.properties as JsonSchema;
  // apiVersion/kind/metadata are the API server's business: it validates them itself.
  // Described as Kubernetes describes them in every built-in type, so `kubectl explain` reads the same.
  props.apiVersion = {
    type: "string",
    description:
      "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
  };
  props.kind = {
    type: "string",
    description:
      "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
  };
  // metadata may say nothing but its type (the API server refuses a description there) and
  // `kubectl explain` shows ObjectMeta's own.
  props.metadata = { type: "object" };
  json.required = ((json.required as string[] | undefined) ?? []).filter(
    (r) => !["apiVersion", "kind", "metadata"].includes(r),
  );
  const version: JsonSchema = {
    name: VERSION,
    served: true,
    storage: true,
    schema: { openAPIV3Schema: json },
  };
  if (o.statusSubresource) version.subresources = { status: {} };
  if (o.printerColumns) version.additionalPrinterColumns = o.printerColumns;
  const names: JsonSchema = {
    kind: o.kind,
    listKind: `${o.kind}List`,
    plural: o.plural,
    singular: o.singular,
  };
  if (o.shortNames) names.shortNames = o.shortNames;
  if (o.categories) names.categories = o.categories;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${o.plural}.${GROUP}` },
    spec: { group: GROUP, names, scope: "Namespaced", versions: [version] },
  };
}
