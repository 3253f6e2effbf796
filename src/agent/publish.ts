/**
 * When an agent writes a NetworkObservation: when what it says changed (timestamps and
 * counts aside), else as a heartbeat once `heartbeatMs` has passed since the last write, so
 * the operator can tell a quiet node from a dead one. 500 nodes × 20 baselines writing every
 * 30 s would be ~330 writes/s forever; on change + a 15-minute heartbeat it is ~11/s.
 * While the node's Lease says the agent is alive (src/kube/node-lease.ts) the heartbeat is
 * off (`heartbeatMs` returns Infinity): observations are written on change only (ADR 0025).
 * The agent and the scale bench (bench/cluster-scale) both decide through this class.
 */
import type { ObservationSpec } from "../core/baseline/observation.js";

/**
 * Without a node Lease the agent re-writes an unchanged observation this often; the
 * operator's fallback staleness for a node without a Lease is 3× this.
 */
export const DEFAULT_HEARTBEAT_MS = 15 * 60_000;

/** The baseline that owns an observation (garbage-collected with it). */
export interface ObservationOwner {
  name: string;
  uid: string;
}

export interface ObservationSink {
  /** Never throws; says whether the API server took it. */
  write(namespace: string, spec: ObservationSpec, owner?: ObservationOwner): Promise<boolean>;
}

/** Why a write happened (or not): the bench counts heartbeats apart from changes. */
export type PublishReason = "new" | "changed" | "heartbeat";

export class ObservationPublisher {
  /** What each observation last said and when it was written. */
  readonly #written = new Map<string, { content: string; at: number }>();

  constructor(
    private readonly sink: ObservationSink,
    /** A number, or asked at each publish (Infinity: no heartbeat while the node Lease is live). */
    private readonly heartbeatMs: number | (() => number) = DEFAULT_HEARTBEAT_MS,
  ) {}

  /**
   * Writes `spec` if it is due; undefined when it is not. A failed write is not remembered,
   * so the next window tries again.
   */
  publish(
    namespace: string,
    spec: ObservationSpec,
    nowMs: number,
    owner?: ObservationOwner,
  ): { reason: PublishReason; done: Promise<boolean> } | undefined {
    // The owner's uid is part of the key: a baseline created again under the same name is a
    // new owner, and its observation (garbage-collected with the old one) is written at once.
    const key = publishKey(namespace, spec.baseline, owner?.uid);
    const content = observationContent(spec);
    const last = this.#written.get(key);
    const reason: PublishReason = !last ? "new" : last.content !== content ? "changed" : "heartbeat";
    if (reason === "heartbeat" && last) {
      const every = typeof this.heartbeatMs === "function" ? this.heartbeatMs() : this.heartbeatMs;
      if (nowMs - last.at < every) return undefined;
    }
    const done = this.sink.write(namespace, spec, owner).then((ok) => {
      if (ok) this.#written.set(key, { content, at: nowMs });
      return ok;
    });
    return { reason, done };
  }

  /**
   * Forget baselines that are gone (or were replaced under their name): the map stays the
   * size of the cluster's baselines, not of every baseline the agent ever saw.
   */
  retain(live: readonly { namespace: string; name: string; uid?: string | undefined }[]): void {
    const keep = new Set(live.map((b) => publishKey(b.namespace, b.name, b.uid)));
    for (const key of this.#written.keys()) if (!keep.has(key)) this.#written.delete(key);
  }
}

function publishKey(namespace: string, baseline: string, uid: string | undefined): string {
  return `${namespace}/${baseline}/${uid ?? ""}`;
}

/**
 * What an observation says, for change detection: pods, listeners, peers (identity, port,
 * protocol), findings by rule, truncation — not its window, per-peer times or socket counts,
 * which move every scan and which the operator does not aggregate.
 */
export function observationContent(spec: ObservationSpec): string {
  const peers = (list: ObservationSpec["egress"]) =>
    list.map((p) => [p.peer ? JSON.stringify(p.peer) : p.address, p.port, p.protocol]).sort();
  return JSON.stringify([
    spec.pods,
    spec.listeners,
    peers(spec.egress),
    peers(spec.ingress),
    Object.entries(spec.violations).sort(),
    spec.truncated ?? false,
  ]);
}
