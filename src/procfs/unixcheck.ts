/**
 * The collector's half of reading /proc/net/unix honestly (docs/adr/0006): the parser keeps
 * records a socket name could have forged as candidates; here they are judged against what
 * the rest of the scan saw, and only the ones nothing decides stay marked ambiguous.
 */
import type { KernelSocket } from "../core/procnet.js";
import {
  CONFIRMING_TABLES,
  listedInodes,
  settleUnixCandidates,
  type UnixCandidate,
} from "../core/unixtable.js";

export interface NamespaceTables {
  netns: number;
  sockets: KernelSocket[];
  unixCandidates: UnixCandidate[];
  /** Tables this scan read for the namespace. */
  read: ReadonlySet<string>;
  /** Reads another file of the namespace's net/ directory; null when it cannot. */
  readFile: (name: string) => Promise<string | null>;
}

/**
 * Settle every namespace's candidates; drops the records that turn out to be the rest of a
 * name and returns how many records stay ambiguous.
 */
export async function settleUnixNames(
  namespaces: NamespaceTables[],
  holders: ReadonlyMap<number, unknown>,
): Promise<number> {
  if (namespaces.every((n) => n.unixCandidates.length === 0)) return 0;
  // Inodes the kernel listed for sure: every record of every table but the candidates.
  const candidates = new Set(namespaces.flatMap((n) => n.unixCandidates.map((c) => c.record)));
  // Only the candidates' inodes are ever asked about: keep just those (not 40k others a scan).
  const asked = new Set([...candidates].map((c) => c.inode));
  const listed = new Set<number>();
  for (const n of namespaces)
    for (const s of n.sockets) if (asked.has(s.inode) && !candidates.has(s)) listed.add(s.inode);
  let ambiguous = 0;
  for (const n of namespaces) {
    if (n.unixCandidates.length === 0) continue;
    // A held inode that no table here lists may still be one of the namespace's other
    // sockets: read the tables this scan skipped, and those it never reads.
    if (n.unixCandidates.some((c) => holders.has(c.record.inode) && !listed.has(c.record.inode))) {
      for (const [table, column] of Object.entries(CONFIRMING_TABLES)) {
        if (n.read.has(table)) continue;
        const text = await n.readFile(table);
        if (text !== null) for (const inode of listedInodes(text, column)) listed.add(inode);
      }
    }
    const drop = settleUnixCandidates(n.unixCandidates, {
      held: (inode) => holders.has(inode),
      listedElsewhere: (inode) => listed.has(inode),
    });
    if (drop.size > 0) {
      const kept = n.sockets.filter((s) => !drop.has(s));
      n.sockets.length = 0;
      for (const s of kept) n.sockets.push(s);
    }
    for (const s of n.sockets) if (s.ambiguous) ambiguous++;
  }
  return ambiguous;
}
