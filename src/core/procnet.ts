/**
 * Pure parsers for /proc/<pid>/net/{tcp,tcp6,udp,udp6,raw,raw6,unix} (unix in
 * src/core/unixtable.ts). They take text and return records plus the lines they could not
 * read; they never throw on any input.
 */
import { decodeProcAddress } from "../net/address.js";
import { datagramStateName, tcpStateName } from "../net/states.js";
import type { Family, Protocol, Socket, TimerKind } from "./socket.js";

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

function isHex(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // 0-9, A-F, a-f
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/**
 * Numbers are checked against what the kernel prints and what a JS number holds exactly: a
 * 20-digit "inode" would become an imprecise float that the snapshot format (integers)
 * rejects, so socklens would write snapshots its own diff cannot read.
 */
function isDecimal(s: string): boolean {
  if (s.length === 0 || s.length > 15) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Split on runs of spaces/tabs into `out`, at most `max` fields. A hand-written loop because
 * a 40k-line table split with /\s+/ costs more than the kernel took to print it.
 */
function splitFields(line: string, out: string[], max: number): number {
  let n = 0;
  let i = 0;
  const len = line.length;
  while (i < len && n < max) {
    while (i < len && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
    if (i >= len) break;
    const start = i;
    while (i < len && line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 9) i++;
    out[n++] = line.slice(start, i);
  }
  return n;
}

// Addresses repeat across a table (every connection to one service, every loopback pair):
// decode each distinct hex once. Bounded so a long-lived agent does not grow with churn.
const addressCache = new Map<string, string | null>();
const ADDRESS_CACHE_MAX = 50_000;

function decodeCached(hex: string): string | null {
  let v = addressCache.get(hex);
  if (v === undefined) {
    v = decodeProcAddress(hex);
    if (addressCache.size >= ADDRESS_CACHE_MAX) addressCache.clear();
    addressCache.set(hex, v);
  }
  return v;
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
  const addrWidth = tableFamily === "inet6" ? 32 : 8;
  const records: KernelSocket[] = [];
  const malformed: Malformed[] = [];
  const f: string[] = new Array(10);
  let lineNo = 1;
  let pos = text.indexOf("\n");
  if (pos < 0) return { records, malformed };
  pos++;
  while (pos < text.length) {
    let end = text.indexOf("\n", pos);
    if (end < 0) end = text.length;
    const raw = text.slice(pos, end);
    pos = end + 1;
    lineNo++;
    const n = splitFields(raw, f, 10);
    if (n === 0) continue;
    const bad = (reason: string) => malformed.push({ file, line: lineNo, text: raw, reason });
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode — at least ten columns.
    if (n < 10) {
      bad(`expected at least 10 columns, found ${n}`);
      continue;
    }
    const local = f[1] as string;
    const remote = f[2] as string;
    const lc = local.indexOf(":");
    const rc = remote.indexOf(":");
    if (lc < 0 || rc < 0) {
      bad("address column is not ADDR:PORT");
      continue;
    }
    const lHex = local.slice(0, lc);
    const rHex = remote.slice(0, rc);
    const lPort = local.slice(lc + 1);
    const rPort = remote.slice(rc + 1);
    if (lHex.length !== addrWidth || rHex.length !== addrWidth) {
      bad(`address width does not match table ${table}: ${lHex} / ${rHex}`);
      continue;
    }
    const localAddress = decodeCached(lHex);
    const remoteAddress = decodeCached(rHex);
    if (localAddress === null || remoteAddress === null) {
      bad(`address is not ${addrWidth} hex digits: ${lHex} / ${rHex}`);
      continue;
    }
    if (!isHex(lPort) || !isHex(rPort) || lPort.length > 4 || rPort.length > 4) {
      bad(`port is not 1-4 hex digits: ${lPort} / ${rPort}`);
      continue;
    }
    const st = f[3] as string;
    if (!isHex(st) || st.length > 2) {
      bad(`state is not hex: ${st}`);
      continue;
    }
    const queues = f[4] as string;
    const timer = f[5] as string;
    const qc = queues.indexOf(":");
    const tc = timer.indexOf(":");
    const uidText = f[7] as string;
    const inodeText = f[9] as string;
    if (!isDecimal(inodeText) || !isDecimal(uidText)) {
      bad(`uid or inode is not a decimal number of at most 15 digits: ${uidText} / ${inodeText}`);
      continue;
    }
    const tx = queues.slice(0, qc);
    const rx = queues.slice(qc + 1);
    // %08X of 32-bit counters: at most 8 hex digits.
    if (qc < 0 || tc < 0 || !isHex(tx) || !isHex(rx) || tx.length > 8 || rx.length > 8) {
      bad("tx_queue:rx_queue or tr:tm->when column is malformed");
      continue;
    }
    const stateCode = Number.parseInt(st, 16);
    const record: KernelSocket = {
      protocol,
      family: tableFamily,
      localAddress,
      localPort: Number.parseInt(lPort, 16),
      remoteAddress,
      remotePort: Number.parseInt(rPort, 16),
      state: protocol === "tcp" ? tcpStateName(stateCode) : datagramStateName(stateCode),
      inode: Number(inodeText),
      uid: Number(uidText),
      txQueue: Number.parseInt(tx, 16),
      rxQueue: Number.parseInt(rx, 16),
    };
    const tr = timer.slice(0, tc);
    if (tr !== "00" && tr !== "0") {
      const kind = TIMERS[String(Number.parseInt(tr, 16))] ?? "unknown";
      const when = timer.slice(tc + 1);
      // %08lX of a long: at most 16 hex digits.
      if (kind !== "off" && isHex(when) && when.length <= 16)
        record.timer = { kind, expiresInMs: Number.parseInt(when, 16) * MS_PER_CLOCK_TICK };
    }
    const retrans = f[6] as string;
    if (isHex(retrans) && retrans.length <= 8) record.retransmits = Number.parseInt(retrans, 16);
    records.push(record);
  }
  return { records, malformed };
}

// /proc/net/unix has its own module: a socket's name can hold text shaped like a record.
export { parseUnixTable } from "./unixtable.js";
