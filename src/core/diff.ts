/**
 * What changed between two snapshots of the same host: listeners that appeared or went,
 * listeners that moved to another bind address, peers that are new or gone, and state counts.
 * Sockets are keyed by *scope* (container, else named namespace, else namespace inode) so the
 * same workload compares with itself across snapshots.
 */
import { directionOf, ListenerIndex } from "./direction.js";
import type { Socket } from "./socket.js";

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

function listenerMap(sockets: Socket[]): Map<string, Map<string, ListenerChange>> {
  // scope|proto|port → address → listener
  const out = new Map<string, Map<string, ListenerChange>>();
  for (const s of sockets) {
    const listening = s.state === "LISTEN" || (s.state === "UNCONN" && s.protocol === "udp");
    if (!listening || s.protocol === "unix") continue;
    const key = `${scopeOf(s)}|${s.protocol}|${s.localPort}`;
    let byAddr = out.get(key);
    if (!byAddr) {
      byAddr = new Map();
      out.set(key, byAddr);
    }
    const l: ListenerChange = {
      scope: scopeOf(s),
      protocol: s.protocol,
      port: s.localPort,
      address: s.localAddress,
    };
    if (s.process) l.process = s.process;
    byAddr.set(s.localAddress, l);
  }
  return out;
}

function peerMap(sockets: Socket[]): Map<string, PeerChange> {
  const listeners = new ListenerIndex(sockets);
  const out = new Map<string, PeerChange>();
  for (const s of sockets) {
    if (s.protocol === "unix") continue;
    const dir = directionOf(s, listeners);
    if (dir !== "ingress" && dir !== "egress") continue;
    const port = dir === "ingress" ? s.localPort : s.remotePort;
    const p: PeerChange = {
      scope: scopeOf(s),
      direction: dir,
      protocol: s.protocol,
      peerAddress: s.remoteAddress,
      port,
    };
    if (s.process) p.process = s.process;
    const key = `${p.scope}|${dir}|${p.protocol}|${p.peerAddress}|${port}`;
    if (!out.has(key)) out.set(key, p);
  }
  return out;
}

function stateCounts(sockets: Socket[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of sockets) if (s.protocol === "tcp") out.set(s.state, (out.get(s.state) ?? 0) + 1);
  return out;
}

export function diffSnapshots(before: Socket[], after: Socket[]): SnapshotDiff {
  const lb = listenerMap(before);
  const la = listenerMap(after);
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

  const pb = peerMap(before);
  const pa = peerMap(after);
  for (const [key, p] of pa) if (!pb.has(key)) diff.peersAdded.push(p);
  for (const [key, p] of pb) if (!pa.has(key)) diff.peersRemoved.push(p);

  const cb = stateCounts(before);
  const ca = stateCounts(after);
  for (const state of new Set([...cb.keys(), ...ca.keys()])) {
    const b = cb.get(state) ?? 0;
    const a = ca.get(state) ?? 0;
    if (a !== b) diff.stateCounts.push({ state, before: b, after: a });
  }
  diff.stateCounts.sort((x, y) => x.state.localeCompare(y.state));
  return diff;
}

/**
 * Any difference counts, state counts included (see docs/adr/0002-diff-exit-codes.md);
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
