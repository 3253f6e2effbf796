/**
 * NetworkBaseline: what "normal" means for a workload's sockets. The zod schema here is the
 * single source of truth: types are inferred from it and `npm run gen` turns it into
 * crds/socklens.io_networkbaselines.yaml.
 */
import { z } from "zod";
import { parseIp } from "../../net/address.js";
import { hostBitsProblem, parseCidr } from "../../net/cidr.js";
import { TCP_STATES } from "../../net/states.js";
import {
  API_VERSION,
  Condition,
  DNS_LABEL,
  DNS_SUBDOMAIN,
  Duration,
  IPBlock,
  LabelSelector,
  ObjectMeta,
  PortRange,
  PortValue,
  Protocol,
  Rfc3339Time,
} from "./common.js";

export const KIND = "NetworkBaseline";
export const PLURAL = "networkbaselines";

/** Bounds the CRD enforces (so one object stays small for etcd and for the matcher). */
export const MAX_LISTENERS = 64;
export const MAX_RULES = 16;
export const MAX_EXCEPTIONS = 64;
export const MAX_CONDITIONS = 16;
export const MAX_LEARNED_PEERS = 256;
export const MAX_PEERS_PER_RULE = 32;
export const MAX_PORTS_PER_RULE = 16;

export const Entity = z
  .enum(["world", "cluster", "host", "remote-node", "kube-apiserver"])
  .describe(
    "world: outside the cluster; cluster: any pod, service or node; host: this node; remote-node: any other node of the cluster; kube-apiserver: the API server.",
  );

export const Peer = z
  .object({
    podSelector: LabelSelector.optional().describe(
      "Pods with these labels (in namespaceSelector's namespaces, else the baseline's).",
    ),
    namespaceSelector: LabelSelector.optional().describe("Namespaces with these labels."),
    ipBlock: IPBlock.optional(),
    service: z
      .object({
        name: z.string().min(1).max(63).describe("The Service's name."),
        namespace: z
          .string()
          .min(1)
          .max(63)
          .optional()
          .describe("The Service's namespace; absent: the baseline's."),
      })
      .optional()
      .describe("A Service (its ClusterIP and endpoints); namespace defaults to the baseline's."),
    entity: Entity.optional(),
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "(has(self.podSelector) || has(self.namespaceSelector) ? 1 : 0) + (has(self.ipBlock) ? 1 : 0) + (has(self.service) ? 1 : 0) + (has(self.entity) ? 1 : 0) == 1",
        message: "a peer is exactly one of: podSelector/namespaceSelector, ipBlock, service, entity",
      },
    ],
  })
  .describe("One allowed peer.");

export const EgressRule = z
  .object({
    to: z
      .array(Peer)
      .max(MAX_PEERS_PER_RULE)
      .optional()
      .describe("Allowed destinations; absent or empty allows any."),
    ports: z
      .array(PortRange)
      .max(MAX_PORTS_PER_RULE)
      .optional()
      .describe("Allowed destination ports; absent or empty allows any."),
  })
  .describe("Outbound connections this workload may make.");

export const IngressRule = z
  .object({
    from: z
      .array(Peer)
      .max(MAX_PEERS_PER_RULE)
      .optional()
      .describe("Allowed clients; absent or empty allows any."),
    ports: z
      .array(PortRange)
      .max(MAX_PORTS_PER_RULE)
      .optional()
      .describe("Our ports they may connect to; absent or empty allows any."),
  })
  .describe("Inbound connections this workload may accept.");

export const Listener = z
  .object({
    port: PortValue,
    endPort: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe("Last port of a range starting at port (numeric port only)."),
    protocol: Protocol.optional(),
    address: z
      .string()
      .min(1)
      .max(45)
      .regex(/^[0-9a-fA-F:.]+$/, "must be an IP address such as 127.0.0.1, 0.0.0.0 or ::")
      .optional()
      .describe('Expected bind address, e.g. "127.0.0.1" or "0.0.0.0"; absent allows any.'),
    process: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe("Expected process name (comm); absent allows any."),
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "!has(self.endPort) || (type(self.port) == int && self.endPort >= self.port)",
        message: "endPort needs a numeric port and must be >= port",
      },
    ],
  })
  .describe("A socket this workload may listen on.");

