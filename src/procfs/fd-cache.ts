/**
 * The socket-holder map of a long-lived scanner (the agent, `watch`), kept across scans so
 * that a scan re-reads only the fd tables that can have changed.
 *
 * Why: on a full node (110 pods, ~40k sockets) the fd walk — one readlink per open fd — is
 * most of a scan's CPU, and almost all of it re-learns what the last scan knew: a held
 * connection keeps its inode and its holder. What a scan re-reads (docs/agent.md, "What a
 * scan re-reads"):
 *  - every fd of a pid it has not walked, or whose network namespace changed;
 *  - the fd list of a pid whose fd count changed (`stat /proc/<pid>/fd` reports the number of
 *    open fds since Linux 6.2; where it reports 0 the pid is always listed), reading only fd
 *    numbers it has not seen;
 *  - after the tables are read, every fd of every pid of a namespace that lists a socket
 *    inode no walk has attributed — a new connection on a reused fd number, or on a process
 *    whose fd count happens to be unchanged (one socket closed, another opened), is found
 *    this way; if that is not enough, every fd of the pids listed this scan (a socket held
 *    from another namespace); if an inode stays unclaimed two scans running, everything.
 *    Inodes still unowned after a walk of everything are remembered and trigger no other;
 *  - everything, every `fullEvery` scans (default 20: 5 minutes at the agent's 15 s), which
 *    bounds the one case the rules above cannot see: a socket passed between processes whose
 *    fd counts end up unchanged.
 */
import { readdirSync, readlinkSync, statSync } from "node:fs";
import { noteFailure, type ScanDiagnostics } from "./diagnostics.js";

interface PidEntry {
  netns: number;
  /** Open fds when last listed (0: the kernel does not report it; list every time). */
  fdCount: number;
  /** fd number → socket inode, or 0 for an fd that is not a socket. */
  fds: Map<number, number>;
}

/** inode → holding pid, or pids when shared (rare, so no array in the common case). */
export type Holders = Map<number, number | number[]>;

export interface WalkStats {
  /** Pids whose fd directory was listed this scan (only new fd numbers are read). */
  walked: number;
  /** Pids whose holdings were taken from the last scan without listing anything. */
  reused: number;
  /** Whether this scan walked every pid. */
  full: boolean;
}

/** Socket inodes among a pid's fds, or why its fd directory cannot be listed. */
export function walkFds(root: string, pid: number, diag: ScanDiagnostics): number[] | "gone" | "unreadable" {
  const fds = walkFdTable(root, pid, diag, undefined);
  if (typeof fds === "string") return fds;
  const inodes: number[] = [];
  for (const inode of fds.values()) if (inode !== 0) inodes.push(inode);
  return inodes;
}

function addHolder(holders: Holders, inode: number, pid: number): void {
  const prev = holders.get(inode);
  if (prev === undefined) holders.set(inode, pid);
  else if (typeof prev === "number") {
    if (prev !== pid) holders.set(inode, [prev, pid]);
  } else if (!prev.includes(pid)) prev.push(pid);
}

/** Number of open fds as the kernel reports it in the fd directory's size (0: not reported). */
function fdCount(root: string, pid: number): number | undefined {
  try {
    return statSync(`${root}/${pid}/fd`).size;
  } catch {
    return undefined; // gone or denied: the walk says which
  }
}

type Walk = {
  holders: Holders;
  walkedPids: Set<number>;
  stats: WalkStats;
  /**
   * Network namespaces of the pids that gained or lost a socket since their last walk (a new
   * pid holding sockets counts): the table cache re-reads their tables (table-cache.ts).
   */
  changedNetns: Set<number>;
};

export class FdCache {
  readonly #pids = new Map<number, PidEntry>();
  /** Inodes a walk of every pid left unowned (kernel-held, in flight): no reason to walk again. */
  #unowned = new Set<number>();
  /** Inodes the last scan could not attribute even after walking their namespace. */
  #pending = new Set<number>();
  #scans = 0;

  constructor(private readonly fullEvery = 20) {}

