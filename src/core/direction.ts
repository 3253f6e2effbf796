/**
 * Which way a connection goes, inferred honestly from one namespace's sockets: a TCP socket
 * whose local port is listening in the same namespace (on a matching or wildcard address) was
 * accepted, so its peer is a client (ingress); every other connected socket is ours (egress).
 */
import { isUnspecified } from "../net/address.js";
import type { Socket } from "./socket.js";

export type Direction = "ingress" | "egress" | "listen" | "unconnected";

export class ListenerIndex {
  // netns → port → bound addresses
  readonly #byNs = new Map<number, Map<string, Set<string>>>();

  constructor(sockets: Iterable<Socket>) {
    for (const s of sockets) {
      if (s.state !== "LISTEN" || s.protocol !== "tcp") continue;
      let ports = this.#byNs.get(s.netns);
      if (!ports) {
        ports = new Map();
        this.#byNs.set(s.netns, ports);
      }
      const key = String(s.localPort);
      let addrs = ports.get(key);
      if (!addrs) {
        addrs = new Set();
        ports.set(key, addrs);
      }
      addrs.add(s.localAddress);
    }
  }

  isListening(netns: number, address: string, port: number): boolean {
    const addrs = this.#byNs.get(netns)?.get(String(port));
    if (!addrs) return false;
    if (addrs.has(address)) return true;
    for (const a of addrs) if (isUnspecified(a)) return true;
    return false;
  }
}

export function directionOf(s: Socket, listeners: ListenerIndex): Direction {
  if (s.protocol === "unix") return s.state === "LISTEN" ? "listen" : "unconnected";
  if (s.state === "LISTEN") return "listen";
  if (s.remotePort === 0 && isUnspecified(s.remoteAddress)) return "unconnected";
  if (s.protocol === "tcp" && listeners.isListening(s.netns, s.localAddress, s.localPort)) return "ingress";
  return "egress";
}
