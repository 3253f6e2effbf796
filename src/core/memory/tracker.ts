/**
 * The memory: a pure tracker fed one scan after another (clock passed in) that keeps, per
 * scope (a pod, or a network namespace on a host), bounded state the detectors read:
 *
 * - each connection (by protocol and 4-tuple) with when it was first and last seen, its
 *   state and since when, and who held it;
 * - per peer (address, port, protocol) the arrival times of new outbound connections — a
 *   connection seen only in TIME_WAIT arrives when it closed, which the kernel's TIME_WAIT
 *   timer tells to the tick (60 s minus what is left), so a beacon shows at its real rhythm
 *   even when scans are 15 s apart;
 * - per scope the count series of each TCP state;
 * - the processes seen in the scope (for discovery tools).
 *
 * Bounds (TrackerLimits): every map is capped and ages out entries not seen for a while, so a
 * busy node cannot grow the agent's memory. The agent and `socklens watch` share it; the
 * seasonal models of the next issue hang off the same per-scope series.
 */
import type { Socket } from "../socket.js";
import { isLoopback } from "../traffic.js";

export interface TrackerLimits {
  /** Scopes kept at once (a node runs at most ~110 pods; hosts a few dozen namespaces). */
  maxScopes: number;
  /** Connections remembered per scope. */
  maxConnections: number;
  /** Peers with arrival history per scope. */
  maxPeers: number;
  /** Arrival times kept per peer (the newest). */
  arrivalsPerPeer: number;
  /** Points kept per count series. */
  seriesPoints: number;
  /** Processes remembered per scope. */
  maxProcesses: number;
  /** Forget what has not been seen for this long. */
  forgetAfterMs: number;
}

export const DEFAULT_LIMITS: TrackerLimits = {
  maxScopes: 512,
  maxConnections: 8192,
  maxPeers: 1024,
  arrivalsPerPeer: 64,
  seriesPoints: 240,
  maxProcesses: 1024,
  forgetAfterMs: 10 * 60_000,
};

/** Linux holds a closed connection in TIME_WAIT for 60 s (TCP_TIMEWAIT_LEN). */
const TIME_WAIT_MS = 60_000;

export interface ConnectionMemory {
  protocol: Socket["protocol"];
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: string;
  firstSeen: number;
  lastSeen: number;
  /** When it entered its current state (first scan that saw it there). */
  stateSince: number;
  pid?: number;
  process?: string;
}

export interface PeerMemory {
  address: string;
  port: number;
  protocol: Socket["protocol"];
  /** Arrival times of new outbound connections, oldest first. */
  arrivals: number[];
  /** The process that held the newest live connection to this peer. */
  pid?: number;
  process?: string;
  lastSeen: number;
}

export interface ProcessMemory {
  pid: number;
  comm: string;
  cmdline: string;
  ppid?: number;
  parent?: string;
  uid?: number;
  user?: string;
  firstSeen: number;
  lastSeen: number;
}

/** A process as a scan saw it (from procfs/processes.ts). */
export type ProcessSighting = Omit<ProcessMemory, "firstSeen" | "lastSeen">;

export interface ScopeMemory {
  scope: string;
  connections: Map<string, ConnectionMemory>;
  peers: Map<string, PeerMemory>;
  /** Per TCP state: (time, count) points, oldest first. */
  series: Map<string, { t: number; n: number }[]>;
  processes: Map<number, ProcessMemory>;
  /** Scans of this scope so far, and when the first and the last were. */
  scans: number;
  firstScan: number;
  lastScan: number;
}

export interface ScopeScan {
  scope: string;
  sockets: readonly Socket[];
  processes?: readonly ProcessSighting[];
}

function connectionKey(s: Socket): string {
  return `${s.protocol}|${s.localAddress}|${s.localPort}|${s.remoteAddress}|${s.remotePort}`;
}

/** Keep a map under `max` entries by dropping the least recently seen. */
function cap<V extends { lastSeen: number }>(m: Map<unknown, V>, max: number): void {
  if (m.size <= max) return;
  const byAge = [...m.entries()].sort((a, b) => a[1].lastSeen - b[1].lastSeen);
  for (const [k] of byAge.slice(0, m.size - max)) m.delete(k);
}

export class Tracker {
  readonly #scopes = new Map<string, ScopeMemory>();

  constructor(readonly limits: TrackerLimits = DEFAULT_LIMITS) {}

  scope(name: string): ScopeMemory | undefined {
    return this.#scopes.get(name);
  }

  scopes(): IterableIterator<ScopeMemory> {
    return this.#scopes.values();
  }

