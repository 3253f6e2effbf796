/**
 * /proc/net/unix, read so that a socket name cannot forge a record (docs/adr/0006).
 *
 * The kernel prints each socket as `%pK: %08X %08X %08X %04X %02X %5lu` and, when the
 * socket is bound, a space and its name, byte for byte, up to the newline that ends the
 * record (net/unix/af_unix.c, unix_seq_show). A name may contain newlines (abstract names
 * are any bytes; file names any byte but "/" and NUL), so the text after a newline in a name
 * can look exactly like another record: `\0x\n0000000000000000: 00000002 00000000 00010000
 * 0001 01 31337 /run/FORGED.sock` would add a LISTEN socket nobody has.
 *
 * What a name cannot change:
 *  - a name is at most 108 bytes, so a line can continue a name only if that name so far,
 *    plus the newline, plus the line fit in 108 bytes; a line after a record without a name
 *    always starts a record (certain lines);
 *  - the kernel's exact format: fixed widths, fixed Protocol, two possible Flags, three
 *    Types, four States, the inode right-aligned in five columns; when every certain line of
 *    the table has it, a possible continuation without it is a continuation;
 *  - the pointer column as this reader sees it (all zeros under kptr_restrict, or distinct
 *    values): a possible continuation that breaks the pattern of the certain lines, or
 *    repeats one of their pointers, is a continuation;
 *  - inodes: each socket has its own; a possible continuation that repeats the inode of a
 *    certain record is a continuation.
 * A possible continuation that passes all of these is kept as a record, and it and the
 * record whose name it may continue are marked `ambiguous`. The collector then looks at
 * what the kernel says elsewhere (settleUnixCandidates): a record whose inode a process
 * holds and no other table lists is real; one whose inode another table lists is a
 * continuation; one that nothing confirms stays ambiguous, shown as such.
 */
import type { KernelSocket, Malformed, ParseResult } from "./procnet.js";
import type { Socket } from "./socket.js";

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

/** The longest name the kernel prints: sun_path is 108 bytes ('@' stands for an abstract name's NUL). */
export const UNIX_NAME_MAX = 108;

// What earlier versions accepted: any widths, any spacing, the name trimmed.
const LENIENT =
  /^\s*(?<num>[0-9A-Fa-f]+):\s+[0-9A-Fa-f]+\s+[0-9A-Fa-f]+\s+(?<flags>[0-9A-Fa-f]+)\s+(?<type>[0-9A-Fa-f]{4})\s+(?<st>[0-9A-Fa-f]{2})\s+(?<inode>\d+)(?:\s(?<path>.*))?$/;
// Exactly what unix_seq_show prints.
const KERNEL =
  /^(?<num>[0-9a-f]{8}|[0-9a-f]{16}): [0-9A-F]{8} 00000000 (?<flags>00000000|00010000) (?<type>0001|0002|0005) (?<st>0[1-4]) (?<pad> *)(?<inode>\d+)(?: (?<path>.+))?$/;

interface Fields {
  num: string;
  flags: string;
  type: string;
  st: string;
  inode: number;
  path: string;
  /** The line has the kernel's exact format. */
  exact: boolean;
}

function fields(line: string): Fields | null {
  const k = KERNEL.exec(line)?.groups;
  // %5lu: right-aligned in five columns, never padded beyond.
  const exact = k !== undefined && k.pad?.length === Math.max(0, 5 - (k.inode?.length ?? 0));
  const g = exact ? k : LENIENT.exec(line)?.groups;
  if (!g) return null;
  const path = g.path ?? "";
  // %lu, but an inode a JS number cannot hold exactly is no inode we can match or write.
  const inode = Number(g.inode);
  if (!Number.isSafeInteger(inode)) return null;
  // No kernel prints a longer name; one of 2 MB padded every table row to its width.
  if (path.length > UNIX_NAME_MAX) return null;
  return {
    num: g.num ?? "",
    flags: g.flags ?? "",
    type: g.type ?? "",
    st: g.st ?? "",
    inode,
    path: exact ? path : path.trim(),
    exact,
  };
}

