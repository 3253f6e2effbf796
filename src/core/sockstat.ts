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
