/**
 * The socket collector: the only code (with its siblings in src/procfs) that reads /proc.
 *
 * 1. Enumerate processes and group them by network namespace (inode of /proc/<pid>/ns/net).
 * 2. Read each namespace's tables once, through one representative pid. These reads are where
 *    the kernel spends its time (it walks the whole TCP hash table per namespace), so they are
 *    started asynchronously as soon as a namespace is discovered and run on libuv's thread
 *    pool while this thread walks every process's fd table synchronously.
 * 3. Join socket inodes to the processes holding them, then to container/pod identity.
 */
import { existsSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseCgroupFile } from "../core/cgroup.js";
import { type ProtocolCounters, parseCounterPairs } from "../core/netinfo.js";
import {
  type InetTable,
  type KernelSocket,
  type ParseResult,
  parseInetTable,
  parseUnixTable,
} from "../core/procnet.js";
import type { ProcessRef, Protocol, Socket } from "../core/socket.js";
import { parseSockstat, type SockstatCounters, tableGate, tableMayHaveSockets } from "../core/sockstat.js";
import type { UnixCandidate } from "../core/unixtable.js";
import {
  emptyDiagnostics,
  noteFailure,
  noteMalformed,
  ProcRootError,
  type ScanDiagnostics,
} from "./diagnostics.js";
import { type FdCache, type Holders, type WalkStats, walkFds } from "./fd-cache.js";
import type { ProcPaths } from "./paths.js";
import { processName, readProcFile, readProcFileSync } from "./read.js";
import type { TableCache, TableName } from "./table-cache.js";
import { type NamespaceTables, settleUnixNames } from "./unixcheck.js";
import { UserNames } from "./users.js";

export interface NamespaceInfo {
  inode: number;
  name?: string;
  /** The pid whose /proc/<pid>/net/* was read for this namespace. */
  pid?: number;
  processes: number;
  /** With a table cache: how many of its tables this scan took from the cache. */
  tablesReused?: number;
}

export interface ScanResult {
  sockets: Socket[];
  namespaces: NamespaceInfo[];
  diagnostics: ScanDiagnostics;
  /** Every process seen, with its network namespace (listProcesses can reuse this walk). */
  processes: ProcessEntry[];
  /** How much of the fd walk this scan did (all of it without an fdCache). */
  fdWalk: WalkStats;
  /** How many socket tables this scan read, took from the table cache, or skipped as empty. */
  tables: TableReadStats;
}

export interface TableReadStats {
  /** Table files read (one per namespace and table). */
  read: number;
  /** Of those, read only because the table cache's forced re-read was due. */
  forced: number;
  /** Tables taken from the last scan that read them (tableCache: nothing said they changed). */
  reused: number;
  /** Tables not read because the namespace's sockstat counters say they are empty. */
  empty: number;
}

export interface CollectOptions {
  /** Where /proc and friends are (procPathsFromEnv, or a fixture tree). */
  paths: ProcPaths;
  /** Which protocols to read (default: all). Skipping tables is the cheapest filter. */
  protocols?: ReadonlySet<Protocol>;
  /** Only these namespace inodes (default: all). */
  netns?: ReadonlySet<number>;
  /** Reuse across scans in a long-lived process. */
  users?: UserNames;
  /**
   * Skip tables that the namespace's sockstat counters say are empty (default true). Off
   * only for tests that compare against reading everything.
   */
  skipEmptyTables?: boolean;
  /** A long-lived scanner's memory of who holds which socket (src/procfs/fd-cache.ts). */
  fdCache?: FdCache;
  /**
   * A long-lived scanner's last socket tables, reused for namespaces whose counters did not
   * change (src/procfs/table-cache.ts). Their sockets' states, queues and timers are then up
   * to the cache's `refreshEvery` scans old. One-shot commands pass none and read every table.
   */
  tableCache?: TableCache;
}

const TABLES: Record<Protocol, (InetTable | "unix")[]> = {
  tcp: ["tcp", "tcp6"],
  udp: ["udp", "udp6"],
  raw: ["raw", "raw6"],
  unix: ["unix"],
};

