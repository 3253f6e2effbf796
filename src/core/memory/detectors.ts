/**
 * Detectors on the tracker's memory: each reads one scope's history and returns findings
 * with a rule id, a severity, MITRE ATT&CK where one fits, the structured fields, and one
 * sentence saying what happened and why it matters. Pure; parameters in DetectorOptions,
 * documented in docs/detectors.md with what each cannot see.
 */
import { hostPort } from "../../net/address.js";
import type { DetectorRule, Finding } from "../baseline/types.js";

export type { DetectorRule } from "../baseline/types.js";

import { DEFAULT_EPHEMERAL_RANGE } from "../baseline/limits.js";
import { linearFit, mad, median } from "./stats.js";
import type { ConnectionMemory, ProcessMemory, ScopeMemory } from "./tracker.js";

export interface DetectorOptions {
  /** Beaconing: at least this many arrivals, at most this jitter (MAD / median interval). */
  beaconMinArrivals: number;
  beaconMaxJitter: number;
  /** Beaconing: intervals outside this range are not a beacon (ms). */
  beaconMinIntervalMs: number;
  beaconMaxIntervalMs: number;
  /** Peers beaconing is not judged for (cluster-internal, this host): polling a Service is normal. */
  isInternal: (address: string) => boolean;
  /** Growth: the window looked at, the least it must rise, and the factor. */
  growthWindowMs: number;
  growthMinRise: number;
  growthMinFactor: number;
  /** Known limits a growth forecast runs to (e.g. the baseline's ceiling), by state. */
  limits: Record<string, number | undefined>;
  /** Open-file limits of busy processes, by pid: a growing process runs into its own. */
  fileLimits: ReadonlyMap<number, number>;
  /** CLOSE_WAIT sockets that stayed at least this long, at least this many. */
  closeWaitMinAgeMs: number;
  closeWaitMinCount: number;
  /** A SYN_SENT socket older than this is a handshake that is failing. */
  synSentMinAgeMs: number;
  /** The namespace's ephemeral range and the share of it that is pressure. */
  ephemeralPorts: readonly [number, number];
  ephemeralShare: number;
  /** Executables that list connections or map a network (comm or argv[0] basename). */
  discoveryTools: ReadonlySet<string>;
}

/** T1049 System Network Connections Discovery; T1046 Network Service Discovery for scanners. */
export const DISCOVERY_TOOLS: ReadonlySet<string> = new Set([
  "netstat",
  "ss",
  "lsof",
  "nmap",
  "masscan",
  "zmap",
  "arp",
  "arp-scan",
  "nbtscan",
  "fping",
  "tcpdump",
  "tshark",
  "conntrack",
]);

export const DEFAULT_DETECTOR_OPTIONS: DetectorOptions = {
  beaconMinArrivals: 8,
  beaconMaxJitter: 0.1,
  beaconMinIntervalMs: 500,
  beaconMaxIntervalMs: 3_600_000,
  isInternal: () => false,
  growthWindowMs: 60_000,
  growthMinRise: 50,
  growthMinFactor: 2,
  limits: {},
  fileLimits: new Map(),
  closeWaitMinAgeMs: 30_000,
  closeWaitMinCount: 5,
  synSentMinAgeMs: 3_000,
  ephemeralPorts: DEFAULT_EPHEMERAL_RANGE,
  ephemeralShare: 0.5,
  discoveryTools: DISCOVERY_TOOLS,
};

type DetectorFinding = Omit<Finding, "rule"> & { rule: DetectorRule };

function who(pid: number | undefined, process: string | undefined): string {
  if (pid === undefined) return "";
  return ` (process ${process ?? "?"}, pid ${pid})`;
}

function seconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}

function top(keys: Iterable<string>, n = 3): string {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, n)
    .map(([k, c]) => `${k} (${c})`)
    .join(", ");
}