/** The text is read byte for byte (latin1) so lengths are bytes; names are UTF-8. */
function decodeName(raw: string): string {
  let high = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c > 0xff) return raw; // already decoded text (a test, or a caller that read UTF-8)
    if (c > 0x7f) high = true;
  }
  return high ? Buffer.from(raw, "latin1").toString("utf8") : raw;
}

function record(f: Fields): KernelSocket {
  const flags = Number.parseInt(f.flags, 16);
  const s: KernelSocket = {
    protocol: "unix",
    family: "unix",
    localAddress: "",
    localPort: 0,
    remoteAddress: "",
    remotePort: 0,
    state: flags & SO_ACCEPTCON ? "LISTEN" : (UNIX_SOCKET_STATES[f.st] ?? `UNKNOWN_${f.st}`),
    inode: f.inode,
    unixType: UNIX_TYPES[f.type] ?? "unknown",
  };
  setName(s, f.path);
  return s;
}

function setName(s: KernelSocket, raw: string): void {
  const name = decodeName(raw);
  s.localAddress = name;
  if (name === "") delete s.path;
  else s.path = name;
}

/** A record that may instead be the end of `previous`'s name. */
export interface UnixCandidate {
  record: KernelSocket;
  previous: KernelSocket;
  /** The line as read: what `previous`'s name continues with if the record is not real. */
  line: string;
  /** `previous`'s name (raw bytes) up to this line. */
  previousName: string;
}

export interface UnixParseResult extends ParseResult<KernelSocket> {
  /** Records kept but not proven: each marked `ambiguous`, as is the record before it. */
  candidates: UnixCandidate[];
  /** Lines read as part of the name before them instead of as records. */
  continuations: number;
}

/**
 * Parse /proc/net/unix: `Num RefCount Protocol Flags Type St Inode [Path]`. Abstract names
 * start with '@'. Pass the text as read with latin1 (bytes) for exact name lengths; plain
 * ASCII text works as well.
 */
export function parseUnixTable(text: string, file = "unix"): UnixParseResult {
  const lines = text.split("\n");
  // The last element is what follows the final newline: nothing, in a complete table.
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  const parsed = lines.map((l, i) => (i === 0 ? null : fields(l)));

  // Which lines can be the continuation of a name, from the text alone: some earlier
  // record's name, plus every line after it up to this one, fits in a name.
  const possible = lines.map((line, i) => {
    let used = 1 + line.length;
    for (let k = i - 1; k >= 1 && used < UNIX_NAME_MAX; k--) {
      const f = parsed[k];
      if (f && f.path !== "" && f.path.length + used <= UNIX_NAME_MAX) return true;
      used += 1 + (lines[k] as string).length;
    }
    return false;
  });

  // What the certain lines say about this table.
  let exactTable = true;
  let certainRecords = 0;
  let zeroPointers = 0;
  const widths = new Set<number>();
  const certainPointers = new Set<string>();
  const certainInodes = new Set<number>();
  for (let i = 1; i < lines.length; i++) {
    const f = parsed[i];
    if (!f || possible[i]) continue;
    certainRecords++;
    if (!f.exact) exactTable = false;
    widths.add(f.num.length);
    if (/^0+$/.test(f.num)) zeroPointers++;
    else certainPointers.add(f.num);
    if (f.inode !== 0) certainInodes.add(f.inode);
  }
  const allZero = certainRecords > 0 && zeroPointers === certainRecords;
  const noneZero = certainRecords > 0 && zeroPointers === 0;

  /** Whether a possible continuation cannot be a record the kernel printed. */
  const notAKernelRecord = (f: Fields | null): boolean => {
    if (!f) return true;
    if (exactTable && certainRecords > 0 && !f.exact) return true;
    if (widths.size === 1 && !widths.has(f.num.length)) return true;
    const zero = /^0+$/.test(f.num);
    if ((allZero && !zero) || (noneZero && zero) || certainPointers.has(f.num)) return true;
    return f.inode !== 0 && certainInodes.has(f.inode);
  };

  const records: KernelSocket[] = [];
  const malformed: Malformed[] = [];
  const candidates: UnixCandidate[] = [];
  let continuations = 0;
  // The record whose name the next line may continue, and that name so far (raw bytes).
  let open: { record: KernelSocket; name: string } | null = null;
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i] as string;
    const f = parsed[i] ?? null;
    const canContinue = open !== null && open.name.length + 1 + raw.length <= UNIX_NAME_MAX;
    if (open && canContinue && notAKernelRecord(f)) {
      open.name += `\n${raw}`;
      setName(open.record, open.name);
      continuations++;
      continue;
    }
    if (raw.trim() === "") continue;
    if (!f) {
      malformed.push({
        file,
        line: i + 1,
        text: raw,
        reason: "expected 'Num: RefCount Protocol Flags Type St Inode [Path]'",
      });
      open = null;
      continue;
    }
    const s = record(f);
    records.push(s);
    if (open && canContinue) {
      // Shaped like a record, where a name could have put it: not proven either way.
      s.ambiguous = true;
      open.record.ambiguous = true;
      candidates.push({ record: s, previous: open.record, line: raw, previousName: open.name });
    }
    open = f.path === "" ? null : { record: s, name: f.path };
  }
  return { records, malformed, candidates, continuations };
}