const NS_LINK = /^net:\[(\d+)\]$/;

export interface ProcessEntry {
  pid: number;
  netns: number;
}

/**
 * Read one file of a namespace's net/ directory through the first of its pids that still
 * exists. Returns null when no pid could be read (all exited, or access denied).
 */
async function readNetFile(
  root: string,
  pids: number[],
  name: string,
  diag: ScanDiagnostics,
  encoding: BufferEncoding = "utf8",
): Promise<{ pid: number; file: string; text: string } | null> {
  for (const pid of pids) {
    const file = join(root, String(pid), "net", name);
    try {
      return { pid, file, text: await readProcFile(file, encoding) };
    } catch (err) {
      const kind = noteFailure(diag, file, err);
      if (kind === "denied") return null;
      // Counted; another pid's file of the same namespace may still be readable.
      if (kind === "unreadable") continue;
      // ENOENT: either the pid exited (try the next one) or this kernel lacks the file
      // (raw6 without IPv6): then the process is still there and no pid will do better.
      if (existsSync(join(root, String(pid), "net"))) return null;
    }
  }
  return null;
}

interface Counters {
  /** sockstat and sockstat6 merged; undefined when unreadable (then every table is read). */
  sockstat?: SockstatCounters;
  /** net/snmp, read only for the table cache's gates. */
  snmp?: ProtocolCounters;
  /** The pid they were read through. */
  pid?: number;
}

/** A namespace's counters: cheap to read (no hash table walk), unlike its tables. */
async function readCounters(
  root: string,
  pids: number[],
  diag: ScanDiagnostics,
  snmp: boolean,
): Promise<Counters> {
  const [v4, v6, s] = await Promise.all([
    readNetFile(root, pids, "sockstat", diag),
    readNetFile(root, pids, "sockstat6", diag),
    snmp ? readNetFile(root, pids, "snmp", diag) : null,
  ]);
  const out: Counters = {};
  if (v4) {
    out.sockstat = { ...parseSockstat(v4.text), ...(v6 ? parseSockstat(v6.text) : {}) };
    out.pid = v4.pid;
  }
  if (s) out.snmp = parseCounterPairs(s.text, s.file).records[0] as ProtocolCounters;
  return out;
}

/** The table cache's view of one namespace for one scan. */
interface CachePlan {
  cache: TableCache;
  netns: number;
  pids: readonly number[];
  fdChanged: boolean;
}

interface NamespaceRead extends Omit<NamespaceTables, "netns"> {
  pid?: number;
  reused: number;
  /** What this scan read, per table, for the table cache to keep. */
  fresh: Map<TableName, { pid: number; records: KernelSocket[]; gate: string | undefined }>;
}