function holders(conns: readonly ConnectionMemory[]): string {
  const h = [
    ...new Set(
      conns.filter((c) => c.pid !== undefined).map((c) => `process ${c.process ?? "?"}, pid ${c.pid}`),
    ),
  ];
  return h.length ? ` (${h.slice(0, 3).join("; ")})` : "";
}

export function detectBeaconing(m: ScopeMemory, now: number, o: DetectorOptions): DetectorFinding[] {
  const out: DetectorFinding[] = [];
  for (const p of m.peers.values()) {
    if (p.arrivals.length < o.beaconMinArrivals || o.isInternal(p.address)) continue;
    const gaps = p.arrivals.slice(1).map((t, i) => t - (p.arrivals[i] as number));
    const period = median(gaps);
    if (!(period >= o.beaconMinIntervalMs && period <= o.beaconMaxIntervalMs)) continue;
    const jitter = mad(gaps) / period;
    if (jitter > o.beaconMaxJitter) continue;
    // Still going: the last arrival is within a couple of periods of now.
    if (now - (p.arrivals.at(-1) as number) > 3 * period + 15_000) continue;
    const span = (p.arrivals.at(-1) as number) - (p.arrivals[0] as number);
    const dest = hostPort(p.address, p.port);
    out.push({
      rule: "Beaconing",
      severity: "medium",
      mitre: { id: "T1071", name: "Application Layer Protocol" },
      message: `${m.scope}${who(p.pid, p.process)} opened ${p.arrivals.length} connections to ${dest}/${p.protocol.toUpperCase()} at a steady ${seconds(period)} interval (jitter ${Math.round(jitter * 100)}%) over ${seconds(span)} — a regular beacon to an outside address is how command-and-control traffic looks`,
      baseline: "",
      scope: m.scope,
      peer: {
        direction: "egress",
        address: p.address,
        port: p.port,
        protocol: p.protocol === "udp" ? "UDP" : "TCP",
      },
      count: p.arrivals.length,
      ...(p.pid !== undefined
        ? { holder: { pid: p.pid, ...(p.process ? { process: p.process } : {}) } }
        : {}),
    });
  }
  return out;
}

/**
 * Growth: the count rose by at least `growthMinRise` and `growthMinFactor`× over the window,
 * fits a line, and was still rising in each third of the window — a step that then holds
 * steady rises in one third only, and is not growth.
 */
export function detectGrowth(m: ScopeMemory, now: number, o: DetectorOptions): DetectorFinding[] {
  const out: DetectorFinding[] = [];
  for (const state of ["ESTABLISHED", "CLOSE_WAIT", "SYN_SENT"]) {
    const points = (m.series.get(state) ?? []).filter((p) => p.t >= now - o.growthWindowMs);
    if (points.length < 6) continue;
    const first = points[0] as { t: number; n: number };
    const last = points.at(-1) as { t: number; n: number };
    const rise = last.n - first.n;
    if (rise < o.growthMinRise || last.n < o.growthMinFactor * Math.max(first.n, 1)) continue;
    const third = Math.floor(points.length / 3);
    const parts = [points.slice(0, third + 1), points.slice(third, 2 * third + 1), points.slice(2 * third)];
    if (!parts.every((part) => (part.at(-1)?.n ?? 0) > (part[0]?.n ?? 0))) continue;
    const { slope, r2 } = linearFit(points.map((p) => ({ t: (p.t - first.t) / 1000, y: p.n })));
    if (r2 < 0.8 || slope <= 0) continue;
    const conns = [...m.connections.values()].filter((c) => c.state === state);
    // The nearest real limit: the one given (a baseline's ceiling), else the open-file limit
    // of the process holding most of these sockets (each one is a file descriptor).
    const holderCounts = new Map<number, number>();
    for (const c of conns)
      if (c.pid !== undefined) holderCounts.set(c.pid, (holderCounts.get(c.pid) ?? 0) + 1);
    const topHolder = [...holderCounts].sort((a, b) => b[1] - a[1])[0];
    const fileLimit = topHolder ? o.fileLimits.get(topHolder[0]) : undefined;
    const limit = o.limits[state] ?? fileLimit;
    const what = o.limits[state] !== undefined ? "the limit" : "the open-file limit";
    const forecast =
      limit !== undefined && limit > last.n
        ? `; at this rate ${what} ${limit} is reached in about ${seconds(((limit - last.n) / slope) * 1000)}`
        : limit !== undefined
          ? `; it is past ${what} ${limit}`
          : "";
    out.push({
      rule: "ConnectionGrowth",
      severity: "medium",
      message: `${m.scope}${holders(conns)}: ${state === "ESTABLISHED" ? "established connections" : `sockets in ${state}`} grew from ${first.n} to ${last.n} in ${seconds(last.t - first.t)} (about ${slope >= 10 ? Math.round(slope) : slope.toFixed(1)}/s), to ${top(conns.map((c) => hostPort(c.remoteAddress, c.remotePort)))}${forecast}`,
      baseline: "",
      scope: m.scope,
      count: last.n,
      state,
      ...(limit !== undefined ? { limit } : {}),
    });
  }
  return out;
}

