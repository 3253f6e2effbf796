/**
 * Leader election on a coordination.k8s.io Lease, as client-go's leaderelection: acquire the
 * Lease when it is free or expired, renew it every `renewMs`, and give leadership up (call
 * `onStop`, the caller exits) when it cannot be renewed before it would expire. Writes use
 * the Lease's resourceVersion, so two candidates can never both win.
 */
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from "@kubernetes/client-node";

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewMs?: number;
  retryMs?: number;
  onStart: () => void;
  onStop: () => void;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export class LeaderElector {
  readonly #api: CoordinationV1Api;
  readonly #o: Required<Omit<LeaderOptions, "log">> & Pick<LeaderOptions, "log">;
  #leading = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(kc: KubeConfig, options: LeaderOptions) {
    this.#api = kc.makeApiClient(CoordinationV1Api);
    this.#o = { leaseDurationMs: 15_000, renewMs: 5_000, retryMs: 2_000, ...options };
  }

  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    void this.#tick();
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const ok = await this.#tryAcquireOrRenew().catch((err: unknown) => {
      this.#o.log?.("lease update failed", { error: (err as Error).message });
      return false;
    });
    if (ok && !this.#leading) {
      this.#leading = true;
      this.#o.log?.("became leader", { lease: `${this.#o.namespace}/${this.#o.name}` });
      this.#o.onStart();
    } else if (!ok && this.#leading && Date.now() - this.#lastRenew > this.#o.leaseDurationMs) {
      this.#leading = false;
      this.#o.log?.("lost leadership", { lease: `${this.#o.namespace}/${this.#o.name}` });
      this.#o.onStop();
    }
    if (!this.#stopped)
      this.#timer = setTimeout(() => void this.#tick(), this.#leading ? this.#o.renewMs : this.#o.retryMs);
  }

  #lastRenew = 0;

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.#o;
    const now = new Date();
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.#o.leaseDurationMs / 1000),
      renewTime: new V1MicroTime(now.getTime()),
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
          spec: { ...spec, acquireTime: new V1MicroTime(now.getTime()), leaseTransitions: 0 },
        },
      });
      this.#lastRenew = now.getTime();
      return true;
    }
    const holder = lease.spec?.holderIdentity;
    const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
    const expired = renewed + (lease.spec?.leaseDurationSeconds ?? 0) * 1000 < now.getTime();
    if (holder && holder !== identity && !expired) return false;
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
          ...(holder === identity ? {} : { acquireTime: new V1MicroTime(now.getTime()) }),
        },
      },
    });
    this.#lastRenew = now.getTime();
    return true;
  }

  /** Stop, and release the Lease if held so a successor need not wait for it to expire. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (!this.#leading) return;
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