async function readNamespaceTables(
  root: string,
  pids: number[],
  tables: (InetTable | "unix")[],
  diag: ScanDiagnostics,
  skipEmpty: boolean,
  counters: Counters,
  stats: TableReadStats,
  plan?: CachePlan,
): Promise<NamespaceRead> {
  const sockstat = skipEmpty ? counters.sockstat : undefined;
  const wanted = tables.filter((t) => t === "unix" || tableMayHaveSockets(t, sockstat));
  stats.empty += tables.length - wanted.length;
  const sockets: KernelSocket[] = [];
  const unixCandidates: UnixCandidate[] = [];
  const fresh: NamespaceRead["fresh"] = new Map();
  let pid: number | undefined;
  let reused = 0;
  // Parse each table as it arrives, while the others are still being read.
  await Promise.all(
    wanted.map(async (table) => {
      let gate: string | undefined;
      if (plan) {
        gate = tableGate(table, counters.sockstat, counters.snmp);
        const l = plan.cache.lookup(plan.netns, table, gate, plan.pids, plan.fdChanged);
        if ("reuse" in l) {
          stats.reused++;
          reused++;
          for (const s of l.reuse) sockets.push(s);
          return;
        }
        if (l.read === "due") stats.forced++;
      }
      stats.read++;
      // unix byte for byte: a name's length in bytes is what tells a record from a name.
      const r = await readNetFile(root, pids, table, diag, table === "unix" ? "latin1" : "utf8");
      if (!r) return;
      pid ??= r.pid;
      const records: KernelSocket[] = [];
      if (plan) fresh.set(table, { pid: r.pid, records, gate });
      let parsed: ParseResult<KernelSocket>;
      if (table === "unix") {
        const u = parseUnixTable(r.text, r.file);
        for (const c of u.candidates) unixCandidates.push(c);
        parsed = u;
      } else parsed = parseInetTable(r.text, table, r.file);
      if (table === "unix") for (const s of parsed.records) records.push(s);
      else {
        // The kernel walks its hash tables while sockets come and go: one read can list a
        // socket twice (seen: up to 8 of ~40 rows). Counts must not double it.
        // Inodes as numbers: a string key per socket was 40k allocations a scan.
        const seen = new Set<number>();
        const seenUnheld = new Set<string>();
        for (const s of parsed.records) {
          if (s.inode !== 0) {
            if (seen.has(s.inode)) continue;
            seen.add(s.inode);
          } else {
            const key = `${s.localAddress}|${s.localPort}|${s.remoteAddress}|${s.remotePort}|${s.state}`;
            if (seenUnheld.has(key)) continue;
            seenUnheld.add(key);
          }
          records.push(s);
        }
      }
      for (const s of records) sockets.push(s);
      noteMalformed(diag, parsed.malformed);
    }),
  );
  pid ??= plan ? counters.pid : undefined;
  const more = {
    sockets,
    unixCandidates,
    fresh,
    reused,
    // Tables sockstat said were empty count as read: they list no inode.
    read: new Set<string>(tables),
    readFile: async (name: string) => (await readNetFile(root, pids, name, diag))?.text ?? null,
  };
  return pid === undefined ? more : { pid, ...more };
}

/** Namespace names from /run/netns (ip netns): inode → name. */
export function readNamespaceNames(runNetns: string): Map<number, string> {
  const names = new Map<number, string>();
  let entries: string[];
  try {
    entries = readdirSync(runNetns);
  } catch {
    return names;
  }
  for (const name of entries) {
    try {
      names.set(statSync(join(runNetns, name)).ino, name);
    } catch {
      // Being deleted: fine.
    }
  }
  return names;
}

/** Every process, grouped by the inode of its network namespace. */
export function enumerateProcesses(
  root: string,
  diag: ScanDiagnostics,
  only?: ReadonlySet<number>,
): { procs: ProcessEntry[]; pidsByNetns: Map<number, number[]> } {
  const procs: ProcessEntry[] = [];
  const pidsByNetns = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch (err) {
    throw new ProcRootError(
      `cannot list the proc root ${root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (set HOST_PROC to the host's /proc)`,
      { cause: err },
    );
  }
  for (const entry of entries) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    // A pid as the kernel names its directory: "1e3", "0x10" or "00100" would be read as
    // another pid's directory below (fd/, comm), and 20 digits are no exact JS number.
    const pid = Number(entry);
    if (!Number.isSafeInteger(pid) || String(pid) !== entry) continue;
    diag.processesSeen++;
    let link: string;
    const nsLink = join(root, entry, "ns", "net");
    try {
      link = readlinkSync(nsLink);
    } catch (err) {
      if (noteFailure(diag, nsLink, err) === "gone") diag.processesVanished++;
      continue;
    }
    const m = NS_LINK.exec(link);
    if (!m) continue;
    const netns = Number(m[1]);
    if (!Number.isSafeInteger(netns)) continue;
    if (only && !only.has(netns)) continue;
    procs.push({ pid, netns });
    const list = pidsByNetns.get(netns);
    if (list) list.push(pid);
    else pidsByNetns.set(netns, [pid]);
  }
  return { procs, pidsByNetns };
}

