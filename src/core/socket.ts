/**
 * The normalized socket record: one per socket, the public shape of `scan -o ndjson`,
 * snapshots and everything downstream. Field meanings are documented in docs/output.md;
 * keep them stable.
 */
import type { SocketState } from "../net/states.js";

export type Protocol = "tcp" | "udp" | "raw" | "unix";
export type Family = "inet" | "inet6" | "unix";

export interface ContainerRef {
  id: string;
  runtime: ContainerRuntime;
}

export type ContainerRuntime = "containerd" | "cri-o" | "docker" | "podman" | "unknown";

export interface PodRef {
  uid: string;
  /** Filled from the Kubernetes API (agent, or the CLI with --kubeconfig); otherwise only the UID. */
  name?: string;
  namespace?: string;
  serviceAccount?: string;
  /** The owning workload: Deployment (via its ReplicaSet), StatefulSet, DaemonSet, Job, CronJob… */
  workload?: { kind: string; name: string };
}

/** Who the remote side is, when the cluster is known. */
export type RemoteRef =
  | { kind: "pod" | "service"; namespace: string; name: string }
  | { kind: "node"; name: string }
  | { kind: "external" };

export interface ProcessRef {
  pid: number;
  process: string;
}

export interface Socket {
  protocol: Protocol;
  family: Family;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: SocketState;
  inode: number;
  /** Inode of the network namespace (as in `ls -l /proc/<pid>/ns/net`). */
  netns: number;
  /** Name under /run/netns when the namespace has one. */
  netnsName?: string;
  /** Socket owner uid from the kernel table (for unix sockets: the holding process's uid). */
  uid?: number;
  user?: string;
  /** Lowest pid holding the socket; absent when no readable process holds it (e.g. TIME_WAIT). */
  pid?: number;
  process?: string;
  cmdline?: string;
  /** Every process holding the socket, when more than one does (pre-forked servers). */
  processes?: ProcessRef[];
  container?: ContainerRef;
  pod?: PodRef;
  /** The remote side's identity (with cluster knowledge only). */
  remote?: RemoteRef;
  txQueue?: number;
  rxQueue?: number;
  /** Kernel timer: which one is pending and when it fires. */
  timer?: { kind: TimerKind; expiresInMs: number };
  retransmits?: number;
  /** Unix sockets only. */
  path?: string;
  unixType?: "stream" | "dgram" | "seqpacket" | "unknown";
  /**
   * Unix sockets only: this record and the one before it in /proc/net/unix can be read two
   * ways, as two sockets or as one whose name contains a newline and text shaped like a
   * record, and nothing else the scan saw decides it (docs/adr/0006-unix-socket-names.md).
   */
  ambiguous?: true;
}

export type TimerKind = "off" | "retransmit" | "keepalive" | "timewait" | "probe" | "unknown";

/** A namespace as people name it: "4026532318(shop-a)", or the bare inode when `ip netns` has no name for it. */
export function netnsLabel(n: { netns: number; netnsName?: string }): string {
  return n.netnsName ? `${n.netns}(${n.netnsName})` : String(n.netns);
}
