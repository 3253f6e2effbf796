/**
 * Does one port or peer fit one rule? Three-valued: a rule that needs knowledge the resolver
 * lacks (pod labels, Service backends, named ports) answers "unknown", never a guess.
 */
import type { PortRange } from "../../api/v1alpha1/networkbaseline.js";
import { cidrContains } from "../../net/cidr.js";
import type { CompiledPeer, CompiledRule } from "./compile.js";
import { selectorMatches } from "./selector.js";
import { and, anyOf, type Tri } from "./tri.js";
import type { FindingPeer, IdentityResolver, PodInfo } from "./types.js";

function resolveNamedPort(pod: PodInfo | undefined, name: string, protocol: string): number | "unknown" {
  const p = pod?.ports?.find((x) => x.name === name && x.protocol === protocol);
  return p ? p.port : "unknown";
}

export function portMatches(
  range: { port?: number | string; endPort?: number; protocol?: string },
  port: number,
  protocol: string,
  pod: PodInfo | undefined,
): Tri {
  if ((range.protocol ?? "TCP") !== protocol) return false;
  if (range.port === undefined) return true;
  const start = typeof range.port === "number" ? range.port : resolveNamedPort(pod, range.port, protocol);
  if (start === "unknown") return "unknown";
  return port >= start && port <= (range.endPort ?? start);
}

function peerMatches(p: CompiledPeer, peer: FindingPeer, baselineNs: string, r: IdentityResolver): Tri {
  const src = p.source;
  if (p.cidr)
    return cidrContains(p.cidr, peer.address) && !(p.except ?? []).some((e) => cidrContains(e, peer.address));
  if (src.entity === "host") return r.isHost(peer.address);
  if (src.entity === "world") {
    if (r.isHost(peer.address)) return false;
    return r.isCluster ? !r.isCluster(peer.address) : "unknown";
  }
  if (src.entity === "cluster") {
    if (r.isHost(peer.address)) return true;
    return r.isCluster ? r.isCluster(peer.address) : "unknown";
  }
  if (src.entity === "remote-node") {
    if (r.isHost(peer.address)) return false;
    return r.peer ? r.peer(peer.address)?.kind === "node" : "unknown";
  }
  if (src.entity === "kube-apiserver")
    return r.isApiServer ? r.isApiServer(peer.address, peer.port) : "unknown";
  if (src.service) {
    if (!r.peer || !r.serviceBackends) return "unknown";
    const ns = src.service.namespace ?? baselineNs;
    const info = r.peer(peer.address);
    if (info?.kind === "service" && info.namespace === ns && info.name === src.service.name) return true;
    return r.serviceBackends(ns, src.service.name)?.addresses.includes(peer.address) ?? false;
  }
  // podSelector / namespaceSelector, as in NetworkPolicy.
  if (!r.peer) return "unknown";
  const info = r.peer(peer.address);
  if (info?.kind !== "pod") return false;
  if (src.namespaceSelector) {
    if (!selectorMatches(src.namespaceSelector, info.namespaceLabels ?? {})) return false;
  } else if (info.namespace !== baselineNs) {
    return false;
  }
  return selectorMatches(src.podSelector, info.labels);
}

/** Does `rule` allow this peer? `scopePod` is the pod being judged (for its named ports). */
export function ruleAllows(
  rule: CompiledRule,
  peer: FindingPeer,
  scopePod: PodInfo | undefined,
  baselineNs: string,
  r: IdentityResolver,
): Tri {
  // Named ports name the destination's container port: ours for ingress, the peer pod's for egress.
  const portPod =
    peer.direction === "ingress"
      ? scopePod
      : (() => {
          const info = r.peer?.(peer.address);
          return info?.kind === "pod" ? info : undefined;
        })();
  const ports: Tri =
    rule.ports.length === 0
      ? true
      : anyOf(rule.ports, (p: PortRange) => portMatches(p, peer.port, peer.protocol, portPod));
  if (ports === false) return false;
  const peers: Tri =
    rule.peers.length === 0 ? true : anyOf(rule.peers, (p) => peerMatches(p, peer, baselineNs, r));
  return and(ports, peers);
}

/** The kinds of cluster knowledge `rules` need, for a CannotEvaluateOffline sentence. */
export function needsOf(rules: CompiledRule[]): string {
  const kinds = new Set<string>();
  for (const rule of rules) {
    for (const p of rule.peers) {
      const s = p.source;
      if (s.podSelector || s.namespaceSelector)
        kinds.add(s.namespaceSelector ? "namespaceSelector" : "podSelector");
      if (s.service) kinds.add("service");
      if (s.entity && s.entity !== "host") kinds.add(`entity ${s.entity}`);
    }
    for (const p of rule.ports) if (typeof p.port === "string") kinds.add("named ports");
  }
  return [...kinds].join(", ");
}
