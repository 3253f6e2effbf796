/** The small phrases every finding's sentence is built from, so all checks word things alike. */
import type { RemoteRef, Socket } from "../socket.js";
import type { Finding, PeerInfo } from "./types.js";

/** " (process web, pid 42)", or nothing when no process holds the socket. */
export function who(s: Socket): string {
  const parts: string[] = [];
  if (s.process) parts.push(`process ${s.process}`);
  if (s.pid !== undefined) parts.push(`pid ${s.pid}`);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

/** "10.0.0.1:80" or "[fd00::1]:80". */
export function endpoint(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** A peer's identity in a sentence: "pod shop/db-0", "service shop/db", "node n1", "external". */
export function identityText(ref: RemoteRef | PeerInfo): string {
  if (ref.kind === "external") return "external";
  if (ref.kind === "node") return `node ${ref.name}`;
  return `${ref.kind} ${ref.namespace}/${ref.name}`;
}

/** The socket a finding points at, without the fields that only add noise. */
export function socketRef(s: Socket): NonNullable<Finding["socket"]> {
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
