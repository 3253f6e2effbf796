/**
 * Attribute names and values of everything socklens exports, per the OpenTelemetry semantic
 * conventions where one exists (taken from @opentelemetry/semantic-conventions, never typed
 * by hand), and under `socklens.` where none does. Pure: a table test checks each mapping,
 * and test/cluster/semconv.test.ts checks every name the real collector received.
 *
 * Decisions (docs/adr/0013-telemetry-conventions.md):
 * - `network.peer.*` is the other end of the socket, whatever the direction: for an inbound
 *   connection that is the client's address and (ephemeral) port, not our listening port.
 * - `server.port` is the server side's port: the remote port of an egress connection, our
 *   own of an ingress one.
 * - the direction of a connection is `socklens.connection.direction` (egress/ingress):
 *   `network.io.direction` means transmit/receive of bytes on a metric, not who connected.
 * - a TCP state is `network.connection.state` with its semconv value (close_wait, …);
 *   states that convention has no value for (UDP's UNCONN, unix sockets) stay
 *   `socklens.socket.state` with the kernel's name.
 * - the workload is `k8s.<kind>.name` for the built-in kinds; `socklens.workload.kind` and
 *   `socklens.workload.name` also carry it for any kind, so one dashboard query groups by it.
 * - the process name we have is `comm` (15 bytes the process can set itself), which is not
 *   `process.executable.name` (the basename of /proc/<pid>/exe): it is `socklens.process.comm`.
 */
import type { Attributes } from "@opentelemetry/api";
import {
  ATTR_K8S_CRONJOB_NAME,
  ATTR_K8S_DAEMONSET_NAME,
  ATTR_K8S_DEPLOYMENT_NAME,
  ATTR_K8S_JOB_NAME,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_POD_NAME,
  ATTR_K8S_REPLICASET_NAME,
  ATTR_K8S_STATEFULSET_NAME,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_TRANSPORT,
  ATTR_SERVER_PORT,
} from "@opentelemetry/semantic-conventions";
import {
  ATTR_NETWORK_CONNECTION_STATE,
  ATTR_PROCESS_PID,
} from "@opentelemetry/semantic-conventions/incubating";
import type { Finding } from "../core/baseline/types.js";

/** Our own attributes: every one starts with `socklens.` (checked by a test). */
export const SOCKLENS_ATTR = {
  rule: "socklens.rule",
  baseline: "socklens.baseline",
  severity: "socklens.severity",
  socketState: "socklens.socket.state",
  socketProtocol: "socklens.socket.protocol",
  direction: "socklens.connection.direction",
  workloadKind: "socklens.workload.kind",
  workloadName: "socklens.workload.name",
  comm: "socklens.process.comm",
  mitreTechnique: "socklens.mitre.technique.id",
  peerIdentity: "socklens.peer.identity",
  kubeResource: "socklens.kube.resource",
  kubeOperation: "socklens.kube.operation",
} as const;

const WORKLOAD_ATTR: Record<string, string> = {
  Deployment: ATTR_K8S_DEPLOYMENT_NAME,
  StatefulSet: ATTR_K8S_STATEFULSET_NAME,
  DaemonSet: ATTR_K8S_DAEMONSET_NAME,
  Job: ATTR_K8S_JOB_NAME,
  CronJob: ATTR_K8S_CRONJOB_NAME,
  ReplicaSet: ATTR_K8S_REPLICASET_NAME,
};

export interface PodRef {
  namespace: string;
  name: string;
  workload?: { kind: string; name: string } | undefined;
}

export function podAttributes(pod: PodRef): Attributes {
  const a: Attributes = { [ATTR_K8S_NAMESPACE_NAME]: pod.namespace, [ATTR_K8S_POD_NAME]: pod.name };
  if (pod.workload) {
    const key = WORKLOAD_ATTR[pod.workload.kind];
    if (key) a[key] = pod.workload.name;
    a[SOCKLENS_ATTR.workloadKind] = pod.workload.kind;
    a[SOCKLENS_ATTR.workloadName] = pod.workload.name;
  }
  return a;
}

/** Kernel TCP state → network.connection.state value; absent: the convention has none. */
const CONNECTION_STATE: Record<string, string> = {
  ESTABLISHED: "established",
  SYN_SENT: "syn_sent",
  SYN_RECV: "syn_received",
  NEW_SYN_RECV: "syn_received",
  FIN_WAIT1: "fin_wait_1",
  FIN_WAIT2: "fin_wait_2",
  TIME_WAIT: "time_wait",
  CLOSE: "closed",
  CLOSE_WAIT: "close_wait",
  LAST_ACK: "last_ack",
  LISTEN: "listen",
  CLOSING: "closing",
};

/** The state attribute of a socket: network.connection.state for TCP, socklens.socket.state otherwise. */
export function stateAttributes(transport: string, kernelState: string): Attributes {
  const v = transport === "tcp" ? CONNECTION_STATE[kernelState] : undefined;
  return v ? { [ATTR_NETWORK_CONNECTION_STATE]: v } : { [SOCKLENS_ATTR.socketState]: kernelState };
}

/** network.transport: the convention's values are tcp, udp, pipe, unix, quic; raw sockets have none. */
export function transportAttributes(protocol: string): Attributes {
  const p = protocol.toLowerCase();
  return ["tcp", "udp", "unix"].includes(p)
    ? { [ATTR_NETWORK_TRANSPORT]: p }
    : { [SOCKLENS_ATTR.socketProtocol]: p };
}

/** The attributes of the counter and gauge of findings (bounded: no addresses, no pids). */
export function findingMetricAttributes(f: Finding, pod: PodRef): Attributes {
  return {
    ...podAttributes(pod),
    [SOCKLENS_ATTR.rule]: f.rule,
    [SOCKLENS_ATTR.baseline]: f.baseline,
    [SOCKLENS_ATTR.severity]: f.severity,
  };
}

/** The log record's attributes: the metric's, plus the socket, the peer and the process. */
export function findingLogAttributes(f: Finding, pod: PodRef): Attributes {
  const a: Attributes = findingMetricAttributes(f, pod);
  const s = f.socket;
  if (f.peer) {
    a[SOCKLENS_ATTR.direction] = f.peer.direction;
    Object.assign(a, transportAttributes(f.peer.protocol));
    // The peer's own port: for an inbound connection the socket's remote (client) port;
    // a listener finding has no peer connection, so no peer port.
    const peerPort = f.peer.direction === "egress" ? f.peer.port : s?.remotePort;
    a[ATTR_NETWORK_PEER_ADDRESS] = f.peer.address;
    if (peerPort) a[ATTR_NETWORK_PEER_PORT] = peerPort;
    a[ATTR_SERVER_PORT] = f.peer.direction === "egress" ? f.peer.port : (s?.localPort ?? f.peer.port);
    if (f.peer.identity) a[SOCKLENS_ATTR.peerIdentity] = f.peer.identity;
  } else if (s) {
    Object.assign(a, transportAttributes(s.protocol));
    if (s.state === "LISTEN" || s.remotePort === 0) a[ATTR_SERVER_PORT] = s.localPort;
  }
  if (s) Object.assign(a, stateAttributes(s.protocol, s.state));
  const pid = s?.pid ?? f.holder?.pid;
  const comm = s?.process ?? f.holder?.process;
  if (pid !== undefined) a[ATTR_PROCESS_PID] = pid;
  if (comm) a[SOCKLENS_ATTR.comm] = comm;
  if (f.mitre) a[SOCKLENS_ATTR.mitreTechnique] = f.mitre.id;
  return a;
}