export async function collectSockets(options: CollectOptions): Promise<ScanResult> {
  const paths = options.paths;
  const root = paths.proc;
  const diag = emptyDiagnostics();
  const protocols = options.protocols ?? new Set<Protocol>(["tcp", "udp", "raw", "unix"]);
  const tables = [...protocols].flatMap((p) => TABLES[p]);
  const users = options.users ?? new UserNames(paths.passwd);

  // 1. Processes by namespace.
  const { procs, pidsByNetns } = enumerateProcesses(root, diag, options.netns);

  // 2. Start every namespace's counter reads now; they run on the thread pool while we walk
  //    fds. Without a table cache the table reads follow as soon as the counters are in.
  const skipEmpty = options.skipEmptyTables ?? true;
  const tableCache = options.tableCache;
  const tableStats: TableReadStats = { read: 0, forced: 0, reused: 0, empty: 0 };
  const counterReads = [...pidsByNetns].map(([netns, pids]) => ({
    netns,
    pids,
    counters:
      skipEmpty || tableCache
        ? readCounters(root, pids, diag, tableCache !== undefined)
        : Promise.resolve({}),
  }));
  const tableReads = tableCache
    ? undefined
    : counterReads.map(({ netns, pids, counters }) =>
        counters
          .then((c) => readNamespaceTables(root, pids, tables, diag, skipEmpty, c, tableStats))
          .then((r) => ({ netns, ...r })),
      );

  // 3. Socket inode → holding pids, from the fd tables (all of them, or with a cache only
  //    those that can have changed since the last scan).
  const vanished = new Set<number>();
  let walk: ReturnType<FdCache["holders"]>;
  if (options.fdCache) walk = options.fdCache.holders(root, procs, diag, vanished);
  else {
    const holders: Holders = new Map();
    for (const { pid } of procs) {
      const inodes = walkFds(root, pid, diag);
      if (inodes === "gone") vanished.add(pid);
      if (typeof inodes === "string") continue;
      for (const inode of inodes) {
        const prev = holders.get(inode);
        if (prev === undefined) holders.set(inode, pid);
        else if (typeof prev === "number") {
          if (prev !== pid) holders.set(inode, [prev, pid]);
        } else if (prev[prev.length - 1] !== pid) prev.push(pid);
      }
    }
    walk = {
      holders,
      walkedPids: new Set(),
      stats: { walked: procs.length, reused: 0, full: true },
      changedNetns: new Set(),
    };
  }
  const holders = walk.holders;

  // With a table cache, which tables to read is decided now, knowing which namespaces' processes
  // gained or lost a socket in the fd walk.
  tableCache?.beginScan();
  const namespaceResults = await Promise.all(
    tableReads ??
      counterReads.map(async ({ netns, pids, counters }) => {
        const c = await counters;
        const fdChanged = walk.changedNetns.has(netns);
        const plan = { cache: tableCache as TableCache, netns, pids, fdChanged };
        return {
          netns,
          ...(await readNamespaceTables(root, pids, tables, diag, skipEmpty, c, tableStats, plan)),
        };
      }),
  );
  options.fdCache?.resolve(root, procs, namespaceResults, walk, diag, vanished);
  // Records a unix socket's name could have forged: judged by what the fd walk and the other tables saw.
  diag.ambiguousUnixSockets = await settleUnixNames(namespaceResults, holders);
  if (tableCache) {
    for (const n of namespaceResults)
      for (const [table, f] of n.fresh) {
        // A unix table with records a name could have forged was settled against this scan
        // only: read it again next time.
        if (table === "unix" && n.unixCandidates.length > 0) tableCache.forget(n.netns, table);
        else tableCache.store(n.netns, table, f.gate, f.pid, f.records);
      }
    tableCache.endScan();
  }

  // 4. Process details, only for processes that hold a socket we saw.
  const info = new Map<number, ProcessDetails | null>();
  const details = (pid: number): ProcessDetails | null => {
    let d = info.get(pid);
    if (d === undefined) {
      const read = readProcessDetails(root, pid, diag);
      if (read === "gone") vanished.add(pid);
      d = read === "gone" ? null : read;
      info.set(pid, d);
    }
    return d;
  };

  const names = readNamespaceNames(paths.runNetns);
  const sockets: Socket[] = [];
  const namespaces: NamespaceInfo[] = [];
  for (const { netns, pid, sockets: kernelSockets, reused } of namespaceResults) {
    const ns: NamespaceInfo = { inode: netns, processes: pidsByNetns.get(netns)?.length ?? 0 };
    if (tableCache) ns.tablesReused = reused;
    const name = names.get(netns);
    if (name) ns.name = name;
    if (pid !== undefined) ns.pid = pid;
    namespaces.push(ns);
    for (const k of kernelSockets) {
      // The kernel record is ours alone: complete it in place rather than copy 40k objects —
      // unless a table cache keeps it for later scans, which must not see this scan's owners.
      const s = (tableCache ? { ...k } : k) as Socket;
      s.netns = netns;
      if (name) s.netnsName = name;
      const held = k.inode === 0 ? undefined : holders.get(k.inode);
      if (held !== undefined) attachProcesses(s, held, details, users);
      sockets.push(s);
    }
  }
  for (const [inode, name] of names) {
    if (!pidsByNetns.has(inode) && (!options.netns || options.netns.has(inode)))
      diag.namespacesWithoutProcess.push(name);
  }
  diag.processesVanished += vanished.size;
  return { sockets, namespaces, diagnostics: diag, processes: procs, fdWalk: walk.stats, tables: tableStats };
}

