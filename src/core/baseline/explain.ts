/** The small phrases every finding's sentence is built from, so all checks word things alike. */
import type { Socket } from "../socket.js";
import type { Finding } from "./types.js";

export { identityText } from "../identity.js";

/** " (process web, pid 42)", or nothing when no process holds the socket. */
export function who(s: Socket): string {
  const parts: string[] = [];
  if (s.process) parts.push(`process ${s.process}`);
  if (s.pid !== undefined) parts.push(`pid ${s.pid}`);
  return parts.length ? ` (${parts.join(", ")})` : "";
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
