/**
 * The NetworkObservation an agent writes for one baseline on one node: what the selected
 * pods on this node did in the window, bounded so that a noisy workload cannot grow the
 * object (MAX_PEERS per list, `truncated` when entries were dropped). Pure.
 */
import type { Listener } from "../../api/v1alpha1/networkbaseline.js";
import {
  MAX_OBSERVED_LISTENERS,
  MAX_PEERS,
  type NetworkObservationSpec,
  type ObservedPeer,
} from "../../api/v1alpha1/networkobservation.js";
import type { ClusterPod } from "../cluster-index.js";
import type { Socket } from "../socket.js";
import { baselinePeers, classifyTraffic } from "../traffic.js";
import { findingKey } from "./evaluate.js";
import { identityText } from "./explain.js";
import { DEFAULT_EPHEMERAL_RANGE } from "./limits.js";
import { describeIdentity, identifyPeer, peerFor, peerKey } from "./peer-identity.js";
import type { Finding, IdentityResolver } from "./types.js";

/** The spec an agent writes; the zod schema in src/api is its source. */
export type ObservationSpec = NetworkObservationSpec;

export function observationName(baseline: string, node: string): string {
  const raw = `${baseline}.${node}`.toLowerCase().replace(/[^a-z0-9.-]+/g, "-");
  return raw.slice(0, 253).replace(/[.-]+$/, "");
}

export interface ObservationContext {
  /** The baseline's namespace: a peer workload elsewhere gets a namespaceSelector. */
  baselineNamespace: string;
  /** Cluster knowledge: peers become identities. Absent: addresses only. */
  resolver?: IdentityResolver;
  /** Addresses the user marked sensitive are written masked (identities are not addresses). */
  mask?: (address: string) => string;
}

export function buildObservation(
  baselineName: string,
  nodeName: string,
  pods: { pod: ClusterPod; sockets: Socket[] }[],
  findings: Finding[],
  windowStart: Date,
  now: Date,
  context: ObservationContext,
): ObservationSpec {
  const at = now.toISOString();
  const listeners = new Map<string, Listener>();
  const peers = {
    egress: new Map<string, ObservedPeer>(),
    ingress: new Map<string, ObservedPeer>(),
  };
  const tcpStates: Record<string, number> = {};
  let truncated = false;
  const mask = context.mask ?? ((a: string) => a);
  for (const { sockets } of pods) {
    const traffic = classifyTraffic(sockets, undefined, { ephemeralPorts: DEFAULT_EPHEMERAL_RANGE });
    for (const use of traffic.listeners) {
      // One entry per bind address; the last process seen on it names it.
      const key = `${use.protocol}|${use.address}|${use.port}`;
      if (listeners.size < MAX_OBSERVED_LISTENERS || listeners.has(key))
        listeners.set(key, {
          port: use.port,
          protocol: use.protocol,
          address: mask(use.address),
          ...(use.process ? { process: use.process } : {}),
        });
      else truncated = true;
    }
    for (const use of baselinePeers(traffic)) {
      // One entry per identity and service port: ten pods of one Deployment are one peer.
      const identity = context.resolver ? identifyPeer(use.address, context.resolver) : undefined;
      const address = mask(use.address);
      // A masked address is not a CIDR a baseline could hold: such a peer has no rule form.
      const peer =
        identity && (identity.kind !== "address" || address === use.address)
          ? peerFor(identity, context.baselineNamespace)
          : undefined;
      const key = `${peer ? peerKey(peer) : address}|${use.port}|${use.transport}`;
      const map = peers[use.direction];
      const prev = map.get(key);
      if (prev) prev.count += use.count;
      else if (map.size < MAX_PEERS) {
        const described = identity && identity.kind !== "address" ? describeIdentity(identity) : undefined;
        const remote = use.first.remote;
        map.set(key, {
          address,
          port: use.port,
          protocol: use.transport,
          ...(described ? { identity: described } : remote ? { identity: identityText(remote) } : {}),
          ...(peer ? { peer } : {}),
          firstSeen: at,
          lastSeen: at,
          count: use.count,
        });
      } else truncated = true;
    }
    for (const [state, n] of Object.entries(traffic.tcpStates))
      tcpStates[state] = Math.max(tcpStates[state] ?? 0, n);
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
