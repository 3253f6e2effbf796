/** The matcher's inputs and outputs. Pure data: no I/O anywhere under src/core/baseline. */
import type { RuleId } from "../../api/v1alpha1/networkbaseline.js";
import type { Socket } from "../socket.js";

/** Rules of the detectors on the tracker's memory (src/core/memory/detectors.ts). */
export type DetectorRule =
  | "Beaconing"
  | "ConnectionGrowth"
  | "CloseWaitLeak"
  | "FailedHandshakes"
  | "EphemeralPortPressure"
  | "NetworkDiscoveryTool"
  | "SeasonalAnomaly";

export type FindingRule = RuleId | "CannotEvaluateOffline" | DetectorRule;
export type Severity = "info" | "low" | "medium" | "high";

/** A pod the resolver knows about (as a peer, or as the scope being evaluated). */
export interface PodInfo {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  namespaceLabels?: Record<string, string>;
  /** Container ports, for named ports. */
  ports?: { name: string; port: number; protocol: "TCP" | "UDP" }[];
  /** The owning workload (Deployment via its ReplicaSet, StatefulSet, DaemonSet, Job, CronJob…). */
  workload?: { kind: string; name: string };
  /** The labels that select the workload across rollouts (src/core/workload.ts). */
  selector?: Record<string, string>;
}

export type PeerInfo =
  | ({ kind: "pod" } & PodInfo)
  | { kind: "service"; namespace: string; name: string }
  | { kind: "node"; name: string };

/**
 * What the caller knows about addresses. The CLI knows only this host; the agent knows the
 * cluster. Methods a resolver cannot answer are absent, and rules that need them yield a
 * CannotEvaluateOffline finding rather than a guess.
 */
export interface IdentityResolver {
  /** This node's addresses (and loopback). */
  isHost(address: string): boolean;
  /** Present only with cluster knowledge: pods, services and nodes by IP. */
  peer?(address: string): PeerInfo | undefined;
  /** Present only with cluster knowledge: is the address in the cluster (pod, service, node CIDRs)? */
  isCluster?(address: string): boolean;
  /** Present only when the API server's endpoints are known. */
  isApiServer?(address: string, port: number): boolean;
  /** Present only with cluster knowledge: the pods behind a Service. */
  serviceBackends?(namespace: string, name: string): { addresses: string[] } | undefined;
}

/**
 * What one evaluation looks at: the sockets of one pod (agent) or one scope (CLI). Not to be
 * confused with a NetworkObservation, the object an agent writes about a baseline.
 */
export interface EvaluationScope {
  /** Human name of the scope, e.g. "pod shop/web-7d9" or "netns 4026531840 (blue)". */
  scope: string;
  pod?: PodInfo;
  sockets: Socket[];
  /**
   * The scope's ephemeral port range (net.ipv4.ip_local_port_range); absent: Linux's default,
   * which every new network namespace starts with.
   */
  ephemeralPorts?: readonly [number, number];
  /** Open-file limits (soft RLIMIT_NOFILE) of the busy processes in the scope, by pid. */
  fileLimits?: ReadonlyMap<number, number>;
}

export interface FindingPeer {
  direction: "egress" | "ingress";
  address: string;
  /** Egress: the remote port; ingress: our (listening) port. */
  port: number;
  protocol: "TCP" | "UDP";
  identity?: string;
}

export interface Finding {
  rule: FindingRule;
  severity: Severity;
  /** MITRE ATT&CK technique, only where one honestly fits (see docs/adr/0003). */
  mitre?: { id: string; name: string };
  /** One sentence for a human: Events, CLI, logs. */
  message: string;
  baseline: string;
  scope: string;
  socket?: Pick<
    Socket,
    | "protocol"
    | "localAddress"
    | "localPort"
    | "remoteAddress"
    | "remotePort"
    | "state"
    | "pid"
    | "process"
    | "netns"
  >;
  peer?: FindingPeer;
  /** The process behind a finding that is not about one socket (a beacon, a discovery tool). */
  holder?: { pid: number; process?: string; cmdline?: string };
  /** Sockets behind this finding (a peer seen on many connections is one finding). */
  count: number;
  limit?: number;
  state?: string;
}

export interface SuppressedFinding {
  finding: Finding;
  reason: string;
  expires?: string;
}

export interface EvaluationResult {
  findings: Finding[];
  suppressed: SuppressedFinding[];
}
