/**
 * Peers: every TCP/UDP peer off loopback must fit an egress or ingress rule. A peer seen on
 * many sockets is one finding with a count. Rules that need cluster knowledge the resolver
 * lacks give CannotEvaluateOffline instead of passing silently.
 */
import { hostPort } from "../../../net/address.js";
import { baselinePeers } from "../../traffic.js";
import { identityText, socketRef, who } from "../explain.js";
import { needsOf, ruleAllows } from "../rules.js";
import { anyOf } from "../tri.js";
import type { FindingPeer, IdentityResolver } from "../types.js";
import type { Check, NewFinding } from "./context.js";

const WELL_KNOWN_PORTS = new Set([
  22, 25, 53, 80, 110, 123, 143, 443, 465, 587, 993, 995, 3306, 5432, 6379, 8080, 8443, 9092, 27017,
]);

/** "pod shop/db-7f9c-x2 of deployment db": the pod and, when known, its workload. */
function describeIdentity(address: string, r: IdentityResolver): string | undefined {
  const info = r.peer?.(address);
  if (info?.kind === "pod" && info.workload)
    return `${identityText(info)} of ${info.workload.kind.toLowerCase()} ${info.workload.name}`;
  if (info) return identityText(info);
  if (r.isHost(address)) return "this host";
  return undefined;
}

export const checkPeers: Check = ({ baseline: b, scope, resolver: r, traffic }) => {
  const findings: NewFinding[] = [];
  for (const use of baselinePeers(traffic)) {
    const rules = use.direction === "egress" ? b.egress : b.ingress;
    if (!rules) continue;
    const peer: FindingPeer = {
      direction: use.direction,
      address: use.address,
      port: use.port,
      protocol: use.transport,
    };
    const { first, count } = use;
    const verdict = anyOf(rules, (rule) => ruleAllows(rule, peer, scope.pod, b.namespace, r));
    if (verdict === true) continue;
    const identity = describeIdentity(peer.address, r);
    if (identity) peer.identity = identity;
    const named = identity ? ` (${identity})` : "";
    const conn = count > 1 ? `${count} sockets, e.g. ${first.state}` : first.state;
    if (verdict === "unknown") {
      const needs = needsOf(rules);
      findings.push({
        rule: "CannotEvaluateOffline",
        severity: "info",
        message:
          peer.direction === "egress"
            ? `cannot evaluate offline: ${scope.scope} connected to ${hostPort(peer.address, peer.port)}/${peer.protocol}${who(first)} and baseline ${b.id}'s egress rules need cluster knowledge (${needs}) to decide`
            : `cannot evaluate offline: ${scope.scope} accepted a connection from ${peer.address} on port ${peer.port}/${peer.protocol}${who(first)} and baseline ${b.id}'s ingress rules need cluster knowledge (${needs}) to decide`,
        socket: socketRef(first),
        peer,
        count,
      });
      continue;
    }
    if (peer.direction === "egress") {
      const f: NewFinding = {
        rule: "UnexpectedEgress",
        severity: "medium",
        message: `${scope.scope} connected to ${hostPort(peer.address, peer.port)}/${peer.protocol}${named}${who(first)}, ${conn}; baseline ${b.id} allows egress ${b.summary.egress} only`,
        socket: socketRef(first),
        peer,
        count,
      };
      // T1571 Non-Standard Port: the observable is exactly this, traffic to an unusual port.
      if (!WELL_KNOWN_PORTS.has(peer.port)) f.mitre = { id: "T1571", name: "Non-Standard Port" };
      findings.push(f);
    } else {
      findings.push({
        rule: "UnexpectedIngress",
        severity: "medium",
        message: `${scope.scope} accepted a connection from ${peer.address}${named} on port ${peer.port}/${peer.protocol}${who(first)}, ${conn}; baseline ${b.id} allows ingress ${b.summary.ingress} only`,
        socket: socketRef(first),
        peer,
        count,
      });
    }
  }
  return findings;
};
