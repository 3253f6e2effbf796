// N simulated agents in one process. What is simulated is only what a real agent reads from
// /proc: each node's pods hold a fixed, realistic set of sockets (two listeners, a database
// behind a Service, DNS, an external API, callers from another namespace). From there on it
// is the agent's own code: buildObservation (src/core) turns them into the NetworkObservation,
// ObservationPublisher (src/agent/publish.ts) decides on change (+ a heartbeat only while the
// node's Lease is not live), ObservationWriter (src/kube) writes it by server-side apply, and
// NodeLease (src/kube/node-lease.ts) renews the node's liveness Lease — one client per node,
// under the node's own name. So what the API server sees is what 500 agents would send.
import { KubeConfig } from "@kubernetes/client-node";
import { ObservationPublisher, type PublishReason } from "../../src/agent/publish.js";
import { buildObservation } from "../../src/core/baseline/observation.js";
import type { Finding } from "../../src/core/baseline/types.js";
import { ClusterIndex, type ClusterPod, type ClusterSnapshot } from "../../src/core/cluster-index.js";
import type { Socket } from "../../src/core/socket.js";
import { reuseConnections } from "../../src/kube/connections.js";
import { NodeLease } from "../../src/kube/node-lease.js";
import { ObservationWriter } from "../../src/kube/observations.js";
import type { Layout, WorkloadSpec } from "./fixtures.js";

const DB_SERVICE_IP = (ns: number) => `10.96.${1 + (ns >> 8)}.${ns & 255}`;
const DNS_IP = "10.96.0.10";
const EDGE_IPS = ["10.63.0.2", "10.63.0.3"];
const EXTERNAL = "52.1.2.3";

/**
 * What the agents know of the cluster (the real agent's informers): namespaces, a `db`
 * Service per namespace, kube-dns, and the edge pods that call every workload. Stable, so
 * that peers resolve to identities and only pod churn changes what an observation says.
 */
function clusterIndex(l: Layout): ClusterIndex {
  const snapshot: ClusterSnapshot = {
    pods: EDGE_IPS.map((ip, i) => ({
      uid: `edge-${i}`,
      namespace: "edge",
      name: `edge-proxy-7c9d-${i}`,
      labels: { app: "edge-proxy" },
      ips: [ip],
      hostNetwork: false,
      owner: { kind: "ReplicaSet", name: "edge-proxy-7c9d" },
      ports: [],
    })),
    services: [
      { namespace: "kube-system", name: "kube-dns", clusterIPs: [DNS_IP] },
      ...l.namespaces.map((namespace, i) => ({ namespace, name: "db", clusterIPs: [DB_SERVICE_IP(i)] })),
    ],
    namespaces: [
      { name: "edge", labels: { team: "edge" } },
      { name: "kube-system", labels: {} },
      ...l.namespaces.map((name) => ({ name, labels: { team: "shop" } })),
    ],
    endpoints: [],
    nodes: [],
    owners: [
      {
        namespace: "edge",
        kind: "ReplicaSet",
        name: "edge-proxy-7c9d",
        owner: { kind: "Deployment", name: "edge-proxy" },
        selector: { app: "edge-proxy" },
      },
    ],
  };
  return new ClusterIndex(snapshot);
}

interface Entry {
  w: WorkloadSpec;
  nsIndex: number;
  pod: { name: string; ip: string };
  /** A finding the bench injected (to time the operator's reaction). */
  violation?: Finding;
}

