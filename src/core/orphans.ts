/**
 * Sockets no process holds (TIME_WAIT, FIN_WAIT2, …) carry no pid, no cgroup and so no
 * container or pod. They belong to whoever's inet sockets live in the same network namespace:
 * that is the one place that says where a closed connection came from. A namespace two owners
 * claim is ambiguous, and its orphans stay unattributed rather than guessed.
 */
import { holderPids } from "./filter.js";
import type { Socket } from "./socket.js";

export function isOrphan(s: Socket): boolean {
  return holderPids(s).length === 0;
}

/**
 * For each owner (a pod, a --pid/--container scope, …) the orphan sockets of the namespaces it
 * alone claims. Only inet sockets claim a namespace: a unix socketpair inherited from a parent
 * (stdio of a process a runtime started) belongs to the parent's namespace. Owners for which
 * `claims` is false (hostNetwork pods: the node's namespace is no pod's) claim nothing.
 */
export function attributeOrphans<K>(
  sockets: readonly Socket[],
  owners: ReadonlyMap<K, readonly Socket[]>,
  claims: (owner: K) => boolean = () => true,
  /** Namespaces known to be an owner's by other evidence (its processes live there). */
  known: ReadonlyMap<number, K> = new Map(),
): Map<K, Socket[]> {
  const ownerOfNetns = new Map<number, { owner: K } | "ambiguous">();
  for (const [netns, owner] of known) if (claims(owner)) ownerOfNetns.set(netns, { owner });
  for (const [owner, owned] of owners) {
    if (!claims(owner)) continue;
    for (const s of owned) {
      if (s.protocol === "unix") continue;
      const prev = ownerOfNetns.get(s.netns);
      if (known.has(s.netns)) continue; // its processes already say whose it is
      if (prev === undefined) ownerOfNetns.set(s.netns, { owner });
      else if (prev !== "ambiguous" && prev.owner !== owner) ownerOfNetns.set(s.netns, "ambiguous");
    }
  }
  const out = new Map<K, Socket[]>();
  for (const s of sockets) {
    if (!isOrphan(s)) continue;
    const claim = ownerOfNetns.get(s.netns);
    if (claim === undefined || claim === "ambiguous") continue;
    const list = out.get(claim.owner);
    if (list) list.push(s);
    else out.set(claim.owner, [s]);
  }
  return out;
}
