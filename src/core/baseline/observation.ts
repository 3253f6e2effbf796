/**
 * The NetworkObservation an agent writes for one baseline on one node: what the selected
 * pods on this node did in the window, bounded so that a noisy workload cannot grow the
 * object (MAX_PEERS per list, `truncated` when entries were dropped). Pure.
 */
import type { Listener } from "../../api/v1alpha1/networkbaseline.js";
import { MAX_PEERS } from "../../api/v1alpha1/networkobservation.js";
import type { ClusterPod } from "../cluster.js";
import { directionOf, ListenerIndex } from "../direction.js";
import type { Socket } from "../socket.js";
import { findingKey, isListening, isLoopback } from "./evaluate.js";
import type { Finding } from "./types.js";

const MAX_LISTENERS = 64;

export interface ObservationSpec {
  baseline: string;
  nodeName: string;
  windowStart: string;
  windowEnd: string;
  pods: string[];
  listeners: Listener[];
  egress: {
    address: string;
    port: number;
    protocol: "TCP" | "UDP";
    identity?: string;
    firstSeen: string;
    lastSeen: string;
    count: number;
  }[];
  ingress: ObservationSpec["egress"];
  truncated?: boolean;
  tcpStates: Record<string, number>;
  violations: Record<string, number>;
}

export function observationName(baseline: string, node: string): string {
  const raw = `${baseline}.${node}`.toLowerCase().replace(/[^a-z0-9.-]+/g, "-");
  return raw.slice(0, 253).replace(/[.-]+$/, "");
}

export function buildObservation(
  baselineName: string,
  nodeName: string,
  pods: { pod: ClusterPod; sockets: Socket[] }[],
  findings: Finding[],
  windowStart: Date,
  now: Date,
): ObservationSpec {
  const at = now.toISOString();
  const listeners = new Map<string, Listener>();
  const peers = {
    egress: new Map<string, ObservationSpec["egress"][number]>(),
    ingress: new Map<string, ObservationSpec["egress"][number]>(),
  };
  const tcpStates: Record<string, number> = {};
  let truncated = false;
  for (const { sockets } of pods) {
    const index = new ListenerIndex(sockets);
    const states: Record<string, number> = {};
    for (const s of sockets) {
      if (s.protocol === "tcp") states[s.state] = (states[s.state] ?? 0) + 1;
      if (s.protocol !== "tcp" && s.protocol !== "udp") continue;
      const protocol = s.protocol === "udp" ? "UDP" : "TCP";
      if (isListening(s)) {
        const key = `${protocol}|${s.localAddress}|${s.localPort}`;
        if (listeners.size < MAX_LISTENERS || listeners.has(key))
          listeners.set(key, {
            port: s.localPort,
            protocol,
            address: s.localAddress,
            ...(s.process ? { process: s.process } : {}),
          });
        else truncated = true;
        continue;
      }
      const dir = directionOf(s, index);
      if ((dir !== "egress" && dir !== "ingress") || isLoopback(s.remoteAddress)) continue;
      const port = dir === "egress" ? s.remotePort : s.localPort;
      const key = `${s.remoteAddress}|${port}|${protocol}`;
      const map = peers[dir];
      const prev = map.get(key);
      if (prev) prev.count++;
      else if (map.size < MAX_PEERS) {
        const r = s.remote;
        const identity = r
          ? r.kind === "external"
            ? "external"
            : r.kind === "node"
              ? `node ${r.name}`
              : `${r.kind} ${r.namespace}/${r.name}`
          : undefined;
        map.set(key, {
          address: s.remoteAddress,
          port,
          protocol,
          ...(identity ? { identity } : {}),
          firstSeen: at,
          lastSeen: at,
          count: 1,
        });
      } else truncated = true;
    }
    for (const [state, n] of Object.entries(states)) tcpStates[state] = Math.max(tcpStates[state] ?? 0, n);
  }
  const violations: Record<string, number> = {};
  const seen = new Set<string>();
  for (const f of findings) {
    const k = findingKey(f);
    if (seen.has(k)) continue;
    seen.add(k);
    violations[f.rule] = (violations[f.rule] ?? 0) + 1;
  }
  const spec: ObservationSpec = {
    baseline: baselineName,
    nodeName,
    windowStart: windowStart.toISOString(),
    windowEnd: at,
    pods: pods
      .map((p) => p.pod.name)
      .sort()
      .slice(0, MAX_PEERS),
    listeners: [...listeners.values()],
    egress: [...peers.egress.values()],
    ingress: [...peers.ingress.values()],
    tcpStates,
    violations,
  };
  if (truncated || pods.length > MAX_PEERS) spec.truncated = true;
  return spec;
}