function sockets(e: Entry, netns: number): Socket[] {
  const ip = e.pod.ip;
  const base = { family: "inet" as const, netns, pid: 1, process: "app", inode: 0 };
  const tcp = (
    localPort: number,
    remoteAddress: string,
    remotePort: number,
    state: Socket["state"],
    localAddress = ip,
  ): Socket => ({ ...base, protocol: "tcp", localAddress, localPort, remoteAddress, remotePort, state });
  return [
    tcp(8080, "0.0.0.0", 0, "LISTEN", "0.0.0.0"),
    tcp(9090, "0.0.0.0", 0, "LISTEN", "0.0.0.0"),
    tcp(41000, DB_SERVICE_IP(e.nsIndex), 5432, "ESTABLISHED"),
    tcp(41001, DB_SERVICE_IP(e.nsIndex), 5432, "ESTABLISHED"),
    tcp(41002, EXTERNAL, 443, "ESTABLISHED"),
    {
      ...base,
      protocol: "udp",
      localAddress: ip,
      localPort: 52000,
      remoteAddress: DNS_IP,
      remotePort: 53,
      state: "ESTABLISHED",
    },
    tcp(8080, EDGE_IPS[0] as string, 50000, "ESTABLISHED"),
    tcp(8080, EDGE_IPS[1] as string, 50001, "ESTABLISHED"),
  ];
}

export interface FleetStats {
  writes: Record<PublishReason, number>;
  failed: number;
  builds: number;
  /** Node Lease renewals (the agent's NodeLease.stats, summed). */
  leases: { renewed: number; failed: number };
}

/** The node Lease as the bench runs it: where, how often, for how long. */
export interface LeaseOptions {
  namespace: string;
  renewMs: number;
  durationSeconds: number;
}

