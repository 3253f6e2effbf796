/**
 * Learning: turn repeated observations of a scope into a NetworkBaseline that allows exactly
 * what was seen. Peers are learned as identities when the cluster is known — a pod as its
 * workload's stable selector, a ClusterIP as its Service, node and API server addresses as
 * entities — and as /32 (/128) addresses only when nothing knows them (a plain host, the
 * outside world). Ports are service ports (the peer's for egress, ours for ingress): an
 * ephemeral port is never learned. Thresholds follow limits.ts, not the window's maximum.
 * Pure: the CLI does the observing and writing.
 */
import { API_VERSION } from "../../api/v1alpha1/common.js";
import type {
  EgressRule,
  IngressRule,
  Listener,
  NetworkBaselineInput,
  Peer,
} from "../../api/v1alpha1/networkbaseline.js";
import type { Socket } from "../socket.js";
import { baselinePeers, classifyTraffic, type ListeningOptions } from "../traffic.js";
import { DEFAULT_STATE_LIMITS, establishedCeiling, headroom } from "./limits.js";
import { identifyPeer, type PeerIdentity, peerFor, peerKey } from "./peer-identity.js";
import type { IdentityResolver } from "./types.js";

export { headroom } from "./limits.js";

interface LearnedIdentity {
  identity: PeerIdentity;
  /** "port/PROTO" */
  ports: Set<string>;
}

export class Learner {
  readonly #listeners = new Map<string, Listener>();
  readonly #egress = new Map<string, LearnedIdentity>();
  readonly #ingress = new Map<string, LearnedIdentity>();
  readonly #maxStates = new Map<string, number>();
  #maxListeners = 0;
  observations = 0;

  /**
   * One scan of the scope. With a resolver that knows the cluster, peers are learned as
   * identities; without one, as addresses (a plain host has nothing better to name them by).
   */
  observe(sockets: readonly Socket[], resolver?: IdentityResolver, options: ListeningOptions = {}): void {
    this.observations++;
    const traffic = classifyTraffic(sockets, undefined, options);
    for (const use of traffic.listeners) {
      const l: Listener = { port: use.port, protocol: use.protocol, address: use.address };
      if (use.process) l.process = use.process;
      this.#listeners.set(`${use.protocol}|${use.address}|${use.port}|${use.process ?? ""}`, l);
    }
    for (const use of baselinePeers(traffic)) {
      const identity: PeerIdentity = resolver
        ? identifyPeer(use.address, resolver)
        : { kind: "address", address: use.address };
      const map = use.direction === "egress" ? this.#egress : this.#ingress;
      // Keyed as seen from any namespace: the baseline's is only known at the end.
      const key = peerKey(peerFor(identity, ""));
      let entry = map.get(key);
      if (!entry) {
        entry = { identity, ports: new Set() };
        map.set(key, entry);
      }
      entry.ports.add(`${use.port}/${use.transport}`);
    }
    for (const [state, n] of Object.entries(traffic.tcpStates))
      this.#maxStates.set(state, Math.max(this.#maxStates.get(state) ?? 0, n));
    this.#maxListeners = Math.max(this.#maxListeners, traffic.listening);
  }

  /** The baseline that allows exactly what was observed. */
  baseline(meta: {
    name: string;
    namespace: string;
    podSelector?: Record<string, string>;
  }): NetworkBaselineInput {
    // The failure states get their defaults, or room above what was seen if that was more
    // (a service that always holds a few CLOSE_WAIT is not a leak). TIME_WAIT is judged
    // against the port range, not learned; other states are transient and not learned.
    const tcpStates: Record<string, number> = {};
    for (const [state, limit] of Object.entries(DEFAULT_STATE_LIMITS)) {
      const seen = this.#maxStates.get(state) ?? 0;
      tcpStates[state] = Math.max(limit, headroom(seen));
    }
    const rules = (map: Map<string, LearnedIdentity>) =>
      [...map.values()].map((e) => ({ peer: peerFor(e.identity, meta.namespace), ports: e.ports }));
    return {
      apiVersion: API_VERSION,
      kind: "NetworkBaseline",
      metadata: { name: meta.name, namespace: meta.namespace },
      spec: {
        podSelector: meta.podSelector ? { matchLabels: meta.podSelector } : {},
        mode: "Alert",
        listeners: [...this.#listeners.values()].sort(
          (a, b) => Number(a.port) - Number(b.port) || String(a.address).localeCompare(String(b.address)),
        ),
        egress: peerRules(rules(this.#egress), "to") as EgressRule[],
        ingress: peerRules(rules(this.#ingress), "from") as IngressRule[],
        thresholds: {
          tcpStates,
          established: establishedCeiling(this.#maxStates.get("ESTABLISHED") ?? 0),
          listeners: headroom(this.#maxListeners),
        },
      },
    };
  }
}

/**
 * One rule per peer (an identity, or a /32 or /128 ipBlock) with the union of the ports seen
 * for it, from however many scans or nodes: exactly what was observed, easy to review line by
 * line. Ports are "port/PROTO" strings.
 */
export function peerRules(
  peers: Iterable<{ peer: Peer; ports: Iterable<string> }>,
  key: "to" | "from",
): (EgressRule | IngressRule)[] {
  const merged = new Map<string, { peer: Peer; ports: Set<string> }>();
  for (const { peer, ports } of peers) {
    const k = peerKey(peer);
    const entry = merged.get(k) ?? { peer, ports: new Set<string>() };
    for (const p of ports) entry.ports.add(p);
    merged.set(k, entry);
  }
  return [...merged.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, { peer, ports }]) => ({
      [key]: [peer],
      ports: [...ports].sort(comparePorts).map((p) => {
        const [port, protocol] = p.split("/");
        return { port: Number(port), protocol: protocol as "TCP" | "UDP" };
      }),
    }));
}

function comparePorts(a: string, b: string): number {
  return Number.parseInt(a, 10) - Number.parseInt(b, 10) || a.localeCompare(b);
}