  /**
   * Holders of this scan's processes: a pid whose fd count is unchanged keeps last scan's
   * holdings; one whose count changed has its fd directory listed and only fd numbers not
   * seen before read (a closed-and-reused fd number is caught by `resolve`). `vanished`
   * collects pids that exited mid-walk.
   */
  holders(
    root: string,
    procs: readonly { pid: number; netns: number }[],
    diag: ScanDiagnostics,
    vanished: Set<number>,
  ): Walk {
    const full = this.#scans++ % this.fullEvery === 0;
    if (full) this.#unowned = new Set();
    const walk: Walk = {
      holders: new Map(),
      walkedPids: new Set(),
      stats: { walked: 0, reused: 0, full },
      changedNetns: new Set(),
    };
    const alive = new Set<number>();
    for (const { pid, netns } of procs) {
      alive.add(pid);
      const cached = this.#pids.get(pid);
      if (full || !cached || cached.netns !== netns) {
        this.#walk(root, pid, netns, diag, vanished, walk, undefined);
        continue;
      }
      const count = cached.fdCount > 0 ? fdCount(root, pid) : undefined;
      if (count !== undefined && count === cached.fdCount) {
        for (const inode of cached.fds.values()) if (inode !== 0) addHolder(walk.holders, inode, pid);
      } else this.#walk(root, pid, netns, diag, vanished, walk, cached.fds);
    }
    for (const pid of this.#pids.keys()) if (!alive.has(pid)) this.#pids.delete(pid);
    walk.stats.reused = procs.length - walk.walkedPids.size;
    return walk;
  }

  /**
   * After the tables are read: read every fd of whatever can hold the inodes no holder
   * claims — first the pids of the namespace that lists them; if an inode stays unclaimed
   * two scans running, every pid.
   */
  resolve(
    root: string,
    procs: readonly { pid: number; netns: number }[],
    namespaces: readonly { netns: number; sockets: readonly { inode: number }[] }[],
    walk: Walk,
    diag: ScanDiagnostics,
    vanished: Set<number>,
  ): void {
    const { holders } = walk;
    const unknown = (i: number) => i !== 0 && !holders.has(i) && !this.#unowned.has(i);
    const unclaimed = () =>
      namespaces.flatMap((n) => n.sockets.filter((s) => unknown(s.inode)).map((s) => s.inode));
    const needy = new Set<number>();
    for (const { netns, sockets } of namespaces) if (sockets.some((s) => unknown(s.inode))) needy.add(netns);
    if (needy.size === 0) {
      this.#pending = new Set();
      return;
    }
    try {
      this.#claim(root, procs, needy, walk, diag, vanished, unclaimed);
    } finally {
      walk.stats.reused = procs.length - walk.walkedPids.size;
    }
  }

  #claim(
    root: string,
    procs: readonly { pid: number; netns: number }[],
    needy: ReadonlySet<number>,
    walk: Walk,
    diag: ScanDiagnostics,
    vanished: Set<number>,
    unclaimed: () => number[],
  ): void {
    const deep = new Set<number>();
    for (const { pid, netns } of procs) {
      if (!needy.has(netns) || deep.has(pid)) continue;
      this.#walk(root, pid, netns, diag, vanished, walk, undefined);
      deep.add(pid);
    }
    let left = unclaimed();
    // Held from another namespace (a daemon that creates sockets in containers' namespaces,
    // a socket passed over a unix socket): most likely by a process whose fd count changed,
    // whose reused fd numbers were not read again. Read those in full.
    if (left.length > 0)
      for (const { pid, netns } of procs) {
        if (deep.has(pid) || !walk.walkedPids.has(pid)) continue;
        this.#walk(root, pid, netns, diag, vanished, walk, undefined);
        deep.add(pid);
      }
    left = unclaimed();
    // Still unclaimed two scans running: walk everything (one that appeared between a
    // process's walk and the table read is claimed next scan without it).
    if (!walk.stats.full && left.some((i) => this.#pending.has(i))) {
      for (const { pid, netns } of procs) {
        if (deep.has(pid)) continue;
        this.#walk(root, pid, netns, diag, vanished, walk, undefined);
        deep.add(pid);
      }
      walk.stats.full = true;
      left = unclaimed();
    }
    // After a walk of everything, what is still unclaimed has no holder we can see.
    if (walk.stats.full) for (const inode of left) this.#unowned.add(inode);
    this.#pending = new Set(walk.stats.full ? [] : left);
  }

  /** List a pid's fds and read those not known from `known` (all of them without it). */
  #walk(
    root: string,
    pid: number,
    netns: number,
    diag: ScanDiagnostics,
    vanished: Set<number>,
    walk: Walk,
    known: Map<number, number> | undefined,
  ): void {
    // The count first: an fd opened during the walk makes the next scan look again.
    const count = fdCount(root, pid) ?? 0;
    const fds = walkFdTable(root, pid, diag, known);
    if (typeof fds === "string") {
      if (fds === "gone") vanished.add(pid);
      this.#pids.delete(pid);
      return;
    }
    if (!walk.walkedPids.has(pid)) {
      walk.walkedPids.add(pid);
      walk.stats.walked++;
    }
    for (const inode of fds.values()) if (inode !== 0) addHolder(walk.holders, inode, pid);
    const before = this.#pids.get(pid);
    const changed = before
      ? before.netns !== netns || !sameSockets(before.fds, fds)
      : [...fds.values()].some((inode) => inode !== 0);
    if (changed) walk.changedNetns.add(netns);
    this.#pids.set(pid, { netns, fdCount: count, fds });
  }
}

/** Whether two fd tables hold the same socket inodes (the fd numbers aside). */
function sameSockets(a: Map<number, number>, b: Map<number, number>): boolean {
  const inodes = new Set<number>();
  for (const inode of a.values()) if (inode !== 0) inodes.add(inode);
  let n = 0;
  for (const inode of b.values()) {
    if (inode === 0) continue;
    if (!inodes.has(inode)) return false;
    n++;
  }
  // Same count of socket fds and every one of b's known: a dup'ed fd aside, the same set.
  let m = 0;
  for (const inode of a.values()) if (inode !== 0) m++;
  return n === m;
}

/** fd → socket inode (0: not a socket) of one pid, reading only fds missing from `known`. */
function walkFdTable(
  root: string,
  pid: number,
  diag: ScanDiagnostics,
  known: Map<number, number> | undefined,
): Map<number, number> | "gone" | "unreadable" {
  const fdDir = `${root}/${pid}/fd`;
  let names: string[];
  try {
    names = readdirSync(fdDir);
  } catch (err) {
    return noteFailure(diag, fdDir, err) === "gone" ? "gone" : "unreadable";
  }
  const fds = new Map<number, number>();
  for (const name of names) {
    const fd = Number(name);
    const seen = known?.get(fd);
    if (seen !== undefined) {
      fds.set(fd, seen);
      continue;
    }
    let target: string;
    try {
      target = readlinkSync(`${fdDir}/${name}`);
    } catch (err) {
      noteFailure(diag, `${fdDir}/${name}`, err);
      continue;
    }
    const inode = target.startsWith("socket:[") ? Number(target.slice(8, -1)) : 0;
    fds.set(fd, Number.isSafeInteger(inode) ? inode : 0);
  }
  return fds;
}