/** What the rest of the scan knows about a socket inode. */
export interface InodeEvidence {
  /** A process holds it (`socket:[inode]` under /proc/<pid>/fd). */
  held(inode: number): boolean;
  /** Another record the kernel listed for sure (another table, or a certain unix line) has it. */
  listedElsewhere(inode: number): boolean;
}

/**
 * Decide the candidates with what the collector saw: a record another table lists the
 * inode of is the end of the name before it (merged back, dropped from `records`); one that
 * a process holds and nothing else lists is real (both marks cleared); any other stays
 * ambiguous. Returns the records to drop.
 */
export function settleUnixCandidates(
  candidates: UnixCandidate[],
  evidence: InodeEvidence,
): Set<KernelSocket> {
  const drop = new Set<KernelSocket>();
  // Two candidates claiming one inode cannot both be real, and nothing says which is.
  const claims = new Map<number, number>();
  for (const c of candidates) claims.set(c.record.inode, (claims.get(c.record.inode) ?? 0) + 1);
  const open: UnixCandidate[] = [];
  for (const c of candidates) {
    const { record, previous } = c;
    if (record.inode !== 0 && evidence.listedElsewhere(record.inode)) {
      setName(previous, `${c.previousName}\n${c.line}`);
      drop.add(record);
    } else if (record.inode === 0 || claims.get(record.inode) !== 1 || !evidence.held(record.inode)) {
      open.push(c);
    }
  }
  // A record is marked when a candidate it is part of stays open, as the line or as the name before it.
  for (const c of candidates) {
    delete c.record.ambiguous;
    delete c.previous.ambiguous;
  }
  for (const c of open) {
    c.record.ambiguous = true;
    c.previous.ambiguous = true;
  }
  return drop;
}

/**
 * Socket tables a name cannot forge a line in, read only to confirm or refute a candidate:
 * the inet-shaped ones (inode in the tenth column) and netlink/packet (inode last). All are
 * readable by anyone, which is how a forger learns another process's inode to borrow.
 */
export const CONFIRMING_TABLES: Record<string, "inet" | "last"> = {
  tcp: "inet",
  tcp6: "inet",
  udp: "inet",
  udp6: "inet",
  raw: "inet",
  raw6: "inet",
  udplite: "inet",
  udplite6: "inet",
  icmp: "inet",
  icmp6: "inet",
  netlink: "last",
  packet: "last",
};

/** The socket inodes a table lists (its header and anything not a number skipped). */
export function listedInodes(text: string, column: "inet" | "last"): Set<number> {
  const out = new Set<number>();
  const lines = text.split("\n");
  for (let i = 1; i < lines.length; i++) {
    const f = (lines[i] as string).trim().split(/\s+/);
    const v = column === "inet" ? f[9] : f[f.length - 1];
    if (v !== undefined && /^\d+$/.test(v)) out.add(Number(v));
  }
  return out;
}
