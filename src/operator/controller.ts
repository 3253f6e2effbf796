/**
 * The NetworkBaseline controller: level-triggered, as controller-runtime's. A change queues
 * only the keys it can affect: a baseline its own key, an observation its baseline's key, a
 * pod the baselines of its namespace (a relist queues everything). Reconciling a key
 * re-reads the current state from the caches, computes the status, writes it through
 * /status only when it differs, and returns a result: `requeueAfterMs` asks for a timed
 * wake-up (the end of a learning window), a thrown error a rate-limited retry.
 * Observations older than `staleAfterMs` are from nodes that stopped reporting and are ignored.
 * Workers start once every cache is listed; a spec is parsed once per generation; the watch
 * echo of our own status write is not reconciled (ADR 0028).
 */
import {
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
import type { EventRecorder } from "../kube/events.js";
import { CLUSTER_KINDS, customKind, type Kind, makeApis } from "../kube/kinds.js";
import { resilientInformer, type Watched, type WatchOptions, watchDefaults } from "../kube/watcher.js";
import { ParseCache } from "./parsed.js";
import { KeyQueue } from "./queue.js";
import { slimBaseline, slimObservation, slimPod } from "./slim.js";
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
  /** Resolves when baselines, observations and pods have all been listed once. */
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
    ) => resilientInformer(kc, kind.name, kind.path, () => kind.list(apis), onChange, w, undefined, slim);
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
  }

  get synced(): boolean {
    return this.#baselines.synced && this.#observations.synced && this.#pods.synced;
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
    // Agents write on change and re-write unchanged observations every 15 min (heartbeat):
    // three missed heartbeats mean the node stopped reporting.
    const staleBefore = now.getTime() - (this.#o.staleAfterMs ?? 45 * 60_000);
    const observations: ObservationSummary[] = (this.#observations.list(namespace) as Observation[])
      .filter((o) => o.spec?.baseline === name && Date.parse(o.spec?.windowEnd ?? "") >= staleBefore)
      .map((o) => ({
        nodeName: o.spec?.nodeName ?? "",
        windowEnd: o.spec?.windowEnd ?? "",
        violations: o.spec?.violations ?? {},
        listeners: o.spec?.listeners ?? [],
        egress: o.spec?.egress ?? [],
        ingress: o.spec?.ingress ?? [],
      }));
    const pods = (this.#pods.list(namespace) as V1Pod[]).map((p) => ({ labels: p.metadata?.labels ?? {} }));
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
    this.queue.shutdown();
    await Promise.all([this.#baselines.stop(), this.#observations.stop(), this.#pods.stop()]);
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

function keyOf(o: KubernetesObject): string {
  return `${o.metadata?.namespace}/${o.metadata?.name}`;
}
