/**
 * What changed between two snapshots of the same host: listeners that appeared or went,
 * listeners that moved to another bind address, peers that are new or gone, and state counts.
 * Sockets are keyed by *scope* (container, else named namespace, else namespace inode) so the
 * same workload compares with itself across snapshots.
 */
import { ListenerIndex } from "./direction.js";
import type { Socket } from "./socket.js";
import { classifyTraffic, type Traffic } from "./traffic.js";

export interface ListenerChange {
  scope: string;
  protocol: string;
  port: number;
  address: string;
  process?: string;
}

export interface BindChange {
  scope: string;
  protocol: string;
  port: number;
  before: string[];
  after: string[];
  process?: string;
}

export interface PeerChange {
  scope: string;
  direction: "ingress" | "egress";
  protocol: string;
  peerAddress: string;
  /** Egress: the remote port; ingress: our local (service) port. */
  port: number;
  process?: string;
}

export interface StateCountChange {
  state: string;
  before: number;
  after: number;
}

export interface SnapshotDiff {
  listenersAdded: ListenerChange[];
  listenersRemoved: ListenerChange[];
  bindChanged: BindChange[];
  peersAdded: PeerChange[];
  peersRemoved: PeerChange[];
  stateCounts: StateCountChange[];
}

export function scopeOf(s: Socket): string {
  if (s.container) return `container:${s.container.id.slice(0, 12)}`;
  if (s.netnsName) return `netns:${s.netnsName}`;
  return `netns:${s.netns}`;
}

/** Every scope's traffic, direction judged over the whole snapshot (a scope is a slice of it). */
function trafficByScope(sockets: Socket[]): Map<string, Traffic> {
  const index = new ListenerIndex(sockets);
  const byScope = new Map<string, Socket[]>();
  for (const s of sockets) {
    const scope = scopeOf(s);
    const list = byScope.get(scope);
    if (list) list.push(s);
    else byScope.set(scope, [s]);
  }
  return new Map([...byScope].map(([scope, list]) => [scope, classifyTraffic(list, index)]));
}

function listenerMap(traffic: Map<string, Traffic>): Map<string, Map<string, ListenerChange>> {
  // scope|proto|port → address → listener
  const out = new Map<string, Map<string, ListenerChange>>();
  for (const [scope, t] of traffic) {
    for (const use of t.listeners) {
      const protocol = use.first.protocol;
      const key = `${scope}|${protocol}|${use.port}`;
      let byAddr = out.get(key);
      if (!byAddr) {
        byAddr = new Map();
        out.set(key, byAddr);
      }
      const l: ListenerChange = { scope, protocol, port: use.port, address: use.address };
      if (use.process) l.process = use.process;
      byAddr.set(use.address, l);
    }
  }
  return out;
}

function peerMap(traffic: Map<string, Traffic>): Map<string, PeerChange> {
  const out = new Map<string, PeerChange>();
  for (const [scope, t] of traffic) {
    for (const use of t.peers) {
      const p: PeerChange = {
        scope,
        direction: use.direction,
        protocol: use.protocol,
        peerAddress: use.address,
        port: use.port,
      };
      if (use.first.process) p.process = use.first.process;
      out.set(`${scope}|${use.direction}|${use.protocol}|${use.address}|${use.port}`, p);
    }
  }
  return out;
}

function stateCounts(traffic: Map<string, Traffic>): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of traffic.values())
    for (const [state, n] of Object.entries(t.tcpStates)) out.set(state, (out.get(state) ?? 0) + n);
  return out;
}

export function diffSnapshots(before: Socket[], after: Socket[]): SnapshotDiff {
  const tb = trafficByScope(before);
  const ta = trafficByScope(after);
  const lb = listenerMap(tb);
  const la = listenerMap(ta);
  const diff: SnapshotDiff = {
    listenersAdded: [],
    listenersRemoved: [],
    bindChanged: [],
    peersAdded: [],
    peersRemoved: [],
    stateCounts: [],
  };
  for (const [key, after] of la) {
    const prev = lb.get(key);
    if (!prev) for (const l of after.values()) diff.listenersAdded.push(l);
    else if ([...after.keys()].sort().join() !== [...prev.keys()].sort().join()) {
      const any = [...after.values()][0] as ListenerChange;
      const change: BindChange = {
        scope: any.scope,
        protocol: any.protocol,
        port: any.port,
        before: [...prev.keys()].sort(),
        after: [...after.keys()].sort(),
      };
      if (any.process) change.process = any.process;
      diff.bindChanged.push(change);
    }
  }
  // Loops, not push(...values): a forged snapshot can hold a million listeners on one port.
  for (const [key, prev] of lb)
    if (!la.has(key)) for (const l of prev.values()) diff.listenersRemoved.push(l);

  const pb = peerMap(tb);
  const pa = peerMap(ta);
  for (const [key, p] of pa) if (!pb.has(key)) diff.peersAdded.push(p);
  for (const [key, p] of pb) if (!pa.has(key)) diff.peersRemoved.push(p);

  const cb = stateCounts(tb);
  const ca = stateCounts(ta);
  for (const state of new Set([...cb.keys(), ...ca.keys()])) {
    const b = cb.get(state) ?? 0;
    const a = ca.get(state) ?? 0;
    if (a !== b) diff.stateCounts.push({ state, before: b, after: a });
  }
  diff.stateCounts.sort((x, y) => x.state.localeCompare(y.state));
  return diff;
}

/**
 * Any difference counts, state counts included (see docs/adr/0002-diff-semantics.md);
 * `ignoreStateCounts` is for callers who only care about the service graph.
 */
export function hasDifferences(d: SnapshotDiff, options: { ignoreStateCounts?: boolean } = {}): boolean {
  const graph =
    d.listenersAdded.length +
    d.listenersRemoved.length +
    d.bindChanged.length +
    d.peersAdded.length +
    d.peersRemoved.length;
  return graph > 0 || (!options.ignoreStateCounts && d.stateCounts.length > 0);
}