/** The TCP states a threshold may name: the kernel's, without NEW_SYN_RECV (a request, not a socket). */
export const TCP_STATE_NAMES = TCP_STATES.slice(1, 12) as readonly Exclude<
  (typeof TCP_STATES)[number],
  "UNKNOWN" | "NEW_SYN_RECV"
>[];

export const Thresholds = z
  .object({
    // An object with one optional field per state rather than a record: a misspelled state is
    // an unknown field, which `socklens validate` names (with the state meant) and kubectl's
    // strict field validation refuses, instead of a limit that silently never applies.
    tcpStates: z
      .object(
        Object.fromEntries(
          TCP_STATE_NAMES.map((s) => [
            s,
            z.number().int().min(0).optional().describe(`Most sockets per pod in ${s}.`),
          ]),
        ) as Record<(typeof TCP_STATE_NAMES)[number], z.ZodOptional<z.ZodNumber>>,
      )
      .optional()
      .describe("Most sockets per pod in each TCP state, e.g. {CLOSE_WAIT: 50}."),
    established: z.number().int().min(0).optional().describe("Most established TCP connections per pod."),
    listeners: z.number().int().min(0).optional().describe("Most listening sockets per pod."),
  })
  .describe("Per-pod limits; exceeding one is a violation.");

export const RULE_IDS = [
  "UnexpectedListener",
  "ListenerBindChanged",
  "UnexpectedEgress",
  "UnexpectedIngress",
  "TcpStateThreshold",
  "EstablishedThreshold",
  "ListenerThreshold",
] as const;
export const RuleId = z.enum(RULE_IDS);

/** The detectors' rules (src/core/memory/detectors.ts): an exception may accept their findings too. */
export const DETECTOR_RULE_IDS = [
  "Beaconing",
  "ConnectionGrowth",
  "CloseWaitLeak",
  "FailedHandshakes",
  "EphemeralPortPressure",
  "NetworkDiscoveryTool",
] as const;
/** What an exception may name: a baseline rule or a detector's. */
export const ExceptionRuleId = z.enum([...RULE_IDS, ...DETECTOR_RULE_IDS]);

/** How a human judged a finding pattern (`socklens ack`, docs/ack.md). */
export const VERDICTS = ["Benign", "Confirmed"] as const;

/**
 * An exception's address is an IP or a CIDR without host bits: anything else never matches a
 * finding, and an exception that silently does nothing is worse than none.
 */
function exceptionAddressProblem(text: string): string | undefined {
  if (text.includes("/")) {
    try {
      parseCidr(text);
    } catch (err) {
      return `${(err as Error).message}; expected an IP address or a CIDR such as 203.0.113.9 or 203.0.113.0/24`;
    }
    return hostBitsProblem(text);
  }
  if (parseIp(text) && !text.includes("%")) return undefined;
  return "expected an IP address or a CIDR such as 203.0.113.9 or 203.0.113.0/24";
}

export const BaselineException = z
  .object({
    rule: ExceptionRuleId.describe("The rule whose findings this accepts (a baseline rule or a detector's)."),
    address: z
      .string()
      .max(64)
      .refine((text) => exceptionAddressProblem(text) === undefined, {
        error: (iss) => exceptionAddressProblem(String(iss.input)) ?? "not an address",
      })
      .optional()
      .describe("Peer or bind address (or CIDR) the exception covers; absent: any."),
    port: z.number().int().min(0).max(65535).optional().describe("Port the exception covers; absent: any."),
    process: z.string().max(64).optional().describe("Process name the exception covers; absent: any."),
    reason: z.string().min(1).max(1024).describe("Why this finding is accepted (shown in output)."),
    expires: Rfc3339Time.optional().describe(
      "RFC 3339 time after which the exception no longer applies, e.g. 2026-12-31T00:00:00Z.",
    ),
    verdict: z
      .enum(VERDICTS)
      .optional()
      .describe(
        "Benign (default): matching findings are suppressed and counted. Confirmed: a confirmed incident; matching findings keep firing and reports rank them as high severity.",
      ),
    by: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe("Who acknowledged the pattern (socklens ack writes the user, or --by)."),
    created: Rfc3339Time.optional().describe("When the pattern was acknowledged (RFC 3339)."),
  })
  .meta({
    "x-kubernetes-validations": [
      {
        // An address that is neither an IP nor a CIDR never matches a finding: reject it
        // instead of accepting an exception that silently does nothing.
        rule: "!has(self.address) || (self.address.contains('/') ? isCIDR(self.address) && cidr(self.address) == cidr(self.address).masked() : isIP(self.address))",
        fieldPath: ".address",
        message:
          "address must be an IP address or a CIDR without host bits set, e.g. 203.0.113.9 or 203.0.113.0/24",
      },
    ],
  })
  .describe("An accepted finding: suppressed (and counted) until it expires.");

