/**
 * When an agent writes a NetworkObservation: when what it says changed (timestamps and
 * counts aside), else as a heartbeat once `heartbeatMs` has passed since the last write, so
 * the operator can tell a quiet node from a dead one. 500 nodes × 20 baselines writing every
 * 30 s would be ~330 writes/s forever; on change + a 15-minute heartbeat it is ~11/s.
 * The agent and the scale bench (bench/cluster-scale) both decide through this class.
 */
import type { ObservationSpec } from "../core/baseline/observation.js";

/** The agent re-writes an unchanged observation this often; the operator's staleness is 3× this. */
export const DEFAULT_HEARTBEAT_MS = 15 * 60_000;

export interface ObservationSink {
  /** Never throws; says whether the API server took it. */
  write(namespace: string, spec: ObservationSpec): Promise<boolean>;
}

/** Why a write happened (or not): the bench counts heartbeats apart from changes. */
export type PublishReason = "new" | "changed" | "heartbeat";

export class ObservationPublisher {
  /** What each observation last said and when it was written. */
  readonly #written = new Map<string, { content: string; at: number }>();

  constructor(
    private readonly sink: ObservationSink,
    private readonly heartbeatMs = DEFAULT_HEARTBEAT_MS,
  ) {}

  /**
   * Writes `spec` if it is due; undefined when it is not. A failed write is not remembered,
   * so the next window tries again.
   */
  publish(
    namespace: string,
    spec: ObservationSpec,
    nowMs: number,
  ): { reason: PublishReason; done: Promise<boolean> } | undefined {
    const key = `${namespace}/${spec.baseline}`;
    const content = observationContent(spec);
    const last = this.#written.get(key);
    const reason: PublishReason = !last ? "new" : last.content !== content ? "changed" : "heartbeat";
    if (reason === "heartbeat" && last && nowMs - last.at < this.heartbeatMs) return undefined;
    const done = this.sink.write(namespace, spec).then((ok) => {
      if (ok) this.#written.set(key, { content, at: nowMs });
      return ok;
    });
    return { reason, done };
  }
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
