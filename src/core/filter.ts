/** Socket filters for `scan` and scope selection for `check`/`learn`: pure predicates. */
import type { Protocol, Socket } from "./socket.js";
import { isListening } from "./traffic.js";

export interface SocketFilter {
  listening?: boolean;
  states?: ReadonlySet<string>;
  protocols?: ReadonlySet<Protocol>;
  pids?: ReadonlySet<number>;
  netns?: ReadonlySet<number>;
  /** Container id or a prefix of it (≥ 4 characters, like `docker ps` short ids). */
  container?: string;
  podUid?: string;
  /** Local or remote port. */
  ports?: ReadonlySet<number>;
}

export function matchesFilter(s: Socket, f: SocketFilter): boolean {
  if (f.listening && !isListening(s)) return false;
  if (f.states && !f.states.has(s.state)) return false;
  if (f.protocols && !f.protocols.has(s.protocol)) return false;
  if (f.pids && !holderPids(s).some((p) => f.pids?.has(p))) return false;
  if (f.netns && !f.netns.has(s.netns)) return false;
  if (f.container && !s.container?.id.startsWith(f.container)) return false;
  if (f.podUid && s.pod?.uid !== f.podUid) return false;
  if (f.ports && !f.ports.has(s.localPort) && !f.ports.has(s.remotePort)) return false;
  return true;
}

export function holderPids(s: Socket): number[] {
  if (s.processes) return s.processes.map((p) => p.pid);
  return s.pid === undefined ? [] : [s.pid];
}

/** Canonical state spelling for user input: `close-wait`, `CLOSE_WAIT`, `estab` all work. */
export function normalizeStateName(input: string): string {
  const s = input.trim().toUpperCase().replaceAll("-", "_");
  const aliases: Record<string, string> = {
    ESTAB: "ESTABLISHED",
    LISTENING: "LISTEN",
    SYN_RECEIVED: "SYN_RECV",
    FIN_WAIT_1: "FIN_WAIT1",
    FIN_WAIT_2: "FIN_WAIT2",
    TIMEWAIT: "TIME_WAIT",
    CLOSEWAIT: "CLOSE_WAIT",
  };
  return aliases[s] ?? s;
}
