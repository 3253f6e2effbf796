/**
 * Leader election on a coordination.k8s.io Lease, as client-go's leaderelection does it:
 *
 * - A candidate judges another holder's Lease by when *it* observed the Lease change
 *   (holder, renewTime or resourceVersion), on its own clock — never by comparing the
 *   holder's renewTime with its clock. Two hosts with skewed clocks cannot both believe the
 *   Lease is theirs.
 * - The leader tries to renew every `retryMs`; if it has not renewed for `renewDeadlineMs`
 *   (shorter than the lease duration) it gives leadership up (`onStop`; the caller exits)
 *   before anyone else may take the Lease. A leader that was paused (a frozen process, a
 *   partition) finds the deadline passed on its first tick and steps down without acting.
 * - Writes carry the Lease's resourceVersion, so two candidates can never both win a race.
 * - stop() waits for an update in flight and releases the Lease if held.
 */
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from "@kubernetes/client-node";

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  /** How long a Lease nobody renews stays someone's (client-go: 15 s). */
  leaseDurationMs?: number;
  /** How long the leader keeps leading without a successful renew (client-go: 10 s); < leaseDurationMs. */
  renewDeadlineMs?: number;
  /** How often to try to acquire or renew (client-go: 2 s). */
  retryMs?: number;
  onStart: () => void;
  onStop: () => void;
  log?: (message: string, fields?: Record<string, unknown>) => void;
  /** Our clock (tests skew it). */
  now?: () => number;
}

export class LeaderElector {
  readonly #api: CoordinationV1Api;
  readonly #o: Required<Omit<LeaderOptions, "log">> & Pick<LeaderOptions, "log">;
  #leading = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  /** Our last successful acquire or renew, on our clock. */
  #lastRenew = 0;
  /** What we last saw of the Lease, and when (our clock) we saw it change. */
  #observed: { record: string; at: number } | undefined;

  constructor(kc: KubeConfig, options: LeaderOptions) {
    this.#api = kc.makeApiClient(CoordinationV1Api);
    const o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryMs: 2_000, now: Date.now, ...options };
    if (o.renewDeadlineMs >= o.leaseDurationMs)
      throw new Error(
        `leader election: the renew deadline (${o.renewDeadlineMs} ms) must be shorter than the lease duration (${o.leaseDurationMs} ms)`,
      );
    this.#o = o;
  }

  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#inFlight = this.#tick().finally(() => {
        this.#inFlight = undefined;
      });
    }, ms);
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const lease = `${this.#o.namespace}/${this.#o.name}`;
    if (this.#leading && this.#o.now() - this.#lastRenew > this.#o.renewDeadlineMs) {
      // Paused or partitioned past the deadline: someone else may be about to take over.
      this.#stepDown("renew deadline passed", lease);
      return;
    }
    const ok = await this.#tryAcquireOrRenew().catch((err: unknown) => {
      this.#o.log?.("lease update failed", { level: "warn", error: (err as Error).message });
      return false;
    });
    if (this.#stopped) return; // stop() ran while we were writing: it owns the Lease now
    if (ok && !this.#leading) {
      this.#leading = true;
      this.#o.log?.("became leader", { lease });
      this.#o.onStart();
    } else if (!ok && this.#leading && this.#o.now() - this.#lastRenew > this.#o.renewDeadlineMs) {
      this.#stepDown("could not renew before the deadline", lease);
      return;
    }
    this.#schedule(this.#o.retryMs);
  }

  #stepDown(why: string, lease: string): void {
    this.#leading = false;
    this.#stopped = true;
    this.#o.log?.("lost leadership", { level: "warn", lease, why });
    this.#o.onStop();
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.#o;
    const now = this.#o.now();
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.#o.leaseDurationMs / 1000),
      renewTime: new V1MicroTime(now),
    };
    let lease: V1Lease;
    try {
      lease = await this.#api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      await this.#api.createNamespacedLease({
        namespace,
        body: {
          metadata: { name, namespace },
          spec: { ...spec, acquireTime: new V1MicroTime(now), leaseTransitions: 0 },
        },
      });
      this.#lastRenew = now;
      return true;
    }
    const holder = lease.spec?.holderIdentity ?? "";
    const record = JSON.stringify([holder, lease.spec?.renewTime, lease.metadata?.resourceVersion]);
    if (this.#observed?.record !== record) this.#observed = { record, at: now };
    // Someone else holds it: theirs until we have watched it not change for a lease duration.
    if (holder && holder !== identity && this.#observed.at + this.#o.leaseDurationMs > now) return false;
    const transitions = (lease.spec?.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    await this.#api.replaceNamespacedLease({
      name,
      namespace,
      body: {
        ...lease,
        spec: {
          ...lease.spec,
          ...spec,
          leaseTransitions: transitions,
          ...(holder === identity ? {} : { acquireTime: new V1MicroTime(now) }),
        },
      },
    });
    this.#lastRenew = now;
    return true;
  }

  /** Stop, wait for an update in flight, and release the Lease if held so a successor need not wait. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#inFlight;
    // Release even if an acquire landed while we were stopping (then we never led).
    this.#leading = false;
    try {
      const lease = await this.#api.readNamespacedLease({ name: this.#o.name, namespace: this.#o.namespace });
      if (lease.spec?.holderIdentity === this.#o.identity) {
        await this.#api.replaceNamespacedLease({
          name: this.#o.name,
          namespace: this.#o.namespace,
          body: { ...lease, spec: { ...lease.spec, holderIdentity: "", renewTime: new V1MicroTime(0) } },
        });
      }
    } catch {
      // The Lease expires by itself.
    }
  }
}
