/**
 * Which socket tables of a namespace are worth reading, decided from its sockstat counters.
 *
 * Reading /proc/<pid>/net/tcp6 costs a walk of the TCP hash table even when the namespace
 * has no IPv6 socket at all, and that table is shared by every namespace on the host. The
 * kernel keeps per-namespace counts in /proc/<pid>/net/sockstat{,6}: `inuse` counts the
 * hashed sockets of one protocol and family (listeners and every connected state), `tw` the
 * TIME_WAIT sockets of both TCP families. A table whose counts are all zero is empty, so we
 * skip it. Anything we cannot read or parse means "read the table".
 */
import type { InetTable } from "./procnet.js";

export type SockstatCounters = Record<string, Record<string, number>>;

/** Parse sockstat/sockstat6 text ("TCP: inuse 5 orphan 0 tw 11 …"); never throws. */
export function parseSockstat(text: string): SockstatCounters {
  const out: SockstatCounters = {};
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const words = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    const group: Record<string, number> = {};
    for (let i = 0; i + 1 < words.length; i += 2) {
      const v = Number(words[i + 1]);
      if (Number.isFinite(v) && words[i] !== "__proto__") group[words[i] as string] = v;
    }
    // "__proto__" as a key would replace the object's prototype instead of adding a group.
    const name = line.slice(0, colon);
    if (name !== "__proto__") out[name] = group;
  }
  return out;
}

/** Is this table possibly non-empty? `undefined` counters (unreadable) say yes. */
export function tableMayHaveSockets(table: InetTable, counters: SockstatCounters | undefined): boolean {
  if (!counters) return true;
  const count = (group: string, name: string): number | undefined => counters[group]?.[name];
  const any = (...values: (number | undefined)[]) => values.some((v) => v === undefined || v > 0);
  switch (table) {
    case "tcp":
      return any(count("TCP", "inuse"), count("TCP", "tw"));
    case "tcp6":
      return any(count("TCP6", "inuse"), count("TCP", "tw"));
    case "udp":
      return any(count("UDP", "inuse"));
    case "udp6":
      return any(count("UDP6", "inuse"));
    case "raw":
      return any(count("RAW", "inuse"));
    case "raw6":
      return any(count("RAW6", "inuse"));
  }
}

/**
 * The counters that say a namespace's table may have changed since it was last read, as one
 * string to compare; `undefined` when a counter it needs is missing (then read the table).
 *
 * Only per-namespace counters gate. `orphan`, `alloc` and `mem` in sockstat's TCP line (and
 * UDP's `mem`) are host-wide — an empty namespace shows the host's figures and they move with
 * any traffic anywhere — so they would re-read every table every scan. What each table keys on:
 *  - tcp, tcp6: hashed sockets per family (`inuse`: listeners and every state but
 *    TIME_WAIT), TIME_WAIT sockets (`tw`), and from net/snmp's `Tcp:` line the connections
 *    opened either way (`ActiveOpens`, `PassiveOpens` — monotonic, so a connection opened
 *    while another closed still shows), failed and reset ones (`AttemptFails`,
 *    `EstabResets`) and `CurrEstab` (moves when a socket leaves ESTABLISHED or CLOSE_WAIT:
 *    an active close). A peer's FIN (ESTABLISHED → CLOSE_WAIT) moves none of these: that is
 *    what the forced re-read every few scans is for (src/procfs/table-cache.ts).
 *  - udp, udp6: bound UDP sockets per family (`inuse`).
 *  - raw, raw6: raw sockets per family.
 *  - unix: every socket of the namespace (`sockets: used`).
 */
export function tableGate(
  table: InetTable | "unix",
  sockstat: SockstatCounters | undefined,
  snmp: Record<string, Record<string, number>> | undefined,
): string | undefined {
  const get = (c: Record<string, Record<string, number>> | undefined, group: string, name: string) => {
    const g = c && Object.hasOwn(c, group) ? c[group] : undefined;
    const v = g && Object.hasOwn(g, name) ? g[name] : undefined;
    return typeof v === "number" ? v : undefined;
  };
  const key = (...values: (number | undefined)[]) =>
    values.some((v) => v === undefined) ? undefined : values.join(",");
  // Without IPv6 the kernel has no sockstat6: no IPv6 socket can change either.
  const v6 = (group: string) =>
    sockstat && !Object.hasOwn(sockstat, group) ? 0 : get(sockstat, group, "inuse");
  switch (table) {
    case "tcp":
    case "tcp6":
      return key(
        get(sockstat, "TCP", "inuse"),
        v6("TCP6"),
        get(sockstat, "TCP", "tw"),
        get(snmp, "Tcp", "ActiveOpens"),
        get(snmp, "Tcp", "PassiveOpens"),
        get(snmp, "Tcp", "AttemptFails"),
        get(snmp, "Tcp", "EstabResets"),
        get(snmp, "Tcp", "CurrEstab"),
      );
    case "udp":
    case "udp6":
      return key(get(sockstat, "UDP", "inuse"), v6("UDP6"));
    case "raw":
    case "raw6":
      return key(get(sockstat, "RAW", "inuse"), v6("RAW6"));
    case "unix":
      return key(get(sockstat, "sockets", "used"));
  }
}
