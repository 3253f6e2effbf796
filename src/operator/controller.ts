/**
 * The NetworkBaseline controller: level-triggered, as controller-runtime's. A change queues
 * only the keys it can affect: a baseline its own key, an observation its baseline's key, a
 * pod the baselines of its namespace (a relist queues everything). Reconciling a key
 * re-reads the current state from the caches, computes the status, writes it through
 * /status only when it differs, and returns a result: `requeueAfterMs` asks for a timed
 * wake-up (the end of a learning window), a thrown error a rate-limited retry.
 * Which observations count is the nodes' business (ADR 0025): a node whose agent renews its
 * Lease (`socklens-agent-<node>` in `agentNamespace`) counts while that Lease is live and a
 * pod the baseline selects runs there; an expired Lease drops the node (a timer wakes the
 * affected baselines at expiry: expiry is the absence of an event). A node without a Lease
 * (an agent from before Leases) is judged by its observation's windowEnd: older than
 * `staleAfterMs` means it stopped reporting.
 * Workers start once every cache is listed; a spec is parsed once per generation; the watch
 * echo of our own status write is not reconciled (ADR 0028).
 */
import {
  CoordinationV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  type V1Pod,
} from "@kubernetes/client-node";
import { ConditionType, Reason } from "../api/conditions.js";
import { API_VERSION, GROUP, parseDuration, VERSION } from "../api/v1alpha1/common.js";
import { KIND as BASELINE_KIND, PLURAL as BASELINES } from "../api/v1alpha1/networkbaseline.js";
import { PLURAL as OBSERVATIONS } from "../api/v1alpha1/networkobservation.js";
import { nextExpiry } from "../core/baseline/ack.js";
import { exportLearned } from "../core/baseline/export.js";
import { selectorMatches } from "../core/baseline/selector.js";
import type { EventRecorder } from "../kube/events.js";
import { CLUSTER_KINDS, customKind, type Kind, makeApis } from "../kube/kinds.js";
import { resilientInformer, type Watched, type WatchOptions, watchDefaults } from "../kube/watcher.js";
import { holdLastSeen } from "./last-seen.js";
import { type LeaseView, NodeLiveness } from "./liveness.js";
import { ParseCache } from "./parsed.js";
import { KeyQueue, MAX_TIMER_MS } from "./queue.js";
import { slimBaseline, slimLease, slimObservation, slimPod } from "./slim.js";
import { type BaselineStatus, desiredStatus, type ObservationSummary, sameStatus } from "./status.js";

const BASELINE_API = { group: GROUP, version: VERSION, plural: BASELINES } as const;

/** What one reconcile did, and whether it wants a timed wake-up (controller-runtime's Result). */
export interface ReconcileResult {
  outcome: "gone" | "unchanged" | "written" | "promoted";
  requeueAfterMs?: number;
}

interface Baseline extends KubernetesObject {
  spec?: { podSelector?: unknown; mode?: string };
  status?: Partial<BaselineStatus>;
}
interface Observation extends KubernetesObject {
  spec?: Partial<ObservationSummary> & { baseline?: string };
}

