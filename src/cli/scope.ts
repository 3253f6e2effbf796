/** Scope selection for `check` and `learn`: which sockets a baseline is about. */
import { matchesFilter, type SocketFilter } from "../core/filter.js";
import { attributeOrphans } from "../core/orphans.js";
import type { Socket } from "../core/socket.js";
import { readNamespaceNames } from "../procfs/collect.js";
import { hostNetnsInode } from "../procfs/netns.js";
import type { ProcPaths } from "../procfs/paths.js";
import type { FilterFlags } from "./options.js";
import { parseFilter } from "./options.js";

export const SCOPE_OPTIONS = {
  netns: { type: "string", multiple: true },
  pid: { type: "string", multiple: true },
  container: { type: "string" },
  "pod-uid": { type: "string" },
} as const;

export const SCOPE_HELP = `Scope (default: the host's network namespace):
      --netns NS[,…]     namespace inode, or a name under /run/netns
      --pid PID[,…]      sockets of these processes
      --container ID     sockets of this container (id or prefix)
      --pod-uid UID      sockets of this Kubernetes pod
`;

/**
 * How findings name a network namespace: by its `ip netns` name when it has one (matched by
 * inode against the bind mounts under /run/netns, so a namespace reached through a pid gets
 * its name too): `netns 4026532318 (app)`, as docs/output.md has always shown it, else
 * `netns 4026532318`. The inode stays first: it is what the finding record's `netns` holds.
 */
export function netnsScopeName(inode: number, names: ReadonlyMap<number, string>): string {
  const name = names.get(inode);
  return name ? `netns ${inode} (${name})` : `netns ${inode}`;
}

export interface Scope {
  filter: SocketFilter;
  description: string;
  /** Select the scope's sockets from a full scan. */
  select(sockets: Socket[]): Socket[];
}

export function parseScope(
  flags: Pick<FilterFlags, "netns" | "pid" | "container" | "pod-uid">,
  paths: ProcPaths,
): Scope {
  const filter = parseFilter(flags, paths);
  const parts: string[] = [];
  if (filter.netns) {
    const names = readNamespaceNames(paths.runNetns);
    parts.push([...filter.netns].map((n) => netnsScopeName(n, names)).join(", "));
  }
  if (filter.pids) parts.push(`pid ${[...filter.pids].join(",")}`);
  if (filter.container) parts.push(`container ${filter.container.slice(0, 12)}`);
  if (filter.podUid) parts.push(`pod ${filter.podUid}`);
  const byOwner = filter.pids !== undefined || filter.container !== undefined || filter.podUid !== undefined;
  if (!byOwner && !filter.netns) {
    const ns = hostNetnsInode(paths);
    if (ns !== undefined) filter.netns = new Set([ns]);
    parts.push(`host netns ${ns ?? "?"}`);
  }
  return {
    filter,
    description: parts.join(", "),
    select(sockets) {
      if (!byOwner) return sockets.filter((s) => matchesFilter(s, filter));
      // Sockets no process holds (TIME_WAIT) still belong to the owner's namespace.
      const owned = sockets.filter((s) => matchesFilter(s, filter));
      const orphans = (attributeOrphans(sockets, new Map([["owner", owned]])).get("owner") ?? []).filter(
        (s) => !filter.netns || filter.netns.has(s.netns),
      );
      return [...owned, ...orphans];
    },
  };
}
