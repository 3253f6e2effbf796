/**
 * Pure parsers for /proc/<pid>/net/{tcp,tcp6,udp,udp6,raw,raw6,unix}. They take text and
 * return records plus the lines they could not read; they never throw on any input.
 */
import { decodeProcAddress } from "./address.js";
import type { Family, Protocol, Socket, TimerKind } from "./socket.js";
import { datagramStateName, tcpStateName } from "./states.js";

/** A socket as read from one table, before it is joined with processes and namespaces. */
export type KernelSocket = Omit<
  Socket,
  "netns" | "pid" | "process" | "cmdline" | "processes" | "container" | "pod" | "user"
>;

export interface Malformed {
  file: string;
  line: number;
  text: string;
  reason: string;
}

export interface ParseResult<T> {
  records: T[];
  malformed: Malformed[];
}

export type InetTable = "tcp" | "tcp6" | "udp" | "udp6" | "raw" | "raw6";

const TABLE_PROTOCOL: Record<InetTable, [Protocol, Family]> = {
  tcp: ["tcp", "inet"],
  tcp6: ["tcp", "inet6"],
  udp: ["udp", "inet"],
  udp6: ["udp", "inet6"],
  raw: ["raw", "inet"],
  raw6: ["raw", "inet6"],
};

// tr column of /proc/net/tcp (see get_tcp4_sock): 1 retransmit, 2 keepalive, 3 TIME_WAIT, 4 zero-window probe.
const TIMERS: Record<string, TimerKind> = {
  "0": "off",
  "1": "retransmit",
  "2": "keepalive",
  "3": "timewait",
  "4": "probe",
};

// The kernel prints tm->when as clock_t (USER_HZ, 100 on every Linux architecture that matters).
const MS_PER_CLOCK_TICK = 10;

const HEX_FIELD = /^[0-9A-Fa-f]+$/;
const DEC_FIELD = /^\d+$/;

function splitEndpoint(field: string): [string, string] | null {
  const colon = field.indexOf(":");
  if (colon < 0) return null;
  return [field.slice(0, colon), field.slice(colon + 1)];
}

/**
 * Parse one of the inet tables. The first line is a header; every other non-blank line is
 * a socket or is reported as malformed with its reason.
 */
export function parseInetTable(
  text: string,
  table: InetTable,
  file: string = table,
): ParseResult<KernelSocket> {
  const [protocol, tableFamily] = TABLE_PROTOCOL[table];
  const records: KernelSocket[] = [];
  const malformed: Malformed[] = [];
  const lines = text.split("\n");
  for (let n = 1; n < lines.length; n++) {
    const raw = lines[n] ?? "";
    const line = raw.trim();
    if (line === "") continue;
    const bad = (reason: string) => malformed.push({ file, line: n + 1, text: raw, reason });
    const f = line.split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode — at least ten columns.
    if (f.length < 10) {
      bad(`expected at least 10 columns, found ${f.length}`);
      continue;
    }
    const local = splitEndpoint(f[1] ?? "");
    const remote = splitEndpoint(f[2] ?? "");
    if (!local || !remote) {
      bad("address column is not ADDR:PORT");
      continue;
    }
    const localAddress = decodeProcAddress(local[0]);
    const remoteAddress = decodeProcAddress(remote[0]);
    if (localAddress === null || remoteAddress === null) {
      bad(`address is not 8 or 32 hex digits: ${local[0]} / ${remote[0]}`);
      continue;
    }
    if ((local[0].length === 32) !== (tableFamily === "inet6")) {
      bad(`address width does not match table ${table}`);
      continue;
    }
    if (
      !HEX_FIELD.test(local[1]) ||
      !HEX_FIELD.test(remote[1]) ||
      local[1].length > 4 ||
      remote[1].length > 4
    ) {
      bad(`port is not 1-4 hex digits: ${local[1]} / ${remote[1]}`);
      continue;
    }
    const st = f[3] ?? "";
    if (!HEX_FIELD.test(st) || st.length > 2) {
      bad(`state is not hex: ${st}`);
      continue;
    }
    const queues = splitEndpoint(f[4] ?? "");
    const timer = splitEndpoint(f[5] ?? "");
    const inodeText = f[9] ?? "";
    const uidText = f[7] ?? "";
    if (!DEC_FIELD.test(inodeText) || !DEC_FIELD.test(uidText)) {
      bad(`uid or inode is not a decimal number: ${uidText} / ${inodeText}`);
      continue;
    }
    if (!queues || !timer || !HEX_FIELD.test(queues[0]) || !HEX_FIELD.test(queues[1])) {
      bad("tx_queue:rx_queue or tr:tm->when column is malformed");
      continue;
    }
    const stateCode = Number.parseInt(st, 16);
    const record: KernelSocket = {
      protocol,
      family: tableFamily,
      localAddress,
      localPort: Number.parseInt(local[1], 16),
      remoteAddress,
      remotePort: Number.parseInt(remote[1], 16),
      state: protocol === "tcp" ? tcpStateName(stateCode) : datagramStateName(stateCode),
      inode: Number(inodeText),
      uid: Number(uidText),
      txQueue: Number.parseInt(queues[0], 16),
      rxQueue: Number.parseInt(queues[1], 16),
    };
    const kind = TIMERS[String(Number.parseInt(timer[0], 16))] ?? "unknown";
    if (kind !== "off" && HEX_FIELD.test(timer[1])) {
      record.timer = { kind, expiresInMs: Number.parseInt(timer[1], 16) * MS_PER_CLOCK_TICK };
    }
    const retrans = f[6] ?? "";
    if (HEX_FIELD.test(retrans)) record.retransmits = Number.parseInt(retrans, 16);
    records.push(record);
  }
  return { records, malformed };
}

