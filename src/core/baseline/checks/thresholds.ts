/**
 * Thresholds, per scope (the agent evaluates one pod at a time): TCP states (with defaults
 * for the failure states), TIME_WAIT per destination against the ephemeral port range,
 * established connections, listening sockets. Formulas: ../limits.ts. Every finding names
 * who holds the sockets, on which local port, and the peers with the most of them.
 */
import { hostPort } from "../../../net/address.js";
import type { Socket } from "../../socket.js";
import { socketRef } from "../explain.js";
import { stateLimit, timeWaitLimit } from "../limits.js";
import type { Finding } from "../types.js";
import type { Check, NewFinding } from "./context.js";

const STATE_HINTS: Record<string, string> = {
  CLOSE_WAIT: " — the application is not closing connections its peers closed",
  SYN_SENT: " — peers are not answering",
  TIME_WAIT: " — this destination is running out of local ports",
};

/** The TCP states a threshold can be about: the failure states always, others when configured. */
const CHECKED_BY_DEFAULT = ["CLOSE_WAIT", "SYN_SENT"];

/** Counts of a key, most first, at most `n`. */
function top(keys: Iterable<string>, n: number): [string, number][] {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n);
}

/**
 * " on :7070 (process app, pid 812), from 10.0.3.4 (52), 10.0.3.9 (29)": where the sockets
 * are, who holds them and the top peers. Accepted sockets are "from" their client, ours "to".
 */
export function whereAndWho(
  sockets: readonly Socket[],
  listeningPorts: ReadonlySet<number>,
  options: { peers?: boolean } = {},
): string {
  const accepted = sockets.filter((s) => listeningPorts.has(s.localPort));
  const ours =
    accepted.length * 2 >= sockets.length
      ? accepted
      : sockets.filter((s) => !listeningPorts.has(s.localPort));
  const parts: string[] = [];
  const ports = top(
    ours.map((s) => String(s.localPort)),
    3,
  );
  if (accepted === ours && ports.length > 0) parts.push(` on ${ports.map(([p]) => `:${p}`).join(", ")}`);
  const holders = top(
    sockets.flatMap((s) => (s.pid !== undefined ? [`process ${s.process ?? "?"}, pid ${s.pid}`] : [])),
    3,
  );
  parts.push(holders.length > 0 ? ` (${holders.map(([h]) => h).join("; ")})` : " (no process holds them)");
  const peers = top(
    ours.map((s) => (accepted === ours ? s.remoteAddress : hostPort(s.remoteAddress, s.remotePort))),
    3,
  );
  if (peers.length > 0 && options.peers !== false)
    parts.push(`, ${accepted === ours ? "from" : "to"} ${peers.map(([p, n]) => `${p} (${n})`).join(", ")}`);
  return parts.join("");
}

function first(sockets: readonly Socket[]): Pick<Finding, "socket"> {
  const s = sockets.find((x) => x.pid !== undefined) ?? sockets[0];
  return s ? { socket: socketRef(s) } : {};
}

export const checkThresholds: Check = ({ baseline: b, scope, traffic }) => {
  const t = b.source.spec.thresholds;
  const findings: NewFinding[] = [];
  const tcp = scope.sockets.filter((s) => s.protocol === "tcp");
  const listening = new Set(tcp.filter((s) => s.state === "LISTEN").map((s) => s.localPort));
  const inState = (state: string) => tcp.filter((s) => s.state === state);

  const states = new Set([...CHECKED_BY_DEFAULT, ...Object.keys(t?.tcpStates ?? {})]);
  for (const state of states) {
    const limit = stateLimit(state, t?.tcpStates);
    const n = traffic.tcpStates[state] ?? 0;
    if (limit === undefined || n <= limit) continue;
    const sockets = inState(state);
    const configured =
      (t?.tcpStates as Record<string, number | undefined> | undefined)?.[state] !== undefined;
    findings.push({
      rule: "TcpStateThreshold",
      severity: "low",
      message: `${scope.scope} has ${n} TCP sockets in ${state}${whereAndWho(sockets, listening)}; ${configured ? `baseline ${b.id} allows at most ${limit}` : `the default limit is ${limit} (set thresholds.tcpStates.${state} in baseline ${b.id} to change it, 0 to turn it off)`}${STATE_HINTS[state] ?? ""}`,
      count: n,
      limit,
      state,
      ...first(sockets),
    });
  }

  // TIME_WAIT against the real limit: local ports per destination, unless the baseline set
  // its own TIME_WAIT limit (judged above).
  if (t?.tcpStates?.TIME_WAIT === undefined) {
    const limit = timeWaitLimit(scope.ephemeralPorts);
    const byDestination = new Map<string, Socket[]>();
    for (const s of inState("TIME_WAIT")) {
      if (listening.has(s.localPort)) continue; // accepted: the client's ports, not ours
      const key = hostPort(s.remoteAddress, s.remotePort);
      const list = byDestination.get(key);
      if (list) list.push(s);
      else byDestination.set(key, [s]);
    }
    for (const [destination, sockets] of byDestination) {
      if (sockets.length <= limit) continue;
      findings.push({
        rule: "TcpStateThreshold",
        severity: "medium",
        message: `${scope.scope} has ${sockets.length} TCP sockets in TIME_WAIT to ${destination}${whereAndWho(sockets, listening, { peers: false })}; the ephemeral port range allows ${limit * 2} connections to one destination and half of it is the limit${STATE_HINTS.TIME_WAIT}`,
        count: sockets.length,
        limit,
        state: "TIME_WAIT",
        ...first(sockets),
      });
    }
  }

  const est = traffic.tcpStates.ESTABLISHED ?? 0;
  if (t?.established !== undefined && est > t.established) {
    findings.push({
      rule: "EstablishedThreshold",
      severity: "low",
      message: `${scope.scope} has ${est} established TCP connections${whereAndWho(inState("ESTABLISHED"), listening)}; baseline ${b.id} allows at most ${t.established}`,
      count: est,
      limit: t.established,
      ...first(inState("ESTABLISHED")),
    });
  }
  if (t?.listeners !== undefined && traffic.listening > t.listeners) {
    findings.push({
      rule: "ListenerThreshold",
      severity: "low",
      message: `${scope.scope} has ${traffic.listening} listening sockets; baseline ${b.id} allows at most ${t.listeners}`,
      count: traffic.listening,
      limit: t.listeners,
    });
  }
  return findings;
};