/** CLOSE_WAIT that persists (not a burst that drains): the application does not close what its peers closed. */
export function detectCloseWaitLeak(m: ScopeMemory, now: number, o: DetectorOptions): DetectorFinding[] {
  const old = [...m.connections.values()].filter(
    (c) => c.state === "CLOSE_WAIT" && now - c.stateSince >= o.closeWaitMinAgeMs,
  );
  if (old.length < o.closeWaitMinCount) return [];
  const oldest = Math.max(...old.map((c) => now - c.stateSince));
  const ports = [...new Set(old.map((c) => c.localPort))].slice(0, 3).map((p) => `:${p}`);
  return [
    {
      rule: "CloseWaitLeak",
      severity: "medium",
      message: `${m.scope}${holders(old)} has held ${old.length} TCP sockets in CLOSE_WAIT for ${seconds(o.closeWaitMinAgeMs)} or more (the oldest ${seconds(oldest)}) on ${ports.join(", ")}, with ${top(old.map((c) => c.remoteAddress))} — the application is not closing connections its peers closed, and each one holds a file descriptor`,
      baseline: "",
      scope: m.scope,
      count: old.length,
      state: "CLOSE_WAIT",
    },
  ];
}

/** SYN_SENT that lasts: the peer does not answer (down, filtered, or a blackhole). */
export function detectFailedHandshakes(m: ScopeMemory, now: number, o: DetectorOptions): DetectorFinding[] {
  const byPeer = new Map<string, ConnectionMemory[]>();
  for (const c of m.connections.values()) {
    if (c.state !== "SYN_SENT" || now - c.stateSince < o.synSentMinAgeMs) continue;
    const key = hostPort(c.remoteAddress, c.remotePort);
    const list = byPeer.get(key);
    if (list) list.push(c);
    else byPeer.set(key, [c]);
  }
  return [...byPeer].map(([peer, conns]) => {
    const c = conns[0] as ConnectionMemory;
    return {
      rule: "FailedHandshakes" as const,
      severity: "low" as const,
      message: `${m.scope}${holders(conns)} has ${conns.length} connection attempt(s) to ${peer}/TCP stuck in SYN_SENT for ${seconds(Math.max(...conns.map((x) => now - x.stateSince)))} or more — the peer is not answering (down, filtered or unreachable)`,
      baseline: "",
      scope: m.scope,
      peer: {
        direction: "egress" as const,
        address: c.remoteAddress,
        port: c.remotePort,
        protocol: "TCP" as const,
      },
      count: conns.length,
      state: "SYN_SENT",
    };
  });
}