  /** Feed one scan. `now` is the scan's time (ms). Scopes not in this scan are kept until they age out. */
  observe(now: number, scans: readonly ScopeScan[]): void {
    for (const scan of scans) this.#observeScope(now, scan);
    for (const [name, m] of this.#scopes)
      if (now - m.lastScan > this.limits.forgetAfterMs) this.#scopes.delete(name);
    if (this.#scopes.size > this.limits.maxScopes) {
      const byAge = [...this.#scopes.values()].sort((a, b) => a.lastScan - b.lastScan);
      for (const m of byAge.slice(0, this.#scopes.size - this.limits.maxScopes)) this.#scopes.delete(m.scope);
    }
  }

  #observeScope(now: number, scan: ScopeScan): void {
    let m = this.#scopes.get(scan.scope);
    if (!m) {
      m = {
        scope: scan.scope,
        connections: new Map(),
        peers: new Map(),
        series: new Map(),
        processes: new Map(),
        scans: 0,
        firstScan: now,
        lastScan: now,
      };
      this.#scopes.set(scan.scope, m);
    }
    const firstScanOfScope = m.scans === 0;
    m.scans++;
    m.lastScan = now;
    const listening = new Set<number>();
    for (const s of scan.sockets)
      if (s.protocol === "tcp" && s.state === "LISTEN") listening.add(s.localPort);

    const counts = new Map<string, number>();
    for (const s of scan.sockets) {
      if (s.protocol !== "tcp" && s.protocol !== "udp") continue;
      if (s.protocol === "tcp") counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
      if (
        s.state === "LISTEN" ||
        (s.remotePort === 0 && (s.remoteAddress === "0.0.0.0" || s.remoteAddress === "::"))
      )
        continue;
      const key = connectionKey(s);
      const known = m.connections.get(key);
      if (known) {
        known.lastSeen = now;
        if (known.state !== s.state) {
          known.state = s.state;
          known.stateSince = now;
        }
        if (s.pid !== undefined) {
          known.pid = s.pid;
          if (s.process !== undefined) known.process = s.process;
        }
      } else {
        const c: ConnectionMemory = {
          protocol: s.protocol,
          localAddress: s.localAddress,
          localPort: s.localPort,
          remoteAddress: s.remoteAddress,
          remotePort: s.remotePort,
          state: s.state,
          firstSeen: now,
          lastSeen: now,
          stateSince: now,
        };
        if (s.pid !== undefined) c.pid = s.pid;
        if (s.process !== undefined) c.process = s.process;
        m.connections.set(key, c);
        // A new outbound connection (not one accepted on a listening port, not loopback)
        // arrives at its peer. The first scan of a scope only sets the stage: what it sees
        // already existed, and its arrival times are unknown except for TIME_WAIT.
        const outbound = s.protocol === "udp" || !listening.has(s.localPort);
        if (outbound && !isLoopback(s.remoteAddress)) {
          const arrival =
            s.state === "TIME_WAIT" && s.timer?.kind === "timewait"
              ? now - Math.max(0, TIME_WAIT_MS - s.timer.expiresInMs)
              : now;
          if (!firstScanOfScope || s.state === "TIME_WAIT") this.#arrive(m, s, arrival, now);
        }
      }
      if (s.pid !== undefined) this.#holder(m, s, now);
    }
    for (const [key, c] of m.connections) if (c.lastSeen !== now) m.connections.delete(key);
    cap(m.connections, this.limits.maxConnections);

    for (const state of new Set([...counts.keys(), ...m.series.keys()])) {
      let points = m.series.get(state);
      if (!points) {
        points = [];
        m.series.set(state, points);
      }
      points.push({ t: now, n: counts.get(state) ?? 0 });
      if (points.length > this.limits.seriesPoints)
        points.splice(0, points.length - this.limits.seriesPoints);
    }

    for (const p of scan.processes ?? []) {
      const known = m.processes.get(p.pid);
      if (known && known.comm === p.comm) known.lastSeen = now;
      else m.processes.set(p.pid, { ...p, firstSeen: now, lastSeen: now });
    }
    for (const [pid, p] of m.processes)
      if (now - p.lastSeen > this.limits.forgetAfterMs) m.processes.delete(pid);
    cap(m.processes, this.limits.maxProcesses);
    for (const [key, p] of m.peers) if (now - p.lastSeen > this.limits.forgetAfterMs) m.peers.delete(key);
    cap(m.peers, this.limits.maxPeers);
  }

  #peer(m: ScopeMemory, s: Socket, now: number): PeerMemory {
    const key = `${s.protocol}|${s.remoteAddress}|${s.remotePort}`;
    let p = m.peers.get(key);
    if (!p) {
      p = { address: s.remoteAddress, port: s.remotePort, protocol: s.protocol, arrivals: [], lastSeen: now };
      m.peers.set(key, p);
    }
    p.lastSeen = now;
    return p;
  }

  #arrive(m: ScopeMemory, s: Socket, at: number, now: number): void {
    const p = this.#peer(m, s, now);
    // Keep arrivals sorted: TIME_WAIT arrivals are back-dated.
    let i = p.arrivals.length;
    while (i > 0 && (p.arrivals[i - 1] as number) > at) i--;
    p.arrivals.splice(i, 0, at);
    if (p.arrivals.length > this.limits.arrivalsPerPeer)
      p.arrivals.splice(0, p.arrivals.length - this.limits.arrivalsPerPeer);
  }

  /** Remember who held the newest live connection to a peer: TIME_WAIT sockets have no holder. */
  #holder(m: ScopeMemory, s: Socket, now: number): void {
    const key = `${s.protocol}|${s.remoteAddress}|${s.remotePort}`;
    const p = m.peers.get(key);
    if (!p) return;
    p.pid = s.pid as number;
    if (s.process !== undefined) p.process = s.process;
    p.lastSeen = now;
  }
}