export const NetworkBaselineSpec = z
  .object({
    podSelector: LabelSelector.describe("The pods this baseline describes, in its namespace."),
    mode: z
      .enum(["Learn", "Alert"])
      .default("Alert")
      .describe("Learn records what is seen; Alert raises violations."),
    listeners: z
      .array(Listener)
      .max(MAX_LISTENERS)
      .optional()
      .describe("What may listen; absent: not checked; empty: nothing may."),
    egress: z
      .array(EgressRule)
      .max(MAX_RULES)
      .optional()
      .describe("Whom the pods may call; absent: not checked; empty: nobody."),
    ingress: z
      .array(IngressRule)
      .max(MAX_RULES)
      .optional()
      .describe("Who may call the pods; absent: not checked; empty: nobody."),
    thresholds: Thresholds.optional(),
    learning: z
      .object({
        duration: Duration.optional().describe("How long Learn mode observes before it reports done."),
        autoPromote: z
          .boolean()
          .optional()
          .describe("Copy status.learned into spec and switch to Alert when learning ends."),
      })
      .optional()
      .describe("How Learn mode runs: for how long, and what happens when it ends."),
    exceptions: z
      .array(BaselineException)
      .max(MAX_EXCEPTIONS)
      .optional()
      .describe("Findings accepted on purpose (with a reason and an optional expiry); absent: none."),
  })
  .describe("What is normal for the selected pods.");

export const LearnedPeer = z.object({
  address: z.string().describe("A peer address seen (an example when the peer is an identity)."),
  peer: Peer.optional().describe(
    "Who the peer is, as a baseline names it: a workload's podSelector, a Service, an entity; absent when only the address is known.",
  ),
  identity: z.string().max(256).optional().describe('For people: "deployment shop/db", "service shop/db".'),
  port: z.number().int().describe("Egress: the remote port; ingress: our port."),
  protocol: Protocol,
  firstSeen: z.string().optional().describe("RFC 3339 time the peer was first seen."),
  lastSeen: z.string().optional().describe("RFC 3339 time the peer was last seen."),
});

export const AcknowledgedPattern = z
  .object({
    pattern: z
      .string()
      .max(512)
      .describe(
        'The finding key the exception covers, as socklens prints it: "Beaconing/198.51.100.7/443/updater".',
      ),
    verdict: z
      .enum(VERDICTS)
      .describe("Benign: suppressed; Confirmed: a confirmed incident, reported as high."),
    state: z
      .enum(["Active", "Expired"])
      .describe("Expired: past spec.exceptions[].expires; its findings fire again."),
    reason: z.string().max(1024).describe("The exception's reason."),
    by: z.string().max(256).optional().describe("Who acknowledged it."),
    expires: z.string().max(64).optional().describe("When it expires (RFC 3339)."),
  })
  .describe("One spec.exceptions entry as the operator judged it at its last reconcile.");

