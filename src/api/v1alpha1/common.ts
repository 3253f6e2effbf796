/**
 * Shared API pieces, shaped like their Kubernetes counterparts so NetworkPolicy users feel at
 * home: label selectors, ports, CIDR blocks, durations and metav1.Condition.
 * `.meta()` carries what only the CRD needs (CEL rules, int-or-string); src/api/crd-builder.ts reads it.
 */
import { z } from "zod";

export const GROUP = "socklens.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

export const LabelSelectorRequirement = z
  .object({
    key: z.string().min(1).max(317).describe("The label key that the selector applies to."),
    operator: z
      .enum(["In", "NotIn", "Exists", "DoesNotExist"])
      .describe("In, NotIn, Exists or DoesNotExist."),
    values: z
      .array(z.string().max(63))
      .max(64)
      .optional()
      .describe("Values for In and NotIn; must be empty for Exists and DoesNotExist."),
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
        message: "values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist",
      },
    ],
  });

export const LabelSelector = z
  .object({
    matchLabels: z
      .record(z.string().max(317), z.string().max(63))
      .meta({ maxProperties: 64 })
      .optional()
      .describe("Labels that must all match."),
    matchExpressions: z
      .array(LabelSelectorRequirement)
      .max(32)
      .optional()
      .describe("Label requirements that must all hold."),
  })
  // As Kubernetes' own LabelSelector: replaced whole by server-side apply, so a selector
  // that loses a label does not keep it (or turn into null) from an earlier apply.
  .meta({ "x-kubernetes-map-type": "atomic" })
  .describe("A Kubernetes label selector; empty selects everything.");

/** A port number or an IANA_SVC_NAME (a container port name), like NetworkPolicyPort.port. */
export const PortValue = z
  .union([
    z.number().int().min(1).max(65535),
    z
      .string()
      .max(15)
      .regex(/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/),
  ])
  // The CRD builder folds both branches' checks (minimum/maximum for numbers, pattern and
  // maxLength for names) into the int-or-string node: OpenAPI applies each only to its type.
  .meta({ "x-kubernetes-int-or-string": true })
  .describe("A port number (1-65535) or a named container port.");

export const Protocol = z.enum(["TCP", "UDP"]).describe("TCP (default) or UDP.");

export const PortRange = z
  .object({
    port: PortValue.optional().describe("Port number or named port; absent means every port."),
    endPort: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe("Last port of a range starting at port (numeric port only)."),
    protocol: Protocol.optional(),
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "!has(self.endPort) || (has(self.port) && type(self.port) == int && self.endPort >= self.port)",
        message: "endPort needs a numeric port and must be >= port",
      },
    ],
  });

// A pattern rather than CEL's isCIDR(): CEL rules are charged per invocation, and a CIDR
// nested in egress[].to[].ipBlock.except[] exceeds the CRD's cost budget. The pattern is
// strict for IPv4 and checks IPv6 syntax loosely; the semantic validator checks both fully.
export const CIDR_PATTERN =
  /^((((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\/(3[0-2]|[12]?[0-9]))|([0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F.]{0,15}\/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))$/;

export const Cidr = z
  .string()
  .min(1)
  .max(64)
  .regex(CIDR_PATTERN, "must be a CIDR such as 10.0.0.0/8 or fd00::/8")
  .describe("An IPv4 or IPv6 CIDR, e.g. 10.0.0.0/8.");

export const IPBlock = z
  .object({
    cidr: Cidr,
    except: z.array(Cidr).max(16).optional().describe("CIDRs inside cidr that are not part of the block."),
  })
  .describe("A CIDR block, like NetworkPolicy's ipBlock.");

export const DURATION_PATTERN = /^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$/;

export const Duration = z
  .string()
  .max(32)
  .regex(DURATION_PATTERN)
  .describe('A duration such as "30s", "10m", "24h" or "7d".');

export const Condition = z
  .object({
    type: z.string().min(1),
    status: z.enum(["True", "False", "Unknown"]),
    reason: z.string().min(1).describe("UpperCamelCase reason."),
    message: z.string(),
    lastTransitionTime: z.string().describe("RFC 3339 time."),
    observedGeneration: z.number().int().min(0).optional(),
  })
  .describe("A metav1.Condition.");

export const ObjectMeta = z
  .object({
    name: z.string().min(1).optional(),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    generation: z.number().int().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    creationTimestamp: z.string().optional(),
  })
  .loose();

/** Parse "10m", "1h30m", "7d" into milliseconds; null if malformed. */
export function parseDuration(text: string): number | null {
  if (!DURATION_PATTERN.test(text)) return null;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  for (const m of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)/g))
    total += Number(m[1]) * (unit[m[2] as string] ?? 0);
  return total;
}

export type LabelSelector = z.infer<typeof LabelSelector>;
export type Condition = z.infer<typeof Condition>;
export type PortRange = z.infer<typeof PortRange>;
