/**
 * `status.learned[].lastSeen` moves at most hourly. An agent with a live node Lease writes its
 * observation only when what it says changes, and the operator counts a peer in a live node's
 * current observation as seen now — so, left alone, every reconcile of a Learn baseline would
 * move lastSeen and write its status. Instead a status that differs from the stored one only
 * by lastSeen moving forward less than an hour is not written; the controller looks again when
 * the oldest held value turns an hour old. Any other change writes everything current.
 * Pure (ADR 0025).
 */
import type { LearnedPeer } from "../api/v1alpha1/networkbaseline.js";
import { peerKey } from "../core/baseline/peer-identity.js";
import type { BaselineStatus } from "./status.js";

export const LAST_SEEN_EVERY_MS = 60 * 60_000;

const keyOf = (p: LearnedPeer) => `${p.peer ? peerKey(p.peer) : p.address}|${p.port}|${p.protocol}`;

/**
 * `desired` with each learned peer's lastSeen put back to the stored one where it only moved
 * forward by less than `everyMs`, and the moment the earliest of those turns `everyMs` old.
 */
export function holdLastSeen(
  desired: BaselineStatus,
  previous: Partial<BaselineStatus> | undefined,
  everyMs = LAST_SEEN_EVERY_MS,
): { status: BaselineStatus; wakeAt?: number } {
  const before = previous?.learned;
  if (!desired.learned || !before) return { status: desired };
  let wakeAt: number | undefined;
  const hold = (now: LearnedPeer[], then: LearnedPeer[] | undefined): LearnedPeer[] => {
    const old = new Map((then ?? []).map((p) => [keyOf(p), p.lastSeen]));
    return now.map((p) => {
      const was = old.get(keyOf(p));
      const a = Date.parse(was ?? "");
      const b = Date.parse(p.lastSeen ?? "");
      if (was === undefined || Number.isNaN(a) || Number.isNaN(b) || b <= a || b - a >= everyMs) return p;
      wakeAt = Math.min(wakeAt ?? Number.POSITIVE_INFINITY, a + everyMs);
      return { ...p, lastSeen: was };
    });
  };
  const learned = {
    ...desired.learned,
    egress: hold(desired.learned.egress, before.egress),
    ingress: hold(desired.learned.ingress, before.ingress),
  };
  return { status: { ...desired, learned }, ...(wakeAt !== undefined ? { wakeAt } : {}) };
}
