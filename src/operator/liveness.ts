/**
 * Which nodes' agents are alive, judged by their node Leases (`socklens-agent-<node>`, renewed
 * every 5 minutes: src/kube/node-lease.ts), and so which nodes' NetworkObservations count.
 * Pure: the controller feeds it the Leases its informer sees and asks with its own clock.
 *
 * Like client-go's leader election and the node lifecycle controller, a Lease is judged by
 * when *we* saw it change, on our clock: a renewal we observe keeps the node alive for
 * leaseDurationSeconds from that moment, whatever the agent's clock wrote into renewTime.
 * Only a Lease we have never seen change (first sight, e.g. after an operator restart) is
 * judged by its renewTime, and then never later than one duration from our first sight: a
 * node that died days ago is not counted again after a restart, and an agent whose clock
 * runs ahead cannot keep itself alive longer than one duration (one whose clock runs behind
 * by more than a duration looks dead until its next renewal is seen). ADR 0025.
 */
import { NODE_LEASE_PREFIX } from "../core/lease-name.js";

/** What the operator's Lease cache keeps of a Lease (slim.ts: slimLease). */
export interface LeaseView {
  name: string;
  holderIdentity?: string | undefined;
  /** RFC 3339 (MicroTime). */
  renewTime?: string | undefined;
  leaseDurationSeconds?: number | undefined;
}

export type NodeState = "live" | "expired" | "none";

/** The node a Lease speaks for: its holder, when the name is `socklens-agent-<holder>`. */
export function nodeOfLease(lease: Pick<LeaseView, "name" | "holderIdentity">): string | undefined {
  const holder = lease.holderIdentity;
  if (!lease.name.startsWith(NODE_LEASE_PREFIX)) return undefined;
  const node = lease.name.slice(NODE_LEASE_PREFIX.length);
  // A released Lease (no holder) still names its node: that node is then expired, not unknown.
  return node !== "" && (holder === undefined || holder === "" || holder === node) ? node : undefined;
}

interface Seen {
  /** holder, renewTime and duration as last seen: a change of any is a renewal. */
  record: string;
  expiresAt: number;
}

export class NodeLiveness {
  readonly #seen = new Map<string, Seen>();

  /**
   * Record a Lease as listed or watched at `now`. Returns its node (undefined: not a node
   * Lease) and whether what the node's state is at `now` changed by it.
   */
  observe(lease: LeaseView, now: number): { node?: string; changed: boolean } {
    const node = nodeOfLease(lease);
    if (node === undefined) return { changed: false };
    const before = this.state(node, now);
    const record = JSON.stringify([
      lease.holderIdentity ?? "",
      lease.renewTime ?? "",
      lease.leaseDurationSeconds,
    ]);
    const had = this.#seen.get(node);
    if (had?.record === record) return { node, changed: false };
    const durationMs = (lease.leaseDurationSeconds ?? 0) * 1000;
    const renewed = Date.parse(lease.renewTime ?? "");
    let expiresAt: number;
    if (!lease.holderIdentity || !(durationMs > 0) || Number.isNaN(renewed))
      expiresAt = Number.NEGATIVE_INFINITY; // released, or not a Lease anyone renews
    else if (had)
      expiresAt = now + durationMs; // a renewal we saw happen
    else expiresAt = Math.min(renewed, now) + durationMs; // first sight: its word, capped
    this.#seen.set(node, { record, expiresAt });
    return { node, changed: this.state(node, now) !== before };
  }

  /** The node's Lease was deleted: its observations fall back to the windowEnd rule. */
  forget(lease: Pick<LeaseView, "name" | "holderIdentity">): string | undefined {
    const node = nodeOfLease(lease);
    if (node !== undefined) this.#seen.delete(node);
    return node;
  }

  /** Forget everything (before a relist replays every Lease). */
  clear(): void {
    this.#seen.clear();
  }

  /**
   * `live`: the node's observations count as they are; `expired`: they do not count;
   * `none`: no Lease (an agent from before Leases) — judge its observations by windowEnd.
   */
  state(node: string, now: number): NodeState {
    const s = this.#seen.get(node);
    return !s ? "none" : now < s.expiresAt ? "live" : "expired";
  }

  /** When a live node's Lease runs out, on our clock (undefined: not live). */
  expiresAt(node: string, now: number): number | undefined {
    const s = this.#seen.get(node);
    return s && now < s.expiresAt ? s.expiresAt : undefined;
  }

  /** The earliest moment a live Lease runs out: when the controller must look again. */
  nextExpiry(now: number): number | undefined {
    let next: number | undefined;
    for (const s of this.#seen.values())
      if (s.expiresAt > now && (next === undefined || s.expiresAt < next)) next = s.expiresAt;
    return next;
  }

  /** Nodes whose Lease ran out in (since, now]: their baselines need a reconcile. */
  expiredBetween(since: number, now: number): string[] {
    return [...this.#seen].filter(([, s]) => s.expiresAt > since && s.expiresAt <= now).map(([n]) => n);
  }
}