class SimNode {
  readonly entries = new Map<string, Entry>();
  readonly #publisher: ObservationPublisher;
  readonly #writer: ObservationWriter;
  readonly lease: NodeLease;
  readonly leaseRenewMs: number;
  #windowStart = new Date();
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(
    readonly name: string,
    readonly netns: number,
    kubeconfig: string,
    heartbeatMs: number,
    leaseOptions: LeaseOptions,
    private readonly index: ClusterIndex,
    private readonly stats: FleetStats,
  ) {
    // Its own client and connection, as each node's agent has.
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    // As the real agent's (loadKubeConfig): one connection, not a TLS handshake per request.
    reuseConnections(kc);
    this.#writer = new ObservationWriter(kc);
    this.lease = new NodeLease(kc, { ...leaseOptions, nodeName: name });
    this.leaseRenewMs = leaseOptions.renewMs;
    // As Agent does: no heartbeat while the Lease is live.
    this.#publisher = new ObservationPublisher(this.#writer, () =>
      this.lease.healthy() ? Number.POSITIVE_INFINITY : heartbeatMs,
    );
  }

  start(intervalMs: number, phaseMs: number): void {
    // The real agent renews from start-up on its own timer, whatever its scans do; agents do
    // not start in step, so neither do their renewals.
    this.lease.start(Math.random() * this.leaseRenewMs);
    this.#timer = setTimeout(() => {
      void this.tick();
      this.#timer = setInterval(() => void this.tick(), intervalMs);
    }, phaseMs);
  }

  stop(): void {
    clearTimeout(this.#timer);
    clearInterval(this.#timer);
    void this.lease.stop();
  }

  /** One observation window: what Agent.cycle does after its scan, for this node's baselines. */
  async tick(): Promise<boolean> {
    if (this.#busy) return false; // a slow API server: skip a window, as the agent's loop would
    this.#busy = true;
    const now = new Date();
    const writes: Promise<boolean>[] = [];
    for (const e of this.entries.values()) {
      const pod: ClusterPod = {
        uid: `${e.w.namespace}/${e.pod.name}`,
        namespace: e.w.namespace,
        name: e.pod.name,
        labels: { app: e.w.name },
        ips: [e.pod.ip],
        hostNetwork: false,
        nodeName: this.name,
        ports: [],
      };
      const spec = buildObservation(
        e.w.name,
        this.name,
        [{ pod, sockets: sockets(e, this.netns) }],
        e.violation ? [e.violation] : [],
        this.#windowStart,
        now,
        { baselineNamespace: e.w.namespace, resolver: this.index },
      );
      this.stats.builds++;
      const published = this.#publisher.publish(e.w.namespace, spec, now.getTime());
      if (!published) continue;
      writes.push(
        published.done.then((ok) => {
          if (ok) this.stats.writes[published.reason]++;
          else this.stats.failed++;
          return ok;
        }),
      );
    }
    this.#windowStart = now;
    await Promise.all(writes);
    this.#busy = false;
    return true;
  }
}

export class Fleet {
  readonly stats: FleetStats = {
    writes: { new: 0, changed: 0, heartbeat: 0 },
    failed: 0,
    builds: 0,
    leases: { renewed: 0, failed: 0 },
  };
  readonly nodes = new Map<string, SimNode>();

  constructor(
    l: Layout,
    pods: Map<string, { name: string; ip: string }>,
    kubeconfig: string,
    readonly o: { intervalMs: number; heartbeatMs: number; lease: LeaseOptions },
  ) {
    const index = clusterIndex(l);
    const nsIndex = new Map(l.namespaces.map((n, i) => [n, i]));
    let netns = 4026532000;
    for (const node of l.nodes)
      this.nodes.set(node, new SimNode(node, netns++, kubeconfig, o.heartbeatMs, o.lease, index, this.stats));
    for (const w of l.workloads)
      for (const node of w.nodes) {
        const pod = pods.get(`${w.namespace}/${w.name}@${node}`);
        if (!pod) continue;
        this.nodes
          .get(node)
          ?.entries.set(`${w.namespace}/${w.name}`, { w, nsIndex: nsIndex.get(w.namespace) ?? 0, pod });
      }
  }

  /** Starts every node's window timer at a random phase: real agents do not start in step. */
  start(): void {
    for (const n of this.nodes.values()) n.start(this.o.intervalMs, Math.random() * this.o.intervalMs);
  }

  stop(): void {
    for (const n of this.nodes.values()) n.stop();
  }

  /** Lease renewals so far, summed over the nodes. */
  leaseStats(): FleetStats["leases"] {
    let renewed = 0;
    let failed = 0;
    for (const n of this.nodes.values()) {
      renewed += n.lease.stats.renewed;
      failed += n.lease.stats.failed;
    }
    this.stats.leases = { renewed, failed };
    return this.stats.leases;
  }

  /** Whether every node's Lease has been renewed at least once. */
  leasesLive(): boolean {
    return [...this.nodes.values()].every((n) => n.lease.healthy());
  }

  /** The agent on `node` now sees `pod` as workload w's pod (a pod was replaced). */
  replacePod(node: string, w: WorkloadSpec, pod: { name: string; ip: string }): void {
    const e = this.nodes.get(node)?.entries.get(`${w.namespace}/${w.name}`);
    if (e) e.pod = pod;
  }

  /**
   * Adds (or clears) one active finding on workload w's pod on `node` and runs that node's
   * window now, so the time to the baseline's status counts from the write, not from the
   * next window. Resolves once the write is done.
   */
  async setViolation(node: string, w: WorkloadSpec, on: boolean): Promise<void> {
    const n = this.nodes.get(node);
    const e = n?.entries.get(`${w.namespace}/${w.name}`);
    if (!n || !e) throw new Error(`no simulated pod of ${w.namespace}/${w.name} on ${node}`);
    if (on)
      e.violation = {
        rule: "UnexpectedListener",
        severity: "medium",
        message: `pod ${w.namespace}/${e.pod.name} listens on TCP 0.0.0.0:31337, which baseline ${w.name} does not allow`,
        baseline: w.name,
        scope: `pod ${w.namespace}/${e.pod.name}`,
        count: 1,
        socket: {
          protocol: "tcp",
          localAddress: "0.0.0.0",
          localPort: 31337,
          remoteAddress: "0.0.0.0",
          remotePort: 0,
          state: "LISTEN",
          netns: n.netns,
        },
      };
    else delete e.violation;
    // Wait out a window already under way, then run one.
    for (let i = 0; i < 400; i++) {
      if (await n.tick()) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`node ${node} stayed busy`);
  }
}
