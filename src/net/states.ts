/**
 * Socket state names. TCP uses the kernel's names from include/net/tcp_states.h, in the
 * order of their numeric values, so the hex `st` column of /proc/net/tcp maps by index.
 */
export const TCP_STATES = [
  "UNKNOWN",
  "ESTABLISHED",
  "SYN_SENT",
  "SYN_RECV",
  "FIN_WAIT1",
  "FIN_WAIT2",
  "TIME_WAIT",
  "CLOSE",
  "CLOSE_WAIT",
  "LAST_ACK",
  "LISTEN",
  "CLOSING",
  "NEW_SYN_RECV",
] as const;

/** UNCONN: an unconnected UDP/raw socket (kernel state CLOSE), as `ss` prints it. */
export type SocketState =
  | (typeof TCP_STATES)[number]
  | "UNCONN"
  | "CONNECTING"
  | "DISCONNECTING"
  | `UNKNOWN_${string}`;

export const ALL_STATE_NAMES: readonly string[] = [
  ...TCP_STATES.slice(1),
  "UNCONN",
  "CONNECTING",
  "DISCONNECTING",
];

export function tcpStateName(code: number): SocketState {
  const name = TCP_STATES[code];
  return name && code > 0 ? name : `UNKNOWN_${code.toString(16).toUpperCase().padStart(2, "0")}`;
}

/** UDP and raw sockets reuse TCP's numbers: 1 is a connected socket, 7 (CLOSE) is unconnected. */
export function datagramStateName(code: number): SocketState {
  if (code === 7) return "UNCONN";
  return tcpStateName(code);
}
