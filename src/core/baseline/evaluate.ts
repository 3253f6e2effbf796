/**
 * The matcher: does what a scope's sockets do fit its baseline? Every decision that fails
 * returns a Finding with a sentence saying why; decisions that need cluster knowledge the
 * resolver lacks return CannotEvaluateOffline instead of passing silently.
 *
 * Direction (docs/adr/0003-matcher-semantics.md): a TCP socket whose local port listens in
 * its namespace was accepted (ingress); other connected sockets are egress. Closing states
 * (TIME_WAIT, CLOSE_WAIT, …) still prove a recent peer, so they are checked as peers, but
 * only ESTABLISHED counts toward the `established` threshold. Loopback traffic stays inside
 * the pod and is not a peer.
 */
import type { Listener, PortRange } from "../../api/v1alpha1/networkbaseline.js";
import { formatAddress, isUnspecified, parseIp } from "../../net/address.js";
import { cidrContains } from "../../net/cidr.js";
import { directionOf, ListenerIndex } from "../direction.js";
import type { Socket } from "../socket.js";
import type { CompiledBaseline, CompiledPeer, CompiledRule } from "./compile.js";
import { selectorMatches } from "./selector.js";
import { and, anyOf, type Tri } from "./tri.js";
import type {
  EvaluationResult,
  Finding,
  FindingPeer,
  IdentityResolver,
  Observation,
  PodInfo,
  Severity,
} from "./types.js";

const WELL_KNOWN_PORTS = new Set([
  22, 25, 53, 80, 110, 123, 143, 443, 465, 587, 993, 995, 3306, 5432, 6379, 8080, 8443, 9092, 27017,
]);

export function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1";
}

function protoOf(s: Socket): "TCP" | "UDP" {
  return s.protocol === "udp" ? "UDP" : "TCP";
}

/** Listening sockets: TCP LISTEN and bound, unconnected UDP sockets (they receive from anyone). */
export function isListening(s: Socket): boolean {
  return (
    (s.protocol === "tcp" && s.state === "LISTEN") ||
    (s.protocol === "udp" && s.state === "UNCONN" && s.localPort !== 0)
  );
}

function resolveNamedPort(pod: PodInfo | undefined, name: string, protocol: string): number | "unknown" {
  const p = pod?.ports?.find((x) => x.name === name && x.protocol === protocol);
  return p ? p.port : "unknown";
}

