/**
 * What socklens knows about a cluster, as plain data, and the index built from it: pods,
 * services and nodes by IP, a Service's backends, namespace labels, the API server's
 * endpoints, and each pod's owning workload. Pure: src/kube fetches the objects.
 * The index is the IdentityResolver the matcher uses in the agent and in `check --kubeconfig`.
 */
import type { IdentityResolver, PeerInfo, PodInfo } from "./baseline/types.js";
import type { PodRef, Socket } from "./socket.js";
import { stableSelector, workloadOf } from "./workload.js";

export { workloadOf } from "./workload.js";

export interface OwnerRef {
  kind: string;
  name: string;
}

export interface ClusterPod {
  uid: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  ips: string[];
  hostNetwork: boolean;
  nodeName?: string;
  serviceAccount?: string;
  owner?: OwnerRef;
  ports: { name: string; port: number; protocol: "TCP" | "UDP" }[];
  /** RFC 3339: when the pod was created (an IP reused by a newer pod is the newer pod's). */
  createdAt?: string;
  /** The pod has finished (Succeeded/Failed) or was deleted: its IP may already be someone else's. */
  gone?: boolean;
}

/**
 * Which of two pods an IP means now: a running pod over one that is gone (a tombstone or a
 * finished pod), else the newer one. Pod IPs are reused; a TIME_WAIT socket to a deleted pod
 * still names that pod until its tombstone expires.
 */
export function newerClaim(a: ClusterPod, b: ClusterPod): ClusterPod {
  if (Boolean(a.gone) !== Boolean(b.gone)) return a.gone ? b : a;
  return (a.createdAt ?? "") >= (b.createdAt ?? "") ? a : b;
}

export interface ClusterSnapshot {
  pods: ClusterPod[];
  services: { namespace: string; name: string; clusterIPs: string[] }[];
  namespaces: { name: string; labels: Record<string, string> }[];
  /** EndpointSlice addresses by owning Service. */
  endpoints: { namespace: string; service: string; addresses: string[] }[];
  nodes: { name: string; addresses: string[] }[];
  /**
   * Owners of owners: ReplicaSet → Deployment, Job → CronJob, with the owner's selector
   * (matchLabels) where it has one.
   */
  owners: {
    namespace: string;
    kind: string;
    name: string;
    owner: OwnerRef;
    selector?: Record<string, string>;
  }[];
}

export class ClusterIndex implements IdentityResolver {
  readonly #podsByIp = new Map<string, ClusterPod>();
  readonly #podsByUid = new Map<string, ClusterPod>();
  readonly #services = new Map<string, { namespace: string; name: string }>();
  readonly #backends = new Map<string, string[]>();
  readonly #nodes = new Map<string, string>();
  readonly #nsLabels = new Map<string, Record<string, string>>();
  readonly #apiServer: Set<string>;
  readonly #host: Set<string>;

