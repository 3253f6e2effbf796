/**
 * The socket tables of a long-lived scanner (the agent, `socklens watch`), kept across scans
 * so that a scan reads a namespace's /proc/<pid>/net/<table> only when something says it may
 * have changed.
 *
 * Why: without per-namespace hash tables (`net.ipv4.tcp_child_ehash_entries`) every read of a
 * namespace's net/tcp walks the host-wide TCP hash table and every socket in it, so a scan
 * costs namespaces × all sockets of kernel time (1.9 s of a 2.2 s scan at 110 namespaces and
 * 41k sockets, bench/README.md). Most namespaces change little between two scans 15 s apart.
 *
 * A table's last records are reused (docs/agent.md, "What a scan re-reads"; ADR 0030) when
 *  - its gate — the namespace's own counters from sockstat and snmp (`tableGate` in
 *    src/core/sockstat.ts) — is what it was when the table was read, and
 *  - the pid it was read through still lives in that namespace (a namespace inode can be
 *    reused by a new namespace once the old one is gone), and
 *  - the fd walk saw no process of the namespace gain or lose a socket, and
 *  - it was read fewer than `refreshEvery` scans ago. Counters miss changes of state alone
 *    (a peer's FIN turns ESTABLISHED into CLOSE_WAIT) and of queues and timers: those are
 *    seen at the latest on the forced re-read. Namespaces first read in the same scan are
 *    spread over the following scans, so the forced re-reads do not all fall on one scan.
 *
 * `refreshEvery: 1` reuses nothing (every table is read every scan, as without a cache).
 */
import type { InetTable, KernelSocket } from "../core/procnet.js";

export type TableName = InetTable | "unix";

interface Entry {
  gate: string;
  pid: number;
  /** As parsed; never handed out (callers complete a copy of each record). */
  records: readonly KernelSocket[];
  /** Scan number at which this entry must be read again regardless of its gate. */
  due: number;
}

/** Why a table is read this scan, or the records to reuse. */
export type Lookup = { reuse: readonly KernelSocket[] } | { read: "new" | "changed" | "due" | "ungated" };

/** Agent default: at the agent's 15 s interval, state-only changes are at most a minute late. */
export const DEFAULT_REFRESH_EVERY = 4;

export class TableCache {
  readonly refreshEvery: number;
  readonly #entries = new Map<number, Map<TableName, Entry>>();
  #scan = 0;
  #seen = new Set<number>();

  constructor(refreshEvery = DEFAULT_REFRESH_EVERY) {
    if (!Number.isSafeInteger(refreshEvery) || refreshEvery < 1)
      throw new RangeError(`refreshEvery must be a whole number of scans ≥ 1, got ${refreshEvery}`);
    this.refreshEvery = refreshEvery;
  }

  /** Start a scan: entries of namespaces this scan does not look at are dropped at its end. */
  beginScan(): void {
    this.#scan++;
    this.#seen = new Set();
  }

  /** Forget the namespaces this scan did not see (gone, or no longer readable). */
  endScan(): void {
    for (const netns of this.#entries.keys()) if (!this.#seen.has(netns)) this.#entries.delete(netns);
  }

  lookup(
    netns: number,
    table: TableName,
    gate: string | undefined,
    pids: readonly number[],
    fdChanged: boolean,
  ): Lookup {
    this.#seen.add(netns);
    if (gate === undefined) return { read: "ungated" };
    const e = this.#entries.get(netns)?.get(table);
    if (!e) return { read: "new" };
    if (this.#scan >= e.due) return { read: "due" };
    if (e.gate !== gate || fdChanged || !pids.includes(e.pid)) return { read: "changed" };
    return { reuse: e.records };
  }

  /** Keep what this scan read (`gate` undefined: counters unreadable, nothing to keep). */
  store(
    netns: number,
    table: TableName,
    gate: string | undefined,
    pid: number,
    records: readonly KernelSocket[],
  ): void {
    this.#seen.add(netns);
    let tables = this.#entries.get(netns);
    if (gate === undefined) {
      tables?.delete(table);
      return;
    }
    if (!tables) {
      tables = new Map();
      this.#entries.set(netns, tables);
    }
    // A table seen for the first time gets an earlier first deadline, spread by inode, so
    // that namespaces found together (the agent's first scan) are not all due together.
    const due = tables.has(table) ? this.refreshEvery : 1 + (netns % this.refreshEvery);
    tables.set(table, { gate, pid, records, due: this.#scan + due });
  }

  /** Drop a namespace's tables (a scan could not settle them, e.g. ambiguous unix names). */
  forget(netns: number, table: TableName): void {
    this.#entries.get(netns)?.delete(table);
  }
}