function portMatches(
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

function ruleAllows(
  rule: CompiledRule,
  peer: FindingPeer,
  obs: Observation,
  baselineNs: string,
  r: IdentityResolver,
): Tri {
  // Named ports name the destination's container port: ours for ingress, the peer pod's for egress.
  const portPod =
    peer.direction === "ingress"
      ? obs.pod
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

function needsOf(rules: CompiledRule[]): string {
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

function who(s: Socket): string {
  const parts: string[] = [];
  if (s.process) parts.push(`process ${s.process}`);
  if (s.pid !== undefined) parts.push(`pid ${s.pid}`);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

function endpoint(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

function socketRef(s: Socket): Finding["socket"] {
  const ref: NonNullable<Finding["socket"]> = {
    protocol: s.protocol,
    localAddress: s.localAddress,
    localPort: s.localPort,
    remoteAddress: s.remoteAddress,
    remotePort: s.remotePort,
    state: s.state,
    netns: s.netns,
  };
  if (s.pid !== undefined) ref.pid = s.pid;
  if (s.process !== undefined) ref.process = s.process;
  return ref;
}

function describeIdentity(address: string, r: IdentityResolver): string | undefined {
  const info = r.peer?.(address);
  if (info?.kind === "pod") return `pod ${info.namespace}/${info.name}`;
  if (info?.kind === "service") return `service ${info.namespace}/${info.name}`;
  if (info?.kind === "node") return `node ${info.name}`;
  if (r.isHost(address)) return "this host";
  return undefined;
}

function listenerFit(
  l: Listener,
  s: Socket,
  pod: PodInfo | undefined,
): { port: Tri; address: boolean; process: boolean } {
  const port = portMatches(l, s.localPort, protoOf(s), pod);
  const address =
    l.address === undefined ||
    l.address === s.localAddress ||
    (isUnspecified(l.address) && isUnspecified(s.localAddress)) ||
    // "::ffff:10.0.0.1" or "fd00:0::1" in a baseline mean what the collector prints.
    formatOrSelf(l.address) === s.localAddress;
  const process = l.process === undefined || l.process === s.process;
  return { port, address, process };
}

/** A baseline's address in the collector's canonical form (mapped IPv4 folded, IPv6 compressed). */
function formatOrSelf(a: string): string {
  const bytes = parseIp(a);
  return bytes ? formatAddress(bytes) : a;
}

export function evaluate(
  b: CompiledBaseline,
  obs: Observation,
  r: IdentityResolver,
  now: Date = new Date(),
): EvaluationResult {
  const findings: Finding[] = [];
  const add = (f: Omit<Finding, "baseline" | "scope">) =>
    findings.push({ baseline: b.id, scope: obs.scope, ...f });

  // Listeners.
  if (b.listeners) {
    const seen = new Set<string>();
    for (const s of obs.sockets) {
      if (!isListening(s)) continue;
      const key = `${s.protocol}|${s.localAddress}|${s.localPort}|${s.process ?? ""}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const proto = protoOf(s);
      const at = `${endpoint(s.localAddress, s.localPort)}/${proto}`;
      const fits = b.listeners.map((l) => ({ l, fit: listenerFit(l, s, obs.pod) }));
      if (fits.some(({ fit }) => fit.port === true && fit.address && fit.process)) continue;
      const portOk = fits.filter(({ fit }) => fit.port === true);
      if (
        portOk.length > 0 &&
        portOk.some(({ fit }) => fit.process) &&
        !portOk.some(({ fit }) => fit.address)
      ) {
        const expected = [...new Set(portOk.map(({ l }) => l.address))].join(" or ");
        add({
          rule: "ListenerBindChanged",
          severity: isUnspecified(s.localAddress) ? "high" : "medium",
          message: `${obs.scope} listens on ${s.localPort}/${proto} at ${s.localAddress}${who(s)}; baseline ${b.id} expects it bound to ${expected}`,
          socket: socketRef(s),
          count: 1,
        });
        continue;
      }
      if (portOk.length > 0) {
        const expected = [...new Set(portOk.map(({ l }) => l.process).filter(Boolean))].join(" or ");
        add({
          rule: "UnexpectedListener",
          severity: "high",
          message: `${obs.scope} listens on ${at}${who(s)}; baseline ${b.id} expects that port to be held by process ${expected}`,
          socket: socketRef(s),
          count: 1,
        });
        continue;
      }
      if (fits.some(({ fit }) => fit.port === "unknown")) {
        add({
          rule: "CannotEvaluateOffline",
          severity: "info",
          message: `cannot evaluate offline: ${obs.scope} listens on ${at}${who(s)} and baseline ${b.id} names its listeners by port name, which needs the pod's spec`,
          socket: socketRef(s),
          count: 1,
        });
        continue;
      }
      add({
        rule: "UnexpectedListener",
        severity: isUnspecified(s.localAddress) ? "high" : "medium",
        message: `${obs.scope} opened an unexpected listener on ${at}${who(s)}; baseline ${b.id} allows ${b.summary.listeners} only`,
        socket: socketRef(s),
        count: 1,
      });
    }
  }

  // Peers, grouped so a peer seen on many sockets is one finding.
  const listeners = new ListenerIndex(obs.sockets);
  const peers = new Map<string, { peer: FindingPeer; first: Socket; count: number }>();
  for (const s of obs.sockets) {
    if (s.protocol !== "tcp" && s.protocol !== "udp") continue;
    const dir = directionOf(s, listeners);
    if (dir !== "egress" && dir !== "ingress") continue;
    if (isLoopback(s.remoteAddress)) continue;
    const peer: FindingPeer = {
      direction: dir,
      address: s.remoteAddress,
      port: dir === "ingress" ? s.localPort : s.remotePort,
      protocol: protoOf(s),
    };
    const key = `${dir}|${peer.address}|${peer.port}|${peer.protocol}`;
    const prev = peers.get(key);
    if (prev) prev.count++;
    else peers.set(key, { peer, first: s, count: 1 });
  }
  for (const { peer, first, count } of peers.values()) {
    const rules = peer.direction === "egress" ? b.egress : b.ingress;
    if (!rules) continue;
    const verdict = anyOf(rules, (rule) => ruleAllows(rule, peer, obs, b.namespace, r));
    if (verdict === true) continue;
    const identity = describeIdentity(peer.address, r);
    if (identity) peer.identity = identity;
    const named = identity ? ` (${identity})` : "";
    const conn = count > 1 ? `${count} sockets, e.g. ${first.state}` : first.state;
    if (verdict === "unknown") {
      const needs = needsOf(rules);
      add({
        rule: "CannotEvaluateOffline",
        severity: "info",
        message:
          peer.direction === "egress"
            ? `cannot evaluate offline: ${obs.scope} connected to ${endpoint(peer.address, peer.port)}/${peer.protocol}${who(first)} and baseline ${b.id}'s egress rules need cluster knowledge (${needs}) to decide`
            : `cannot evaluate offline: ${obs.scope} accepted a connection from ${peer.address} on port ${peer.port}/${peer.protocol}${who(first)} and baseline ${b.id}'s ingress rules need cluster knowledge (${needs}) to decide`,
        socket: socketRef(first),
        peer,
        count,
      });
      continue;
    }
    if (peer.direction === "egress") {
      const f: Omit<Finding, "baseline" | "scope"> = {
        rule: "UnexpectedEgress",
        severity: "medium",
        message: `${obs.scope} connected to ${endpoint(peer.address, peer.port)}/${peer.protocol}${named}${who(first)}, ${conn}; baseline ${b.id} allows egress ${b.summary.egress} only`,
        socket: socketRef(first),
        peer,
        count,
      };
      // T1571 Non-Standard Port: the observable is exactly this, traffic to an unusual port.
      if (!WELL_KNOWN_PORTS.has(peer.port)) f.mitre = { id: "T1571", name: "Non-Standard Port" };
      add(f);
    } else {
      add({
        rule: "UnexpectedIngress",
        severity: "medium",
        message: `${obs.scope} accepted a connection from ${peer.address}${named} on port ${peer.port}/${peer.protocol}${who(first)}, ${conn}; baseline ${b.id} allows ingress ${b.summary.ingress} only`,
        socket: socketRef(first),
        peer,
        count,
      });
    }
  }

  // Thresholds, per scope (the agent evaluates one pod at a time).
  const t = b.source.spec.thresholds;
  if (t) {
    const states = new Map<string, number>();
    let listening = 0;
    for (const s of obs.sockets) {
      if (s.protocol === "tcp") states.set(s.state, (states.get(s.state) ?? 0) + 1);
      if (isListening(s)) listening++;
    }
    for (const [state, limit] of Object.entries(t.tcpStates ?? {})) {
      const n = states.get(state) ?? 0;
      if (limit === undefined || n <= limit) continue;
      const why =
        state === "CLOSE_WAIT"
          ? " (the application is not closing connections its peers closed)"
          : state === "SYN_SENT"
            ? " (peers are not answering)"
            : "";
      add({
        rule: "TcpStateThreshold",
        severity: "low",
        message: `${obs.scope} has ${n} TCP sockets in ${state}; baseline ${b.id} allows at most ${limit}${why}`,
        count: n,
        limit,
        state,
      });
    }
    const est = states.get("ESTABLISHED") ?? 0;
    if (t.established !== undefined && est > t.established) {
      add({
        rule: "EstablishedThreshold",
        severity: "low",
        message: `${obs.scope} has ${est} established TCP connections; baseline ${b.id} allows at most ${t.established}`,
        count: est,
        limit: t.established,
      });
    }
    if (t.listeners !== undefined && listening > t.listeners) {
      add({
        rule: "ListenerThreshold",
        severity: "low",
        message: `${obs.scope} has ${listening} listening sockets; baseline ${b.id} allows at most ${t.listeners}`,
        count: listening,
        limit: t.listeners,
      });
    }
  }

  return applyExceptions(b, findings, now);
}

function applyExceptions(b: CompiledBaseline, findings: Finding[], now: Date): EvaluationResult {
  const result: EvaluationResult = { findings: [], suppressed: [] };
  for (const f of findings) {
    const address = f.peer?.address ?? f.socket?.localAddress;
    const port = f.peer?.port ?? f.socket?.localPort;
    const exception = b.exceptions.find((e) => {
      if (e.rule !== f.rule) return false;
      if (e.expires !== undefined && Date.parse(e.expires) <= now.getTime()) return false;
      if (e.address !== undefined) {
        if (address === undefined) return false;
        if (e.cidr ? !cidrContains(e.cidr, address) : e.address !== address) return false;
      }
      if (e.port !== undefined && e.port !== port) return false;
      if (e.process !== undefined && e.process !== f.socket?.process) return false;
      return true;
    });
    if (exception) {
      const s: EvaluationResult["suppressed"][number] = { finding: f, reason: exception.reason };
      if (exception.expires) s.expires = exception.expires;
      result.suppressed.push(s);
    } else {
      result.findings.push(f);
    }
  }
  return result;
}

export const SEVERITY_ORDER: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3 };

/**
 * What makes two findings "the same" across scans: rule, baseline, scope, and the stable
 * parts of the peer or socket (never the counts in the message). Events aggregate and OTel
 * logs deduplicate on it.
 */
export function findingKey(f: Finding): string {
  const s = f.socket;
  const where = f.peer
    ? `${f.peer.direction}|${f.peer.address}|${f.peer.port}|${f.peer.protocol}`
    : s
      ? `${s.protocol}|${s.localAddress}|${s.localPort}|${s.process ?? ""}`
      : (f.state ?? "");
  return `${f.baseline}|${f.scope}|${f.rule}|${where}`;
}