interface ProcessDetails {
  process: string;
  cmdline: string;
  uid?: number;
  container?: Socket["container"];
  pod?: Socket["pod"];
}

/**
 * A process's name, command line, uid and container identity. Each file is read on its own:
 * one that cannot be read costs only its field (counted in the diagnostics). "gone" when the
 * process exited; null when its name cannot be read (then it is not attributed).
 */
function readProcessDetails(
  root: string,
  pid: number,
  diag: ScanDiagnostics,
): ProcessDetails | "gone" | null {
  const dir = join(root, String(pid));
  let exited = false;
  const read = (name: string): string | null => {
    if (exited) return null;
    const file = join(dir, name);
    try {
      return readProcFileSync(file);
    } catch (err) {
      if (noteFailure(diag, file, err) === "gone") exited = true;
      return null;
    }
  };
  const comm = read("comm");
  const cmdline = read("cmdline");
  const status = read("status");
  const cgroup = read("cgroup");
  if (exited) return "gone";
  if (comm === null) return null;
  const d: ProcessDetails = {
    process: processName(comm),
    cmdline: (cmdline ?? "").replace(/\0+$/, "").replaceAll("\0", " "),
  };
  const uidMatch = status === null ? null : /^Uid:\s+(\d+)/m.exec(status);
  // A uid no JS number holds exactly is none (unix records take theirs from here).
  if (uidMatch && Number.isSafeInteger(Number(uidMatch[1]))) d.uid = Number(uidMatch[1]);
  const { container, podUid } = parseCgroupFile(cgroup ?? "");
  // One object per process, shared by its sockets: records are read-only downstream.
  if (container) d.container = container;
  if (podUid) d.pod = { uid: podUid };
  return d;
}

function attachProcesses(
  s: Socket,
  held: number | number[],
  details: (pid: number) => ProcessDetails | null,
  users: UserNames,
): void {
  let pid: number;
  let first: ProcessDetails | null;
  if (typeof held === "number") {
    // The common case, one holder: no intermediate arrays.
    pid = held;
    first = details(held);
  } else {
    const known: ProcessRef[] = [];
    let lowest: ProcessDetails | null = null;
    for (const p of [...held].sort((a, b) => a - b)) {
      const d = details(p);
      if (!d) continue;
      if (!lowest) lowest = d;
      known.push({ pid: p, process: d.process });
    }
    if (!lowest || !known[0]) return;
    pid = known[0].pid;
    first = lowest;
    if (known.length > 1) s.processes = known;
  }
  if (!first) return;
  s.pid = pid;
  s.process = first.process;
  s.cmdline = first.cmdline;
  // /proc/net/unix has no uid column: the holder's uid is the honest answer there.
  if (s.uid === undefined && first.uid !== undefined) s.uid = first.uid;
  if (s.uid !== undefined) {
    const user = users.name(s.uid);
    if (user) s.user = user;
  }
  if (first.container) s.container = first.container;
  if (first.pod) s.pod = first.pod;
}
