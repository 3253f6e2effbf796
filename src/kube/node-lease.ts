/**
 * The agent's liveness signal: one coordination.k8s.io Lease per node,
 * `socklens-agent-<node>` in the agent's namespace, renewed every few minutes — as the
 * kubelet's node lease in kube-node-lease. The operator judges a node's NetworkObservations
 * by it (alive ⇒ they count as they are), so the agent writes an observation only when what
 * it says changed instead of re-writing every one as a heartbeat: one write per node per
 * renewal instead of one per (baseline, node) per heartbeat (ADR 0025).
 *
 * A failed renewal (an API server outage, a 403) is logged once and retried with a back-off;
 * never fatal. The Lease is not released on stop: an agent restarted by a rollout is the same
 * node still reporting, and a released Lease would drop its observations until the new pod's
 * first renewal.
 */
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import { nodeLeaseName } from "../core/lease-name.js";
import { apiErrorText } from "./errors.js";

export { NODE_LEASE_PREFIX, nodeLeaseName } from "../core/lease-name.js";

/** How often the agent renews its node's Lease. */
export const NODE_LEASE_RENEW_MS = 5 * 60_000;
/** leaseDurationSeconds: three renewals, so two lost in a row do not make a node look dead. */
export const NODE_LEASE_DURATION_S = 15 * 60;
/** First retry after a failed renewal (doubling up to the renew interval). */
export const NODE_LEASE_RETRY_MS = 15_000;
/** Labels on every node Lease (`kubectl get leases -l socklens.io/node-lease=true`). */
export const NODE_LEASE_LABELS = {
  "app.kubernetes.io/managed-by": "socklens-agent",
  "socklens.io/node-lease": "true",
} as const;

export interface NodeLeaseOptions {
  namespace: string;
  nodeName: string;
  renewMs?: number;
  durationSeconds?: number;
  retryMs?: number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
  now?: () => number;
}

export class NodeLease {
  readonly #api: CoordinationV1Api;
  readonly #o: Required<Omit<NodeLeaseOptions, "log">> & Pick<NodeLeaseOptions, "log">;
  readonly name: string;
  /** The Lease as last written: renewals replace it without reading it first. */
  #lease: V1Lease | undefined;
  #lastRenew: number | undefined;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<boolean> | undefined;
  #stopped = false;
  readonly stats = { renewed: 0, failed: 0, lastError: undefined as string | undefined };

  constructor(kc: KubeConfig, options: NodeLeaseOptions) {
    this.#api = kc.makeApiClient(CoordinationV1Api);
    this.#o = {
      renewMs: NODE_LEASE_RENEW_MS,
      durationSeconds: NODE_LEASE_DURATION_S,
      retryMs: NODE_LEASE_RETRY_MS,
      now: Date.now,
      ...options,
    };
    if (this.#o.renewMs >= this.#o.durationSeconds * 1000)
      throw new Error(
        `node lease: the renew interval (${this.#o.renewMs} ms) must be shorter than the lease duration (${this.#o.durationSeconds} s)`,
      );
    this.name = nodeLeaseName(options.nodeName);
  }

  get durationMs(): number {
    return this.#o.durationSeconds * 1000;
  }

  /**
   * Whether the Lease carries this node's liveness now: renewed within its duration. While it
   * does not (renewals failing), the agent falls back to per-observation heartbeats.
   */
  healthy(nowMs = this.#o.now()): boolean {
    return this.#lastRenew !== undefined && nowMs - this.#lastRenew < this.durationMs;
  }

  /** Renew now (or after `firstInMs`), then every renew interval (sooner after a failure) until stop(). */
  start(firstInMs = 0): void {
    this.#schedule(firstInMs);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#inFlight = this.renew().finally(() => {
        this.#inFlight = undefined;
      });
      void this.#inFlight.then((ok) => {
        const retry = Math.min(this.#o.renewMs, this.#o.retryMs * 2 ** Math.max(0, this.#failures - 1));
        this.#schedule(ok ? this.#o.renewMs : retry);
      });
    }, ms);
  }

  /** One renewal (creating the Lease if it is missing). Never throws; says whether it took. */
  async renew(): Promise<boolean> {
    const now = this.#o.now();
    const { namespace, nodeName, durationSeconds } = this.#o;
    try {
      this.#lease = await this.#write(now);
    } catch (err) {
      this.#lease = undefined; // read it again next time (a conflict, or deleted under us)
      this.stats.failed++;
      this.stats.lastError = apiErrorText(err);
      if (this.#failures++ === 0)
        this.#o.log?.("node lease not renewed, retrying", {
          level: "warn",
          lease: `${namespace}/${this.name}`,
          error: this.stats.lastError,
        });
      return false;
    }
    if (this.#failures > 0)
      this.#o.log?.("node lease renewed again", {
        lease: `${namespace}/${this.name}`,
        failures: this.#failures,
      });
    else if (this.stats.renewed === 0)
      this.#o.log?.("node lease renewed", {
        lease: `${namespace}/${this.name}`,
        holder: nodeName,
        durationSeconds,
        everySeconds: Math.round(this.#o.renewMs / 1000),
      });
    this.#failures = 0;
    this.#lastRenew = now;
    this.stats.renewed++;
    return true;
  }

  async #write(now: number): Promise<V1Lease> {
    const { namespace, nodeName, durationSeconds } = this.#o;
    const spec = {
      holderIdentity: nodeName,
      leaseDurationSeconds: durationSeconds,
      renewTime: new V1MicroTime(now),
    };
    let lease = this.#lease;
    if (!lease) {
      try {
        lease = await this.#api.readNamespacedLease({ name: this.name, namespace });
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
        return this.#api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name: this.name, namespace, labels: { ...NODE_LEASE_LABELS } },
            spec: { ...spec, acquireTime: new V1MicroTime(now) },
          },
        });
      }
    }
    // With the resourceVersion we last saw: a conflict (someone else wrote it) fails this
    // renewal, and the next one reads it afresh.
    return this.#api.replaceNamespacedLease({
      name: this.name,
      namespace,
      body: {
        ...lease,
        metadata: { ...lease.metadata, labels: { ...lease.metadata?.labels, ...NODE_LEASE_LABELS } },
        spec: { ...lease.spec, ...spec },
      },
    });
  }

  /** Stop renewing (waits for a renewal in flight). The Lease is left to expire, not released. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#inFlight;
  }
}