export interface ControllerOptions extends WatchOptions {
  /** Act on learning.autoPromote (needs update on networkbaselines; off by default). */
  autoPromote?: boolean;
  /** Where Warning Events for invalid specs go (none: no Events). */
  recorder?: EventRecorder;
  /**
   * Where the agents renew their node Leases (the release namespace). Unset: no Lease is
   * read, and every observation is judged by its windowEnd (`staleAfterMs`).
   */
  agentNamespace?: string;
  /** For a node without a Lease: an observation whose windowEnd is older than this does not count (45 min). */
  staleAfterMs?: number;
  /**
   * Keys reconciled at once (default 8; controller-runtime's MaxConcurrentReconciles). A
   * reconcile mostly waits for its status PATCH, so one worker converges 1,000 baselines
   * no faster than 1,000 round trips (ADR 0023).
   */
  workers?: number;
  now?: () => Date;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export class BaselineController {
  readonly queue = new KeyQueue();
  readonly stats = { reconciled: 0, written: 0, failed: 0, promoted: 0 };
  readonly #custom: CustomObjectsApi;
  readonly #baselines: Watched;
  readonly #observations: Watched;
  readonly #pods: Watched;
  readonly #leases: Watched | undefined;
  readonly #liveness = new NodeLiveness();
  /** The one timer that wakes the controller when the next live Lease runs out. */
  #expiryTimer: NodeJS.Timeout | undefined;
  #expiryCheckedAt = Number.NEGATIVE_INFINITY;
  #stopped = false;
  readonly #parsed = new ParseCache();
  /**
   * The resourceVersion our last status write returned, per key: the watch event with that
   * version is the echo of our own write, and reconciling it again would only recompute the
   * status just written (nothing it reads changed; a change of pods or observations queues
   * the key by itself).
   */
  readonly #wrote = new Map<string, string>();
  /**
   * Keys whose status PATCH is in flight, with the resourceVersions of the baseline's watch
   * events that arrived meanwhile: the echo may come back before the PATCH response does.
   */
  readonly #writing = new Map<string, string[]>();
  readonly #o: ControllerOptions;
  #onSynced: () => void = () => undefined;
  /** Resolves when baselines, observations, pods (and the agents' Leases) have all been listed once. */
  readonly #cachesSynced = new Promise<void>((resolve) => {
    this.#onSynced = resolve;
  });

  constructor(kc: KubeConfig, options: ControllerOptions = {}) {
    this.#o = options;
    const w = watchDefaults(options);
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    const apis = makeApis(kc);
    const enqueueAll = () => {
      for (const b of this.#baselines?.list() ?? []) this.queue.add(keyOf(b));
      if (this.synced) this.#onSynced();
    };
    const enqueueNamespace = (namespace: string | undefined) => {
      if (namespace) for (const b of this.#baselines?.list(namespace) ?? []) this.queue.add(keyOf(b));
    };
    const watch = (
      kind: Kind,
      slim: (obj: KubernetesObject) => KubernetesObject,
      onChange: (obj?: KubernetesObject) => void,
    ) =>
      resilientInformer(
        kc,
        kind.name,
        kind.path,
        (page) => kind.list(apis, undefined, page),
        onChange,
        w,
        undefined,
        slim,
      );
    this.#baselines = watch(customKind(BASELINES), slimBaseline, (b) => {
      if (!b) return enqueueAll();
      const key = keyOf(b);
      const during = this.#writing.get(key);
      if (during) {
        // Decided when the PATCH returns: skipped if it is the echo, queued if anything else.
        during.push(b.metadata?.resourceVersion ?? "");
        return;
      }
      const wrote = this.#wrote.get(key);
      if (wrote !== undefined) {
        this.#wrote.delete(key);
        if (wrote === b.metadata?.resourceVersion) return; // the echo of our own status write
      }
      this.queue.add(key);
    });
    this.#observations = watch(customKind(OBSERVATIONS), slimObservation, (o) => {
      const baseline = (o as Observation | undefined)?.spec?.baseline;
      if (!o) enqueueAll();
      else if (baseline) this.queue.add(`${o.metadata?.namespace}/${baseline}`);
    });
    this.#pods = watch(CLUSTER_KINDS.pods as Kind, slimPod, (p) =>
      p ? enqueueNamespace(p.metadata?.namespace) : enqueueAll(),
    );
    const agentNs = options.agentNamespace;
    if (agentNs) {
      const coordination = kc.makeApiClient(CoordinationV1Api);
      this.#leases = resilientInformer(
        kc,
        "leases",
        `/apis/coordination.k8s.io/v1/namespaces/${agentNs}/leases`,
        (page) => coordination.listNamespacedLease({ namespace: agentNs, ...page }) as never,
        (l, verb) => this.#onLease(l, verb),
        w,
        undefined,
        slimLease,
      );
    }
  }

  get synced(): boolean {
    return (
      this.#baselines.synced &&
      this.#observations.synced &&
      this.#pods.synced &&
      (this.#leases?.synced ?? true)
    );
  }

  #now(): number {
    return (this.#o.now ?? (() => new Date()))().getTime();
  }

  /**
   * A Lease event: record it, and requeue the node's baselines when the node's state changed
   * (a Lease that appeared, came back after expiring, or was deleted). A renewal of a live
   * Lease changes nothing and queues nothing. After a (re)list every Lease is replayed and
   * every baseline queued.
   */
  #onLease(l: KubernetesObject | undefined, verb?: "add" | "update" | "delete"): void {
    const now = this.#now();
    if (!l) {
      this.#liveness.clear();
      for (const x of this.#leases?.list() ?? []) this.#liveness.observe(leaseView(x), now);
      this.#expiryCheckedAt = now; // what was already expired at the list is judged by the reconciles queued now
      for (const b of this.#baselines?.list() ?? []) this.queue.add(keyOf(b));
      // The Leases may be the last cache to list: the workers wait for every one (ADR 0028).
      if (this.synced) this.#onSynced();
    } else if (verb === "delete") {
      const node = this.#liveness.forget(leaseView(l));
      if (node !== undefined) this.#enqueueNode(node);
    } else {
      const { node, changed } = this.#liveness.observe(leaseView(l), now);
      if (node !== undefined && changed) this.#enqueueNode(node);
    }
    this.#armExpiry(now);
  }

  /** Queue every baseline that has an observation from `node`. */
  #enqueueNode(node: string): void {
    for (const o of this.#observations?.list() ?? []) {
      const spec = (o as Observation).spec;
      if (spec?.nodeName === node && spec.baseline)
        this.queue.add(`${o.metadata?.namespace}/${spec.baseline}`);
    }
  }

  /**
   * Announce the Leases that ran out since the last look (their baselines are requeued), then
   * arm the one timer for the next expiry. Runs at every Lease event too: a renewal of another
   * node must not push a pending expiry's wake-up past it.
   */
  #armExpiry(now: number): void {
    clearTimeout(this.#expiryTimer);
    if (this.#stopped) return;
    for (const node of this.#liveness.expiredBetween(this.#expiryCheckedAt, now)) {
      this.#o.log?.("node lease expired: its observations no longer count", { level: "warn", node });
      this.#enqueueNode(node);
    }
    this.#expiryCheckedAt = now;
    const next = this.#liveness.nextExpiry(now);
    if (next === undefined) return;
    // Just past the expiry: the reconcile it causes must already see the Lease as expired.
    this.#expiryTimer = setTimeout(
      () => this.#armExpiry(this.#now()),
      Math.min(next - now + 100, MAX_TIMER_MS),
    );
  }

  /**
   * Whether one observation counts for a baseline now: by its node's Lease when the node has
   * one (live, and a pod the baseline selects runs there — the agent writes only on change,
   * so an observation of a node the baseline's pods left would otherwise count for ever);
   * else by its windowEnd.
   */
  #counts(o: Observation, nodesWithPods: ReadonlySet<string>, now: number, staleBefore: number): boolean {
    const node = o.spec?.nodeName ?? "";
    const state = this.#leases ? this.#liveness.state(node, now) : "none";
    if (state === "live") return nodesWithPods.has(node);
    if (state === "expired") return false;
    return Date.parse(o.spec?.windowEnd ?? "") >= staleBefore;
  }

  /** Reconcile one key: what happened, and when to look again. Throws to ask for a retry. */
  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split("/") as [string, string];
    // Per-namespace lists: the caches hold every pod and observation of the cluster, and a
    // reconcile looks only at its own namespace's.
    const b = this.#baselines.list(namespace).find((x) => x.metadata?.name === name) as Baseline | undefined;
    if (!b) {
      this.#parsed.delete(key);
      this.#wrote.delete(key);
      return { outcome: "gone" };
    }
    const now = (this.#o.now ?? (() => new Date()))();
    // Until the Leases are listed no node's liveness is known: judging now would drop every
    // leased node's observations and write that. The list's completion queues every key.
    if (this.#leases && !this.#leases.synced) return { outcome: "unchanged", requeueAfterMs: 5000 };
    // Agents without a Lease re-write unchanged observations every 15 min (heartbeat): three
    // missed heartbeats mean the node stopped reporting.
    const staleBefore = now.getTime() - (this.#o.staleAfterMs ?? 45 * 60_000);
    const podObjects = this.#pods.list(namespace) as V1Pod[];
    const nodesWithPods = new Set<string>();
    if (this.#leases) {
      const selector = (b.spec?.podSelector ?? {}) as Parameters<typeof selectorMatches>[0];
      for (const p of podObjects) {
        const node = p.spec?.nodeName;
        try {
          if (node && selectorMatches(selector, p.metadata?.labels ?? {})) nodesWithPods.add(node);
        } catch {
          break; // a selector the schema let through but that cannot match: no node has its pods
        }
      }
    }
    const observations: ObservationSummary[] = (this.#observations.list(namespace) as Observation[])
      .filter((o) => o.spec?.baseline === name && this.#counts(o, nodesWithPods, now.getTime(), staleBefore))
      .map((o) => {
        const nodeName = o.spec?.nodeName ?? "";
        // A live node's observation is its agent's current word: its peers are still seen now
        // (lastSeen is written at most hourly all the same: last-seen.ts).
        const live = this.#leases !== undefined && this.#liveness.state(nodeName, now.getTime()) === "live";
        const seenNow = (list: ObservationSummary["egress"]) =>
          live ? (list ?? []).map((p) => ({ ...p, lastSeen: now.toISOString() })) : (list ?? []);
        return {
          nodeName,
          windowEnd: o.spec?.windowEnd ?? "",
          violations: o.spec?.violations ?? {},
          listeners: o.spec?.listeners ?? [],
          egress: seenNow(o.spec?.egress),
          ingress: seenNow(o.spec?.ingress),
        };
      });
    const pods = podObjects.map((p) => ({ labels: p.metadata?.labels ?? {} }));
    const status = desiredStatus({
      raw: b,
      parsed: this.#parsed.get(b),
      pods,
      observations,
      ...(b.status ? { previous: b.status } : {}),
      autoPromoteAllowed: this.#o.autoPromote ?? false,
      now,
    });
    this.stats.reconciled++;
    const learning = status.conditions.find((c) => c.type === ConditionType.Learning);
    const spec = (b as { spec?: { learning?: { duration?: string; autoPromote?: boolean } } }).spec;
    // Promotion needs at least one agent's report: a learning window that ended before any
    // observation arrived (agents down, or slower than a short window) learned nothing, and
    // promoting that would turn every socket of the workload into a finding. It waits, and
    // promotes at the reconcile the first observation causes.
    if (
      learning?.reason === Reason.LearningComplete &&
      spec?.learning?.autoPromote &&
      this.#o.autoPromote &&
      status.learned &&
      observations.length > 0
    ) {
      return { outcome: await this.#promote(b, status.learned, namespace, name) };
    }
    const result: ReconcileResult = { outcome: "unchanged" };
    if (learning?.reason === Reason.LearningMode) {
      // RequeueAfter: wake up when learning.duration has passed, even if nothing changes.
      const left = learningLeftMs(b, now);
      if (left !== undefined && left > 0) result.requeueAfterMs = left + 1000;
    }
    // An acknowledgement that expires changes status.acknowledged (and its findings fire
    // again): wake up then, even if nothing else changes.
    const expiry = nextExpiry(
      ((b as { spec?: { exceptions?: { expires?: string }[] } }).spec?.exceptions ?? []) as never,
      now,
    );
    if (expiry !== undefined) {
      const wait = expiry - now.getTime() + 1000;
      result.requeueAfterMs = Math.min(result.requeueAfterMs ?? wait, wait);
    }
    if (sameStatus(status, b.status)) return result;
    // Only learned[].lastSeen moved, by less than an hour: not worth a write; look again then.
    const held = holdLastSeen(status, b.status);
    if (sameStatus(held.status, b.status)) {
      if (held.wakeAt !== undefined) {
        const wait = held.wakeAt - now.getTime() + 1000;
        result.requeueAfterMs = Math.min(result.requeueAfterMs ?? wait, wait);
      }
      return result;
    }
    const during: string[] = [];
    this.#writing.set(key, during);
    let version: string | undefined;
    try {
      const written = (await this.#custom.patchNamespacedCustomObjectStatus({
        ...BASELINE_API,
        namespace,
        name,
        body: [{ op: "add", path: "/status", value: status }],
      })) as KubernetesObject | undefined;
      version = written?.metadata?.resourceVersion;
    } finally {
      this.#writing.delete(key);
      // A change other than our own write (a spec edit that landed before our PATCH, which
      // carries no precondition) is reconciled again; a failed write retries anyway.
      if (during.some((rv) => rv !== version)) this.queue.add(key);
    }
    this.stats.written++;
    // No echo yet: skip it when it comes.
    if (version && !during.includes(version)) this.#wrote.set(key, version);
    // An invalid spec is also said where `kubectl describe nbl` and event tooling look:
    // when Ready turns False, and again when a new generation is still invalid.
    const ready = status.conditions.find((c) => c.type === ConditionType.Ready);
    const wasReady = b.status?.conditions?.find((c) => c.type === ConditionType.Ready);
    if (
      ready?.status === "False" &&
      (wasReady?.status !== "False" || wasReady.observedGeneration !== ready.observedGeneration)
    ) {
      await this.#o.recorder?.record({
        regarding: baselineRef(b, namespace, name),
        type: "Warning",
        reason: ready.reason,
        note: `NetworkBaseline ${namespace}/${name}: ${ready.message}`,
        key: `${b.metadata?.uid}|${ready.reason}|${ready.observedGeneration}`,
      });
    }
    await this.#recordAcknowledgements(b, namespace, name, b.status?.acknowledged, status.acknowledged);
    return { ...result, outcome: "written" };
  }

  /**
   * An acknowledgement is a spec change someone reviewed, never a silent one: say in an Event
   * when a pattern is acknowledged (or confirmed) and when one expires and fires again.
   */
  async #recordAcknowledgements(
    b: Baseline,
    namespace: string,
    name: string,
    before: BaselineStatus["acknowledged"],
    after: BaselineStatus["acknowledged"],
  ): Promise<void> {
    const was = new Map((before?.patterns ?? []).map((p) => [`${p.pattern}|${p.verdict}`, p]));
    for (const p of after?.patterns ?? []) {
      const old = was.get(`${p.pattern}|${p.verdict}`);
      const who = p.by ? ` by ${p.by}` : "";
      if (!old && p.state === "Active")
        await this.#o.recorder?.record({
          regarding: baselineRef(b, namespace, name),
          type: "Normal",
          reason: p.verdict === "Confirmed" ? "IncidentConfirmed" : "PatternAcknowledged",
          note: `NetworkBaseline ${namespace}/${name}: ${p.pattern} ${p.verdict === "Confirmed" ? "marked as a confirmed incident" : "acknowledged; its findings are suppressed"}${who}${p.expires ? ` until ${p.expires}` : ""}: ${p.reason}`,
          key: `${b.metadata?.uid}|ack|${p.pattern}|${p.verdict}|${p.expires ?? ""}`,
        });
      else if (old?.state === "Active" && p.state === "Expired")
        await this.#o.recorder?.record({
          regarding: baselineRef(b, namespace, name),
          type: "Warning",
          reason: "AcknowledgementExpired",
          note: `NetworkBaseline ${namespace}/${name}: the acknowledgement of ${p.pattern}${who} expired at ${p.expires}; its findings fire again`,
          key: `${b.metadata?.uid}|expired|${p.pattern}|${p.verdict}|${p.expires ?? ""}`,
        });
    }
  }

  /**
   * learning.autoPromote, allowed by --auto-promote: replace the spec with what was learned,
   * in mode Alert (the same spec `socklens baseline export` prints), and say so in an Event.
   */
  async #promote(
    b: Baseline,
    learned: NonNullable<BaselineStatus["learned"]>,
    namespace: string,
    name: string,
  ): Promise<"promoted"> {
    // Fitted to the schema's limits (else the server would refuse the patch with a 422 and
    // the key would retry forever); what did not fit is left out and counted in the Event.
    const { baseline: promoted, omitted } = exportLearned(b as never, learned as never);
    await this.#custom.patchNamespacedCustomObject({
      ...BASELINE_API,
      namespace,
      name,
      body: [{ op: "replace", path: "/spec", value: promoted.spec }],
    });
    this.stats.promoted++;
    await this.#o.recorder?.record({
      regarding: baselineRef(b, namespace, name),
      type: "Normal",
      reason: "Promoted",
      note: `NetworkBaseline ${namespace}/${name}: learning finished and learning.autoPromote is set: the spec now allows what was learned (${learned.listeners.length} listener(s), ${learned.egress.length} egress and ${learned.ingress.length} ingress peer(s)), in mode Alert${omitted.length ? `; ${omitted.length} learned item(s) did not fit a NetworkBaseline and were left out (\`socklens baseline export\` lists them)` : ""}`,
      key: `${b.metadata?.uid}|Promoted`,
    });
    return "promoted";
  }

  /**
   * Work the queue with `workers` loops until the signal aborts. As controller-runtime
   * (WaitForCacheSync), the workers start once every cache has been listed: a reconcile
   * before the pods and observations arrived would write a status that says no pods match
   * and no agent reported, and write the real one moments later — on a restart, every
   * baseline's status twice, and a wrong one in between.
   */
  async run(signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      signal.addEventListener("abort", () => resolve(), { once: true });
      void this.#cachesSynced.then(resolve);
    });
    if (signal.aborted) return;
    const n = Math.max(1, Math.floor(this.#o.workers ?? 8));
    await Promise.all(Array.from({ length: n }, () => this.#work(signal)));
  }

  async #work(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.queue.next(signal);
      if (key === undefined) break;
      try {
        const { requeueAfterMs } = await this.reconcile(key);
        this.queue.forget(key);
        if (requeueAfterMs !== undefined) this.queue.addAfter(key, requeueAfterMs);
      } catch (err) {
        this.stats.failed++;
        const delay = this.queue.retry(key);
        this.#o.log?.("reconcile failed, retrying", {
          level: "warn",
          key,
          retryInMs: delay,
          error: (err as Error).message,
        });
      } finally {
        this.queue.done(key);
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#expiryTimer);
    this.queue.shutdown();
    await Promise.all([
      this.#baselines.stop(),
      this.#observations.stop(),
      this.#pods.stop(),
      this.#leases?.stop(),
    ]);
  }
}

/** How long a Learn-mode baseline still has to learn; undefined without a duration. */
function learningLeftMs(b: Baseline, now: Date): number | undefined {
  const d = parseDuration(
    (b as { spec?: { learning?: { duration?: string } } }).spec?.learning?.duration ?? "",
  );
  const since = Date.parse(b.metadata?.creationTimestamp ? String(b.metadata.creationTimestamp) : "");
  if (d === null || Number.isNaN(since)) return undefined;
  return since + d - now.getTime();
}

/** The object an Event is about: this baseline. */
function baselineRef(b: Baseline, namespace: string, name: string) {
  return {
    apiVersion: API_VERSION,
    kind: BASELINE_KIND,
    namespace,
    name,
    ...(b.metadata?.uid ? { uid: b.metadata.uid } : {}),
  };
}

function leaseView(l: KubernetesObject): LeaseView {
  const spec = (l as { spec?: Omit<LeaseView, "name"> }).spec;
  return {
    name: l.metadata?.name ?? "",
    holderIdentity: spec?.holderIdentity,
    renewTime: spec?.renewTime,
    leaseDurationSeconds: spec?.leaseDurationSeconds,
  };
}

function keyOf(o: KubernetesObject): string {
  return `${o.metadata?.namespace}/${o.metadata?.name}`;
}