/** Connections to one destination filling the namespace's ephemeral range: new ones start to fail. */
export function detectEphemeralPressure(m: ScopeMemory, _now: number, o: DetectorOptions): DetectorFinding[] {
  const size = o.ephemeralPorts[1] - o.ephemeralPorts[0] + 1;
  const limit = Math.floor(size * o.ephemeralShare);
  const byDest = new Map<string, ConnectionMemory[]>();
  for (const c of m.connections.values()) {
    if (c.protocol !== "tcp" || c.localPort < o.ephemeralPorts[0] || c.localPort > o.ephemeralPorts[1])
      continue;
    const key = hostPort(c.remoteAddress, c.remotePort);
    const list = byDest.get(key);
    if (list) list.push(c);
    else byDest.set(key, [c]);
  }
  const out: DetectorFinding[] = [];
  for (const [dest, conns] of byDest) {
    if (conns.length <= limit) continue;
    out.push({
      rule: "EphemeralPortPressure",
      severity: "medium",
      message: `${m.scope}${holders(conns)} uses ${conns.length} of the ${size} local ports of its ephemeral range (${o.ephemeralPorts[0]}-${o.ephemeralPorts[1]}) for connections to ${dest} — new connections to it fail when the range runs out`,
      baseline: "",
      scope: m.scope,
      // The destination is what the finding is about (and what keys it apart from others).
      peer: {
        direction: "egress",
        address: (conns[0] as ConnectionMemory).remoteAddress,
        port: (conns[0] as ConnectionMemory).remotePort,
        protocol: "TCP",
      },
      count: conns.length,
      limit,
    });
  }
  return out;
}

function toolOf(p: ProcessMemory, tools: ReadonlySet<string>): string | undefined {
  const argv0 = p.cmdline.split(/[\0 ]/)[0] ?? "";
  const base = argv0.slice(argv0.lastIndexOf("/") + 1);
  if (tools.has(p.comm)) return p.comm;
  if (tools.has(base)) return base;
  // `nc -z` / `ncat -z` scan ports; plain nc is a pipe.
  if (
    (p.comm === "nc" || p.comm === "ncat" || base === "nc" || base === "ncat") &&
    /(^|[\0 ])-[a-yA-Z]*z/.test(p.cmdline)
  )
    return p.comm;
  return undefined;
}

/** A discovery tool run inside the scope (T1049): seen once per process. */
export function detectDiscoveryTools(m: ScopeMemory, now: number, o: DetectorOptions): DetectorFinding[] {
  const out: DetectorFinding[] = [];
  for (const p of m.processes.values()) {
    if (p.lastSeen !== now) continue;
    const tool = toolOf(p, o.discoveryTools);
    if (!tool) continue;
    const scanner =
      tool === "nmap" || tool === "masscan" || tool === "zmap" || tool === "nc" || tool === "ncat";
    const parent =
      p.ppid === undefined
        ? ""
        : p.parent
          ? `, parent ${p.parent} (pid ${p.ppid})`
          : `, parent pid ${p.ppid}`;
    const user = p.user ?? (p.uid !== undefined ? `uid ${p.uid}` : undefined);
    out.push({
      rule: "NetworkDiscoveryTool",
      severity: scanner ? "high" : "medium",
      mitre: scanner
        ? { id: "T1046", name: "Network Service Discovery" }
        : { id: "T1049", name: "System Network Connections Discovery" },
      message: `${m.scope} ran ${tool} (pid ${p.pid}${parent}${user ? `, user ${user}` : ""}): ${p.cmdline.replaceAll("\0", " ").trim() || tool} — listing connections or probing the network from inside a workload is discovery, a step attackers take after getting in`,
      baseline: "",
      scope: m.scope,
      count: 1,
      holder: { pid: p.pid, process: p.comm, cmdline: p.cmdline },
    });
  }
  return out;
}

export const DETECTORS = [
  detectBeaconing,
  detectGrowth,
  detectCloseWaitLeak,
  detectFailedHandshakes,
  detectEphemeralPressure,
  detectDiscoveryTools,
] as const;

/** Every detector over one scope's memory. */
export function detect(
  m: ScopeMemory,
  now: number,
  options: Partial<DetectorOptions> = {},
): DetectorFinding[] {
  const o = { ...DEFAULT_DETECTOR_OPTIONS, ...options };
  return DETECTORS.flatMap((d) => d(m, now, o));
}
