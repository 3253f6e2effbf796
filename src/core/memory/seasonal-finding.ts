/**
 * From the tracker to the seasonal model and back: which count series of a scope are judged
 * (each TCP state but LISTEN, and new connections a minute by peer class), and the
 * `SeasonalAnomaly` finding a verdict becomes. Pure.
 */
import { hostPort } from "../../net/address.js";
import type { Finding } from "../baseline/types.js";
import type { Verdict } from "./seasonal.js";
import type { ConnectionMemory, ScopeMemory } from "./tracker.js";

/** Series names for new connections (the tracker's arrivals, by whether the peer is internal). */
export const NEW_EXTERNAL = "new/min external";
export const NEW_INTERNAL = "new/min internal";

/**
 * The values of a scope's series at `now`: the newest count of each TCP state the tracker has
 * (LISTEN is the baseline's business, not a count that moves with load), and how many new
 * outbound connections arrived in the last minute, to outside peers and to the cluster/host.
 */
export function seriesValues(
  m: ScopeMemory,
  now: number,
  isInternal: (address: string) => boolean,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [state, points] of m.series) {
    if (state === "LISTEN") continue;
    const last = points.at(-1);
    if (last && last.t === now) out[state] = last.n;
  }
  let external = 0;
  let internal = 0;
  for (const p of m.peers.values()) {
    let n = 0;
    for (let i = p.arrivals.length - 1; i >= 0 && (p.arrivals[i] as number) > now - 60_000; i--) n++;
    if (isInternal(p.address)) internal += n;
    else external += n;
  }
  // The first scan of a scope sees no arrivals (they are unknown), which is not "zero a minute".
  if (m.scans > 1) {
    out[NEW_EXTERNAL] = external;
    out[NEW_INTERNAL] = internal;
  }
  return out;
}

function what(series: string, n: number): string {
  const num = n.toLocaleString("en-US");
  if (series === "ESTABLISHED") return `${num} established connections`;
  if (series === NEW_EXTERNAL) return `${num} new connections a minute to outside peers`;
  if (series === NEW_INTERNAL) return `${num} new connections a minute inside the cluster`;
  return `${num} TCP sockets in ${series}`;
}

function range(lo: number, hi: number): string {
  // Whole numbers from 10 up (a count of 52.1 reads as noise); tenths below, where they matter.
  const f = (x: number) =>
    Number.isInteger(x) || x >= 10 ? Math.round(x).toLocaleString("en-US") : x.toFixed(1);
  return lo === hi ? f(lo) : `${f(lo)}–${f(hi)}`;
}

function holdersOf(conns: readonly ConnectionMemory[]): string {
  const counts = new Map<string, number>();
  for (const c of conns)
    if (c.pid !== undefined) {
      const k = `process ${c.process ?? "?"}, pid ${c.pid}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 2);
  return top.length ? ` (${top.map(([k]) => k).join("; ")})` : "";
}

/**
 * A verdict as a finding. Names the scope, the workload, the series, the value, the usual
 * range for that hour and day type, how far out, and — from the tracker — the process holding
 * most of those sockets and the peer most of them go to.
 */
export function seasonalFinding(
  v: Verdict,
  m: ScopeMemory,
  workload: string,
): Omit<Finding, "rule"> & { rule: "SeasonalAnomaly" } {
  const state = v.series.startsWith("new/") ? undefined : v.series;
  const conns = state ? [...m.connections.values()].filter((c) => c.state === state) : [];
  // The peer most of them go to (connections) or that most new ones went to (arrivals).
  const peerCounts = new Map<string, { address: string; port: number; n: number }>();
  if (state)
    for (const c of conns) {
      const k = hostPort(c.remoteAddress, c.remotePort);
      const e = peerCounts.get(k) ?? {
        address: c.remoteAddress,
        port: c.remotePort,
        n: 0,
      };
      e.n++;
      peerCounts.set(k, e);
    }
  else
    for (const p of m.peers.values()) {
      const n = p.arrivals.filter((t) => t > v.at - 60_000).length;
      if (n > 0)
        peerCounts.set(hostPort(p.address, p.port), {
          address: p.address,
          port: p.port,
          n,
        });
    }
  const peer = [...peerCounts.values()].sort((a, b) => b.n - a.n)[0];
  const holder = state ? holdersOf(conns) : "";
  const topPeer = peer && peer.n > 1 ? `, most to ${hostPort(peer.address, peer.port)} (${peer.n})` : "";
  const far =
    v.direction === "above"
      ? `${v.factor}× the top of that range`
      : `below it (the bottom is ${v.factor}× this)`;
  const history = `last ${v.weeks} week${v.weeks === 1 ? "" : "s"}, ${v.days} days`;
  return {
    rule: "SeasonalAnomaly",
    severity: v.direction === "above" ? "medium" : "low",
    message: `${m.scope} (${workload})${holder}: ${what(v.series, v.value)}${topPeer} at ${v.time} on a ${v.weekday}; usually ${range(v.usual.lo, v.usual.hi)} at this hour on ${v.dayType} (${history}) — ${far}`,
    baseline: "",
    scope: m.scope,
    count: v.value,
    state: v.series,
    limit: Math.round(v.direction === "above" ? v.usual.hi : v.usual.lo),
    // No `peer` or `holder`: the finding key is (scope, series), so one anomaly is one Event
    // series even while its top peer or process changes; the sentence names them.
  };
}
