/**
 * Learning: turn repeated observations of a scope into a NetworkBaseline that allows exactly
 * what was seen. Peers are learned as identities when the cluster is known — a pod as its
 * workload's stable selector, a ClusterIP as its Service, node and API server addresses as
 * entities — and as /32 (/128) addresses only when nothing knows them (a plain host, the
 * outside world). Ports are service ports (the peer's for egress, ours for ingress): an
 * ephemeral port is never learned. Thresholds follow limits.ts, not the window's maximum.
 * Pure: the CLI does the observing and writing.
 */
import { API_VERSION, MAX_MATCH_LABELS } from "../../api/v1alpha1/common.js";
import {
  type EgressRule,
  type IngressRule,
  type Listener,
  MAX_LISTENERS,
  MAX_PEERS_PER_RULE,
  MAX_PORTS_PER_RULE,
  MAX_RULES,
  type NetworkBaselineInput,
  type Peer,
} from "../../api/v1alpha1/networkbaseline.js";
import type { Socket } from "../socket.js";
import { baselinePeers, classifyTraffic, type ListeningOptions } from "../traffic.js";
import { describePeer, describePort } from "./compile.js";
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

  /** How much has been learned so far: what `socklens learn` shows as progress. */
  get seen(): { listeners: number; egress: number; ingress: number } {
    return { listeners: this.#listeners.size, egress: this.#egress.size, ingress: this.#ingress.size };
  }

  /** The baseline that allows exactly what was observed (see `learned` for what did not fit). */
  baseline(meta: LearnMeta): NetworkBaselineInput {
    return this.learned(meta).baseline;
  }

  /**
   * The baseline that allows exactly what was observed, within the schema's limits, and a
   * sentence for each thing that could not be written (`omitted`): nothing is ever widened to
   * fit, so what is left out shows up as a finding once the baseline is in Alert mode.
   */
  learned(meta: LearnMeta): { baseline: NetworkBaselineInput; omitted: string[] } {
    const omitted: string[] = [];
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
    // More labels than a selector holds: leave it to the reviewer, as for a scope without a pod.
    const labels = meta.podSelector ? Object.keys(meta.podSelector).length : 0;
    if (labels > MAX_MATCH_LABELS)
      omitted.push(
        `spec.podSelector: the pod has ${labels} stable labels and a selector holds at most ${MAX_MATCH_LABELS}; set spec.podSelector by hand`,
      );
    const selector = meta.podSelector && labels <= MAX_MATCH_LABELS ? { matchLabels: meta.podSelector } : {};
    const baseline: NetworkBaselineInput = {
      apiVersion: API_VERSION,
      kind: "NetworkBaseline",
      metadata: { name: meta.name, namespace: meta.namespace },
      spec: {
        podSelector: selector,
        mode: "Alert",
        listeners: fitListeners([...this.#listeners.values()], omitted),
        egress: peerRules(rules(this.#egress), "to", omitted) as EgressRule[],
        ingress: peerRules(rules(this.#ingress), "from", omitted) as IngressRule[],
        thresholds: {
          tcpStates,
          established: establishedCeiling(this.#maxStates.get("ESTABLISHED") ?? 0),
          listeners: headroom(this.#maxListeners),
        },
      },
    };
    return { baseline, omitted };
  }
}

export interface LearnMeta {
  name: string;
  namespace: string;
  podSelector?: Record<string, string>;
}

function compareListeners(a: Listener, b: Listener): number {
  return (
    Number(a.port) - Number(b.port) ||
    String(a.port).localeCompare(String(b.port)) ||
    String(a.address).localeCompare(String(b.address)) ||
    String(a.protocol).localeCompare(String(b.protocol)) ||
    String(a.process).localeCompare(String(b.process))
  );
}

/**
 * Listeners within MAX_LISTENERS, sorted by port. Exactly as seen while they fit; past that,
 * consecutive ports with the same protocol, address and process become one range (still
 * exact); what still does not fit is left out and named in `omitted`, never widened.
 */
export function fitListeners(listeners: Listener[], omitted: string[]): Listener[] {
  const sorted = listeners
    .filter((l) => {
      if (typeof l.port !== "number" || (l.port >= 1 && l.port <= 65535)) return true;
      omitted.push(
        `listener on port ${l.port}/${l.protocol ?? "TCP"}: not a port a listener can name (1-65535)`,
      );
      return false;
    })
    .sort(compareListeners);
  if (sorted.length <= MAX_LISTENERS) return sorted;
  const singles = new Map<string, { like: Listener; ports: number[] }>();
  const others: Listener[] = [];
  for (const l of sorted) {
    if (typeof l.port !== "number" || l.endPort !== undefined) {
      others.push(l);
      continue;
    }
    const key = JSON.stringify([l.protocol ?? "TCP", l.address ?? "", l.process ?? ""]);
    const group = singles.get(key) ?? { like: l, ports: [] };
    group.ports.push(l.port);
    singles.set(key, group);
  }
  const ranged = [...others];
  for (const { like, ports } of singles.values())
    for (const r of toRanges(ports)) {
      const { endPort: _e, ...rest } = like;
      ranged.push({ ...rest, port: r.port, ...(r.endPort !== undefined ? { endPort: r.endPort } : {}) });
    }
  ranged.sort(compareListeners);
  for (const l of ranged.slice(MAX_LISTENERS))
    omitted.push(
      `listener ${describePort(l)}${l.address ? ` on ${l.address}` : ""}${l.process ? ` by ${l.process}` : ""}: a baseline holds at most ${MAX_LISTENERS} listeners`,
    );
  return ranged.slice(0, MAX_LISTENERS);
}

/** Sorted, distinct port numbers as runs: [80, 81, 82, 443] → 80-82, 443. */
function toRanges(ports: number[]): { port: number; endPort?: number }[] {
  const sorted = [...new Set(ports)].sort((a, b) => a - b);
  const out: { port: number; endPort?: number }[] = [];
  for (const p of sorted) {
    const last = out[out.length - 1];
    if (last && (last.endPort ?? last.port) + 1 === p) last.endPort = p;
    else out.push({ port: p });
  }
  return out;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

type PortEntry = { port: number; endPort?: number; protocol: "TCP" | "UDP" };

/**
 * One rule per peer (an identity, or a /32 or /128 ipBlock) with the union of the ports seen
 * for it, from however many scans or nodes: exactly what was observed, easy to review line by
 * line. Ports are "port/PROTO" strings.
 *
 * Within the schema's limits (MAX_RULES rules, MAX_PEERS_PER_RULE peers and
 * MAX_PORTS_PER_RULE ports per rule), in three steps, each only when the one before does not
 * fit: one rule per peer; then, still exact, consecutive ports as ranges and peers with the
 * same ports in one rule; then the rules that cover the most of what was seen, with the rest
 * named in `omitted`. Never wider than what was seen: a port that is not one (0) is left out
 * too, since a rule without ports would allow every port.
 */
export function peerRules(
  peers: Iterable<{ peer: Peer; ports: Iterable<string> }>,
  key: "to" | "from",
  omitted: string[] = [],
): (EgressRule | IngressRule)[] {
  const direction = key === "to" ? "egress to" : "ingress from";
  const merged = new Map<string, { peer: Peer; ports: Set<string> }>();
  for (const { peer, ports } of peers) {
    const k = peerKey(peer);
    const entry = merged.get(k) ?? { peer, ports: new Set<string>() };
    for (const p of ports) entry.ports.add(p);
    merged.set(k, entry);
  }
  const perPeer: { peer: Peer; ports: PortEntry[] }[] = [];
  for (const [, { peer, ports }] of [...merged.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const valid: PortEntry[] = [];
    for (const p of [...ports].sort(comparePorts)) {
      const [portText, protocol] = p.split("/");
      const port = Number(portText);
      if (Number.isInteger(port) && port >= 1 && port <= 65535 && (protocol === "TCP" || protocol === "UDP"))
        valid.push({ port, protocol });
      else omitted.push(`${direction} ${describePeer(peer)} on ${p}: not a port a rule can name (1-65535)`);
    }
    if (valid.length > 0) perPeer.push({ peer, ports: valid });
  }
  if (perPeer.length <= MAX_RULES && perPeer.every((p) => p.ports.length <= MAX_PORTS_PER_RULE))
    return perPeer.map(({ peer, ports }) => ({ [key]: [peer], ports }));

  const groups = new Map<string, { peers: Peer[]; ports: PortEntry[] }>();
  for (const { peer, ports } of perPeer) {
    const ranged: PortEntry[] = [];
    for (const protocol of ["TCP", "UDP"] as const)
      for (const r of toRanges(ports.filter((p) => p.protocol === protocol).map((p) => p.port)))
        ranged.push({ ...r, protocol });
    const k = JSON.stringify(ranged);
    const group = groups.get(k) ?? { peers: [], ports: ranged };
    group.peers.push(peer);
    groups.set(k, group);
  }
  const rules: { peers: Peer[]; ports: PortEntry[] }[] = [];
  for (const g of groups.values())
    for (const peerChunk of chunks(g.peers, MAX_PEERS_PER_RULE))
      for (const portChunk of chunks(g.ports, MAX_PORTS_PER_RULE))
        rules.push({ peers: peerChunk, ports: portChunk });
  const asRule = (r: { peers: Peer[]; ports: PortEntry[] }) => ({ [key]: r.peers, ports: r.ports });
  if (rules.length <= MAX_RULES) return rules.map(asRule);

  const size = (r: { peers: Peer[]; ports: PortEntry[] }) =>
    r.peers.length * r.ports.reduce((n, p) => n + (p.endPort ?? p.port) - p.port + 1, 0);
  const ranked = rules.map((r, i) => ({ r, i })).sort((a, b) => size(b.r) - size(a.r) || a.i - b.i);
  for (const { r } of ranked.slice(MAX_RULES))
    omitted.push(
      `${direction} ${r.peers.map(describePeer).join(", ")} on ${r.ports.map(describePort).join(", ")}: a baseline holds at most ${MAX_RULES} ${key === "to" ? "egress" : "ingress"} rules`,
    );
  return ranked
    .slice(0, MAX_RULES)
    .sort((a, b) => a.i - b.i)
    .map(({ r }) => asRule(r));
}

function comparePorts(a: string, b: string): number {
  return Number.parseInt(a, 10) - Number.parseInt(b, 10) || a.localeCompare(b);
}