const UNIX_TYPES: Record<string, NonNullable<Socket["unixType"]>> = {
  "0001": "stream",
  "0002": "dgram",
  "0005": "seqpacket",
};

// __SO_ACCEPTCON in include/linux/net.h: set in the Flags column of a listening unix socket.
const SO_ACCEPTCON = 0x10000;

const UNIX_SOCKET_STATES: Record<string, Socket["state"]> = {
  "01": "UNCONN",
  "02": "CONNECTING",
  "03": "ESTABLISHED",
  "04": "DISCONNECTING",
};

/**
 * Parse /proc/net/unix: `Num RefCount Protocol Flags Type St Inode [Path]`. The path is the
 * rest of the line and may contain spaces; abstract names start with '@'.
 */
export function parseUnixTable(text: string, file = "unix"): ParseResult<KernelSocket> {
  const records: KernelSocket[] = [];
  const malformed: Malformed[] = [];
  const lines = text.split("\n");
  for (let n = 1; n < lines.length; n++) {
    const raw = lines[n] ?? "";
    if (raw.trim() === "") continue;
    const bad = (reason: string) => malformed.push({ file, line: n + 1, text: raw, reason });
    const m =
      /^\s*([0-9A-Fa-f]+):\s+([0-9A-Fa-f]+)\s+([0-9A-Fa-f]+)\s+([0-9A-Fa-f]+)\s+([0-9A-Fa-f]{4})\s+([0-9A-Fa-f]{2})\s+(\d+)(?:\s(.*))?$/.exec(
        raw,
      );
    if (!m) {
      bad("expected 'Num: RefCount Protocol Flags Type St Inode [Path]'");
      continue;
    }
    const flags = Number.parseInt(m[4] ?? "0", 16);
    const st = m[6] ?? "";
    const path = (m[8] ?? "").trim();
    const record: KernelSocket = {
      protocol: "unix",
      family: "unix",
      localAddress: path,
      localPort: 0,
      remoteAddress: "",
      remotePort: 0,
      state: flags & SO_ACCEPTCON ? "LISTEN" : (UNIX_SOCKET_STATES[st] ?? `UNKNOWN_${st}`),
      inode: Number(m[7]),
      unixType: UNIX_TYPES[m[5] ?? ""] ?? "unknown",
    };
    if (path !== "") record.path = path;
    records.push(record);
  }
  return { records, malformed };
}