export const NetworkBaselineStatus = z
  .object({
    observedGeneration: z
      .number()
      .int()
      .optional()
      .describe("The metadata.generation this status was computed from."),
    conditions: z
      .array(Condition)
      .max(MAX_CONDITIONS)
      .optional()
      .describe(
        "Ready (the spec compiled), Learning (Learn mode running) and Violating (findings in the last window).",
      ),
    matchedPods: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("Pods the podSelector selects, on every node that reported."),
    violations: z
      .object({
        total: z.number().int().min(0).describe("Violations in the nodes' last windows, all rules together."),
        lastTime: z.string().optional().describe("RFC 3339 time of the last window that had a violation."),
        byRule: z
          .record(z.string(), z.number().int().min(0))
          .optional()
          .describe("Violations by rule id, e.g. {UnexpectedEgress: 3}."),
      })
      .optional()
      .describe("Violations the agents reported in their last windows."),
    acknowledged: z
      .object({
        active: z
          .number()
          .int()
          .min(0)
          .describe("Benign exceptions in force (their findings are suppressed)."),
        expired: z.number().int().min(0).describe("Exceptions past their expiry: their findings fire again."),
        confirmed: z
          .number()
          .int()
          .min(0)
          .describe("Patterns marked as confirmed incidents (socklens ack --confirm)."),
        patterns: z
          .array(AcknowledgedPattern)
          .max(MAX_EXCEPTIONS)
          .optional()
          .describe("Each exception with its state, in spec order."),
      })
      .optional()
      .describe("The acknowledged finding patterns of spec.exceptions (docs/ack.md)."),
    learned: z
      .object({
        listeners: z.array(Listener).max(MAX_LISTENERS).optional().describe("Sockets the pods listened on."),
        egress: z.array(LearnedPeer).max(MAX_LEARNED_PEERS).optional().describe("Peers the pods called."),
        ingress: z
          .array(LearnedPeer)
          .max(MAX_LEARNED_PEERS)
          .optional()
          .describe("Peers that called the pods."),
      })
      .optional()
      .describe("What Learn mode saw; `socklens baseline export` turns it into a baseline to review."),
  })
  .describe("Written by the operator.");

/**
 * A baseline's metadata: a name is required (files are checked and reported by it), and name
 * and namespace follow the rules the API server applies to them, so `validate` refuses what
 * `kubectl apply` would. Other ObjectMeta fields pass through (objects read from the server).
 */
export const BaselineMeta = ObjectMeta.extend({
  name: z
    .string({
      error: (iss) =>
        iss.input === undefined
          ? "every NetworkBaseline needs a name, e.g. metadata: {name: web, namespace: shop}"
          : undefined,
    })
    .max(253)
    .regex(
      DNS_SUBDOMAIN,
      "expected a lowercase RFC 1123 name such as web or web.v2 (a-z, 0-9, '-' and '.', starting and ending with a letter or digit)",
    ),
  namespace: z
    .string()
    .max(63)
    .regex(
      DNS_LABEL,
      "expected a lowercase RFC 1123 label such as shop (a-z, 0-9 and '-', starting and ending with a letter or digit)",
    )
    .optional(),
});

export const NetworkBaseline = z
  .object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(KIND),
    metadata: BaselineMeta,
    spec: NetworkBaselineSpec,
    status: NetworkBaselineStatus.optional(),
  })
  .describe(
    "NetworkBaseline says what is normal for a workload's sockets: what its pods may listen on, whom they may call, who may call them and how many connections they may hold. socklens agents compare every matched pod's sockets with it and report what differs as Events and OpenTelemetry signals; it describes, it never blocks traffic.",
  );

export type NetworkBaseline = z.infer<typeof NetworkBaseline>;
export type NetworkBaselineInput = z.input<typeof NetworkBaseline>;
export type NetworkBaselineSpec = z.infer<typeof NetworkBaselineSpec>;
export type NetworkBaselineStatus = z.infer<typeof NetworkBaselineStatus>;
/** What Learn mode saw, as status.learned holds it. */
export type Learned = NonNullable<NetworkBaselineStatus["learned"]>;
export type LearnedPeer = z.infer<typeof LearnedPeer>;
export type Peer = z.infer<typeof Peer>;
export type Listener = z.infer<typeof Listener>;
export type EgressRule = z.infer<typeof EgressRule>;
export type IngressRule = z.infer<typeof IngressRule>;
export type RuleId = z.infer<typeof RuleId>;
export type BaselineException = z.infer<typeof BaselineException>;
export type ExceptionRuleId = z.infer<typeof ExceptionRuleId>;
export type AcknowledgedPattern = z.infer<typeof AcknowledgedPattern>;
export type { LabelSelector, PortRange } from "./common.js";
