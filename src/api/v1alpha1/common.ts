/**
 * Shared API pieces, shaped like their Kubernetes counterparts so NetworkPolicy users feel at
 * home: label selectors, ports, CIDR blocks, durations and metav1.Condition.
 * `.meta()` carries what only the CRD needs (CEL rules, int-or-string); src/api/crd-builder.ts reads it.
 */
import { z } from "zod";
import { hostBitsProblem } from "../../net/cidr.js";

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
  })
  .describe("A label requirement: a key, an operator and (for In and NotIn) values.");

export const MAX_MATCH_LABELS = 64;

export const LabelSelector = z
  .object({
    matchLabels: z
      .record(z.string().max(317), z.string().max(63))
      // maxProperties is the CRD's; zod does not read it, so the refine says the same to validate.
      .refine((labels) => Object.keys(labels).length <= MAX_MATCH_LABELS, {
        error: (iss) =>
          `${Object.keys(iss.input as object).length} labels; a selector holds at most ${MAX_MATCH_LABELS}`,
      })
      .meta({ maxProperties: MAX_MATCH_LABELS })
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
  })
  .describe("A port, or a range of ports from port to endPort, and a protocol.");

// Syntax by pattern (strict for IPv4, loose for IPv6; the semantic validator checks both
// fully), host bits by CEL below. With maxLength 64, cidr() on every CIDR, except[] entries
// 16 × 32 × 16 deep included, stays within the CRD's cost budget (measured on v1.36).
export const CIDR_PATTERN =
  /^((((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\/(3[0-2]|[12]?[0-9]))|([0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F.]{0,15}\/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))$/;

export const Cidr = z
  .string()
  .min(1)
  .max(64)
  .regex(CIDR_PATTERN, "must be a CIDR such as 10.0.0.0/8 or fd00::/8")
  .refine((text) => hostBitsProblem(text) === undefined, {
    error: (iss) => hostBitsProblem(String(iss.input)) ?? "has host bits set",
  })
  // Host bits set (10.1.2.3/8) is almost always a typo for one address or one network, and
  // the two differ by 16 million addresses. zod's message names the network meant; the
  // server's cannot (a messageExpression calling cidr() is over its cost budget by 100x, even
  // on a lone field). isCIDR first: the pattern lets malformed IPv6 through to here.
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "!isCIDR(self) || cidr(self) == cidr(self).masked()",
        message:
          "must not have host bits set: write the network address the prefix selects (10.0.0.0/8, not 10.1.2.3/8), or a /32 (/128) for one address",
      },
    ],
  })
  .describe("An IPv4 or IPv6 CIDR, e.g. 10.0.0.0/8.");

export const IPBlock = z
  .object({
    cidr: Cidr,
    except: z.array(Cidr).max(16).optional().describe("CIDRs inside cidr that are not part of the block."),
  })
  .describe("A CIDR block, like NetworkPolicy's ipBlock.");

export const DURATION_PATTERN = /^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$/;

/** The longest duration a baseline may name: a year. Longer is a typo, not a plan. */
export const MAX_DURATION_DAYS = 365;
export const MAX_DURATION_MS = MAX_DURATION_DAYS * 86_400_000;

const DURATION_EXPECTED =
  "expected a duration such as 30s, 10m, 24h, 7d or 1h30m (numbers, each followed by ms, s, m, h or d)";

/** Why `text` is not a duration a baseline accepts, or undefined when it is one. */
export function durationProblem(text: string): string | undefined {
  const ms = parseDuration(text);
  if (ms === null) return DURATION_EXPECTED;
  if (ms > MAX_DURATION_MS)
    return `${text} is longer than ${MAX_DURATION_DAYS}d; expected a duration of at most ${MAX_DURATION_DAYS}d`;
  return undefined;
}

