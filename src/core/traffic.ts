/**
 * How socklens reads a scope's traffic: which sockets listen, which peers the scope talks to
 * and in which direction, and how many TCP sockets sit in each state. The matcher, the
 * learner, the observation builder and the diff all read sockets through this module, so
 * they cannot disagree about what "listening", "loopback" or "a peer" means.
 *
 * Direction (docs/adr/0003-matcher-semantics.md): a TCP socket whose local port listens in its
 * namespace was accepted (ingress); every other connected socket is ours (egress). Closing
 * states (TIME_WAIT, CLOSE_WAIT, …) still prove a recent peer, so they are peers too.
 */
import { directionOf, ListenerIndex } from "./direction.js";
import type { Socket } from "./socket.js";

/** Protocol names as baselines and NetworkPolicy spell them. */
export type Transport = "TCP" | "UDP";

export interface ListeningOptions {
  /**
   * The namespace's ephemeral port range (net.ipv4.ip_local_port_range). When given, an
   * unconnected UDP socket on a port inside it is a client socket — a resolver that sends
   * from a fresh socket per query gets a random port from this range — not a listener
   * (docs/adr/0009-udp-listeners-and-thresholds.md). Baselines pass it; `scan --listening` does not, and so
   * shows every bound UDP socket, as `ss -l` does.
   */
  ephemeralPorts?: readonly [number, number];
}

/**
 * The one listening predicate. TCP and unix stream sockets listen in LISTEN; a bound,
 * unconnected UDP socket receives from anyone, and so does a raw socket (for its protocol).
 * A UDP socket on port 0 is not bound to anything yet.
 */
export function isListening(s: Socket, options: ListeningOptions = {}): boolean {
  switch (s.protocol) {
    case "tcp":
    case "unix":
      return s.state === "LISTEN";
    case "udp": {
      if (s.state !== "UNCONN" || s.localPort === 0) return false;
      const range = options.ephemeralPorts;
      return !range || s.localPort < range[0] || s.localPort > range[1];
    }
    case "raw":
      return s.state === "UNCONN";
  }
}

/** The one loopback predicate: traffic that never leaves the namespace is not a peer. */
export function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1";
}

/** TCP or UDP as a baseline names them; undefined for raw and unix sockets, which baselines do not describe. */
export function transportOf(s: Pick<Socket, "protocol">): Transport | undefined {
  return s.protocol === "tcp" ? "TCP" : s.protocol === "udp" ? "UDP" : undefined;
}

/** A listening address, grouped over the sockets that hold it (SO_REUSEPORT, pre-fork). */
export interface ListenerUse {
  protocol: Transport;
  address: string;
  port: number;
  process?: string;
  /** The first socket seen for it: what a finding points at. */
  first: Socket;
  count: number;
}

/** A peer the scope talked to, grouped over its sockets. */
export interface PeerUse {
  direction: "ingress" | "egress";
  /** `tcp`, `udp` or `raw`, as on the socket. */
  protocol: Exclude<Socket["protocol"], "unix">;
  address: string;
  /** Egress: the peer's port; ingress: our (listening) port — the service port either way. */
  port: number;
  loopback: boolean;
  first: Socket;
  count: number;
}

export interface Traffic {
  listeners: ListenerUse[];
  peers: PeerUse[];
  /** TCP sockets per state. */
  tcpStates: Record<string, number>;
  /** Listening TCP and UDP sockets (not deduplicated: the `listeners` threshold counts sockets). */
  listening: number;
}

/**
 * Classify one scope's sockets. `index` says which ports listen; pass one built over a wider
 * set (a whole snapshot) when the scope is a slice of it, so direction is judged the same way.
 */
export function classifyTraffic(
  sockets: readonly Socket[],
  index = new ListenerIndex(sockets),
  options: ListeningOptions = {},
): Traffic {
  const listeners = new Map<string, ListenerUse>();
  const peers = new Map<string, PeerUse>();
  const tcpStates: Record<string, number> = {};
  let listening = 0;
  for (const s of sockets) {
    if (s.protocol === "unix") continue;
    if (s.protocol === "tcp") tcpStates[s.state] = (tcpStates[s.state] ?? 0) + 1;
    const transport = transportOf(s);
    if (isListening(s, options)) {
      if (!transport) continue;
      listening++;
      const key = `${transport}|${s.localAddress}|${s.localPort}|${s.process ?? ""}`;
      const prev = listeners.get(key);
      if (prev) prev.count++;
      else {
        const l: ListenerUse = {
          protocol: transport,
          address: s.localAddress,
          port: s.localPort,
          first: s,
          count: 1,
        };
        if (s.process !== undefined) l.process = s.process;
        listeners.set(key, l);
      }
      continue;
    }
    const direction = directionOf(s, index);
    if (direction !== "ingress" && direction !== "egress") continue;
    const port = direction === "ingress" ? s.localPort : s.remotePort;
    const key = `${direction}|${s.protocol}|${s.remoteAddress}|${port}`;
    const prev = peers.get(key);
    if (prev) prev.count++;
    else
      peers.set(key, {
        direction,
        protocol: s.protocol,
        address: s.remoteAddress,
        port,
        loopback: isLoopback(s.remoteAddress),
        first: s,
        count: 1,
      });
  }
  return { listeners: [...listeners.values()], peers: [...peers.values()], tcpStates, listening };
}

/** Peers a baseline judges: TCP and UDP, off loopback. */
export function baselinePeers(t: Traffic): (PeerUse & { transport: Transport })[] {
  const out: (PeerUse & { transport: Transport })[] = [];
  for (const p of t.peers) {
    const transport = transportOf(p);
    if (transport && !p.loopback) out.push({ ...p, transport });
  }
  return out;
}
