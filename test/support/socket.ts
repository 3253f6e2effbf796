/** Socket records for table tests: a TCP listener on 0.0.0.0:0 in the host's namespace, overridden per case. */
import type { Socket } from "../../src/core/socket.js";

export const HOST_NETNS = 4026531840;

export function makeSocket(p: Partial<Socket> = {}): Socket {
  return {
    protocol: "tcp",
    family: "inet",
    localAddress: "0.0.0.0",
    localPort: 0,
    remoteAddress: "0.0.0.0",
    remotePort: 0,
    state: "LISTEN",
    inode: 1,
    netns: HOST_NETNS,
    ...p,
  };
}