  constructor(
    readonly snapshot: ClusterSnapshot,
    hostAddresses: Iterable<string> = [],
  ) {
    this.#host = new Set(hostAddresses);
    for (const n of snapshot.namespaces) this.#nsLabels.set(n.name, n.labels);
    for (const p of snapshot.pods) {
      this.#podsByUid.set(p.uid, p);
      // A hostNetwork pod shares its node's IP: that address means the node, not the pod.
      if (!p.hostNetwork)
        for (const ip of p.ips) {
          const prev = this.#podsByIp.get(ip);
          this.#podsByIp.set(ip, prev ? newerClaim(prev, p) : p);
        }
    }
    for (const s of snapshot.services)
      for (const ip of s.clusterIPs) this.#services.set(ip, { namespace: s.namespace, name: s.name });
    for (const e of snapshot.endpoints) {
      const key = `${e.namespace}/${e.service}`;
      this.#backends.set(key, [...(this.#backends.get(key) ?? []), ...e.addresses]);
    }
    for (const n of snapshot.nodes) for (const a of n.addresses) this.#nodes.set(a, n.name);
    // default/kubernetes: its ClusterIP and the API servers' own addresses (its endpoints).
    const api = snapshot.services.find((s) => s.namespace === "default" && s.name === "kubernetes");
    this.#apiServer = new Set([
      ...(api?.clusterIPs ?? []),
      ...(this.#backends.get("default/kubernetes") ?? []),
    ]);
  }

  isHost(address: string): boolean {
    return address.startsWith("127.") || address === "::1" || this.#host.has(address);
  }

  isCluster(address: string): boolean {
    return (
      this.#podsByIp.has(address) ||
      this.#services.has(address) ||
      this.#nodes.has(address) ||
      this.#apiServer.has(address)
    );
  }

  isApiServer(address: string): boolean {
    return this.#apiServer.has(address);
  }

  peer(address: string): PeerInfo | undefined {
    const pod = this.#podsByIp.get(address);
    if (pod) return { kind: "pod", ...this.podInfo(pod) };
    const svc = this.#services.get(address);
    if (svc) return { kind: "service", ...svc };
    const node = this.#nodes.get(address);
    if (node) return { kind: "node", name: node };
    return undefined;
  }

  serviceBackends(namespace: string, name: string): { addresses: string[] } | undefined {
    const addresses = this.#backends.get(`${namespace}/${name}`);
    return addresses ? { addresses } : undefined;
  }

  podByUid(uid: string): ClusterPod | undefined {
    return this.#podsByUid.get(uid);
  }

  podByName(namespace: string, name: string): ClusterPod | undefined {
    return this.snapshot.pods.find((p) => p.namespace === namespace && p.name === name);
  }

  podInfo(pod: ClusterPod): PodInfo {
    return {
      namespace: pod.namespace,
      name: pod.name,
      labels: pod.labels,
      namespaceLabels: this.#nsLabels.get(pod.namespace) ?? {},
      ports: pod.ports,
      ...this.#workloadInfo(pod),
    };
  }

  readonly #workloads = new Map<string, Pick<PodInfo, "workload" | "selector">>();

  /** The pod's workload and its stable selector, computed once per pod. */
  #workloadInfo(pod: ClusterPod): Pick<PodInfo, "workload" | "selector"> {
    let info = this.#workloads.get(pod.uid);
    if (!info) {
      const workload = workloadOf(pod, this.snapshot.owners);
      info = { selector: stableSelector(pod, this.snapshot.owners), ...(workload ? { workload } : {}) };
      this.#workloads.set(pod.uid, info);
    }
    return info;
  }

  /**
   * Complete sockets with what the cluster knows, **in place**: sets `pod` (name, namespace,
   * service account, workload) on the local side and `remote` (who the peer is). In place
   * because a busy node's scan holds ~40k records and copying them each cycle would double
   * the agent's allocation; callers own the records they pass.
   */
  enrichInPlace(sockets: Socket[]): void {
    // One PodRef per pod, shared by its sockets: nothing downstream writes to a PodRef.
    const refs = new Map<string, PodRef>();
    for (const s of sockets) {
      if (s.pod) {
        let ref = refs.get(s.pod.uid);
        const pod = ref ? undefined : this.#podsByUid.get(s.pod.uid);
        if (!ref && pod) {
          const workload = workloadOf(pod, this.snapshot.owners);
          ref = { uid: pod.uid, name: pod.name, namespace: pod.namespace };
          if (pod.serviceAccount) ref.serviceAccount = pod.serviceAccount;
          if (workload) ref.workload = workload;
          refs.set(pod.uid, ref);
        }
        if (ref) s.pod = ref;
      }
      if (s.protocol === "unix" || s.remotePort === 0 || s.state === "LISTEN") continue;
      const peer = this.peer(s.remoteAddress);
      if (peer)
        s.remote =
          peer.kind === "node"
            ? { kind: "node", name: peer.name }
            : { kind: peer.kind, namespace: peer.namespace, name: peer.name };
      else if (!this.isHost(s.remoteAddress)) s.remote = { kind: "external" };
    }
  }
}