export const Duration = z
  .string()
  .max(32)
  .regex(DURATION_PATTERN, DURATION_EXPECTED)
  // Only the bound: a text the pattern rejects has its problem already.
  .refine((text) => (parseDuration(text) ?? 0) <= MAX_DURATION_MS, {
    error: (iss) => durationProblem(String(iss.input)) ?? DURATION_EXPECTED,
  })
  .meta({
    // The same sum as parseDuration, in CEL: each component (a number and a unit) found,
    // converted to seconds, added up. findAll is bounded by maxLength, so the cost is small.
    "x-kubernetes-validations": [
      {
        rule: `self.findAll('[0-9]+(\\\\.[0-9]+)?(ms|s|m|h|d)').map(c, double(c.find('^[0-9]+(\\\\.[0-9]+)?')) * (c.endsWith('ms') ? 0.001 : c.endsWith('s') ? 1.0 : c.endsWith('m') ? 60.0 : c.endsWith('h') ? 3600.0 : 86400.0)).sum() <= ${MAX_DURATION_DAYS * 86400}.0`,
        message: `must be at most ${MAX_DURATION_DAYS}d`,
      },
    ],
  })
  .describe(`A duration such as "30s", "10m", "24h" or "7d"; at most ${MAX_DURATION_DAYS}d.`);

/** Month lengths for RFC 3339 dates (February from the year). */
function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/**
 * What is wrong with an RFC 3339 time, as a sentence that ends with what would be valid;
 * undefined when nothing is. The schema's check is zod's ISO date-time (which is also the
 * CRD's pattern and format), so this only explains: it is never the one that decides.
 */
export function rfc3339Problem(text: string): string | undefined {
  const example = "2026-12-31T00:00:00Z";
  const expected = (sample = example) =>
    `expected an RFC 3339 time such as ${sample} (a date, T, a time with seconds, then Z or an offset such as +02:00)`;
  const date = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!date) return expected();
  const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])];
  if (month < 1 || month > 12) return `month ${date[2]} does not exist; ${expected()}`;
  const days = daysIn(year, month);
  if (day < 1 || day > days)
    return `${date[0]} is not a date: ${MONTHS[month - 1]} ${year} has ${days} days; ${expected()}`;
  const rest = text.slice(date[0].length);
  if (rest === "") return `a date without a time; ${expected(`${date[0]}T00:00:00Z`)}`;
  const time = /^T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/.exec(rest);
  if (!time) return expected(`${date[0]}T00:00:00Z`);
  if (Number(time[1]) > 23 || Number(time[2]) > 59 || Number(time[3]) > 59)
    return `${rest.slice(1, 9)} is not a time of day; ${expected(`${date[0]}T00:00:00Z`)}`;
  if (time[6] !== undefined && (Number(time[6]) > 23 || Number(time[7]) > 59))
    return `${time[5]} is not a UTC offset; ${expected(`${date[0]}T00:00:00Z`)}`;
  return undefined;
}

/**
 * An RFC 3339 time with a zone: zod's ISO date-time, which knows month lengths and leap
 * years. It becomes the CRD's `format: date-time` and `pattern`, so the API server accepts
 * exactly what `socklens validate` accepts.
 */
export const Rfc3339Time = z.iso
  .datetime({
    offset: true,
    error: (iss) =>
      rfc3339Problem(String(iss.input)) ?? "expected an RFC 3339 time such as 2026-12-31T00:00:00Z",
  })
  .max(64);

export const Condition = z
  .object({
    type: z.string().min(1).describe("Ready, Learning or Violating."),
    status: z.enum(["True", "False", "Unknown"]).describe("True, False or Unknown."),
    reason: z.string().min(1).describe("UpperCamelCase reason."),
    message: z.string().describe("A sentence for people saying why the condition is what it is."),
    lastTransitionTime: z.string().describe("RFC 3339 time."),
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("The metadata.generation the condition was computed from."),
  })
  .describe("A metav1.Condition.");

/** Kubernetes' object-name rules (apimachinery's IsDNS1123Subdomain and IsDNS1123Label). */
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

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
