/**
 * The node agent's loop: scan this node's sockets, attribute them to pods, evaluate each pod
 * against the baselines that select it, and report findings as Kubernetes Events and
 * OpenTelemetry metrics and logs. One `cycle()` is one scan; `run()` repeats it.
 */
import { findingKey } from "../core/baseline/evaluate.js";
import { findingRecord } from "../core/baseline/finding-record.js";
import { evaluateNode, type NodeEvaluation, selectsPod } from "../core/baseline/node.js";
import { buildObservation } from "../core/baseline/observation.js";
import { applyExceptions } from "../core/baseline/patterns.js";
import type { Finding } from "../core/baseline/types.js";
import { type ClusterPod, workloadOf } from "../core/cluster-index.js";
import { maskAddress, maskFinding } from "../core/mask.js";
import { type DetectorOptions, detect } from "../core/memory/detectors.js";
import type { SeasonalOptions } from "../core/memory/seasonal.js";
import { seasonalFinding, seriesValues } from "../core/memory/seasonal-finding.js";
import { SeasonalModels } from "../core/memory/seasonal-models.js";
import { Tracker } from "../core/memory/tracker.js";
import type { EventRecorder } from "../kube/events.js";
import type { ObservationWriter } from "../kube/observations.js";
import type { ClusterWatcher } from "../kube/watcher.js";
import type { Cidr } from "../net/cidr.js";
import { collectSockets } from "../procfs/collect.js";
import { FdCache } from "../procfs/fd-cache.js";
import { fileLimitsOfBusyProcesses } from "../procfs/limits.js";
import type { ProcPaths } from "../procfs/paths.js";
import { listProcesses, ProcessCache } from "../procfs/processes.js";
import { TableCache } from "../procfs/table-cache.js";
import { UserNames } from "../procfs/users.js";
import type { PodSocketCounts, Telemetry } from "../telemetry/otel.js";
import { BaselineCache } from "./baselines.js";
import { BURST_ANNOTATION, type Burst, type BurstEnd, type BurstOptions, BurstScheduler } from "./burst.js";
import { DEFAULT_HEARTBEAT_MS, ObservationPublisher } from "./publish.js";
import type { SeasonalStore } from "./seasonal-store.js";

export type AgentLog = (message: string, fields?: Record<string, unknown>) => void;

export interface AgentDeps {
  nodeName: string;
  watcher: ClusterWatcher;
  recorder?: EventRecorder;
  observations?: ObservationWriter;
  /** How often NetworkObservations are built (default 30 s; every scan when 0); written only on change. */
  observationIntervalMs?: number;
  /**
   * An unchanged observation is written again after this long, to say the node is alive
   * (default 15 min) — only while `lease` does not say so (none given, or its renewals fail).
   */
  observationHeartbeatMs?: number;
  /** The node's liveness Lease (src/kube/node-lease.ts): while healthy, observations are written on change only. */
  lease?: { healthy(nowMs?: number): boolean };
  /** Addresses marked sensitive: masked in Events, OTel and observations. */
  masks?: Cidr[];
  telemetry?: Telemetry;
  paths: ProcPaths;
  log: AgentLog;
  now?: () => Date;
  /** Walk processes each cycle for the discovery-tool detector (default true). */
  detectDiscoveryTools?: boolean;
  /**
   * Detector parameters over DEFAULT_DETECTOR_OPTIONS (docs/detectors.md), e.g. a shorter
   * CLOSE_WAIT age in tests. What is internal (this host, the cluster) and a pod's own
   * ephemeral range stay the agent's.
   */
  detectorOptions?: Partial<DetectorOptions>;
  /** Burst collection (src/agent/burst.ts): interval, durations, cooldown, cap per node. */
  burst?: Partial<BurstOptions>;
  /** Seasonal judgement of counts per baseline: model parameters and where the model is kept. */
  seasonal?: { options?: Partial<SeasonalOptions>; store?: SeasonalStore };
}

export interface CycleReport {
  skipped?: string;
  sockets: number;
  pods: number;
  baselines: number;
  findings: number;
  newFindings: number;
  suppressed: number;
  durationMs: number;
  /** A burst scan: how many pods it covered (absent for a full scan). */
  burstPods?: number;
}

export class Agent {
  readonly #baselines: BaselineCache;
  readonly #users: UserNames;
  /** The memory across cycles (src/core/memory): beacons, growth, leaks, discovery tools. */
  readonly #tracker = new Tracker();
  /** What the last scans learned from /proc that a scan need not re-read (src/procfs/fd-cache.ts). */
  readonly #fdCache = new FdCache();
  readonly #processCache = new ProcessCache();
  /**
   * Each namespace's socket tables, re-read when its counters move and at least every 4th full
   * scan (a minute at 15 s): state-only changes such as a new CLOSE_WAIT are up to that late
   * (docs/agent.md, "What a scan re-reads"; ADR 0030).
   */
  readonly #tableCache = new TableCache();
  /** Active finding keys per pod uid: a burst scan replaces only its own pods'. */
  #active = new Map<string, Set<string>>();
  /** Each pod's network namespace, from the last full scan: what a burst scan reads. */
  #netnsOfPod = new Map<string, number>();
  readonly #bursts: BurstScheduler;
  readonly #seasonal: SeasonalModels;
  #seasonalLoaded = false;
  /**
   * Bursts are the loop's (`run`): it is what scans every second. A caller driving `cycle()`
   * by hand (`agent --once`, tests) has no scheduler, so nothing starts a burst there.
   */
  #looping = false;
  /** The burst annotations as the last bookkeeping saw them: a change wakes the loop early. */
  #burstAnnotationsSeen = "";
  #seasonalSaved = 0;
  #windowStart: Date | undefined;
  /** Writes each observation on change (plus a heartbeat while no node Lease is live; shared with bench/cluster-scale). */
  readonly #publisher: ObservationPublisher | undefined;

  constructor(private readonly d: AgentDeps) {
    this.#baselines = new BaselineCache((m, f) => d.log(m, f));
    this.#users = new UserNames(d.paths.passwd);
    this.#bursts = new BurstScheduler(d.burst);
    this.#seasonal = new SeasonalModels(d.seasonal?.options);
    if (d.observations)
      this.#publisher = new ObservationPublisher(d.observations, () =>
        d.lease?.healthy() ? Number.POSITIVE_INFINITY : (d.observationHeartbeatMs ?? DEFAULT_HEARTBEAT_MS),
      );
  }

  /** Bursts running now (for tests and the log). */
  bursts(): Burst[] {
    return this.#bursts.active();
  }

  /** One full scan of the node. */
  cycle(): Promise<CycleReport> {
    return this.#cycle(undefined);
  }

  /**
   * One burst scan: only the network namespaces of pods under a pod burst (a node-wide burst
   * makes it a full scan). Feeds the tracker and raises findings for those pods; observations,
   * socket-count metrics and the seasonal model stay with full scans, whose cadence they assume.
   */
  burstCycle(): Promise<CycleReport> {
    return this.#cycle(this.#bursts.nodeWide ? undefined : this.#bursts.podUids(), true);
  }

  async #cycle(only: ReadonlySet<string> | undefined, burst = false): Promise<CycleReport> {
    const started = performance.now();
    const now = (this.d.now ?? (() => new Date()))();
    const empty = { sockets: 0, pods: 0, baselines: 0, findings: 0, newFindings: 0, suppressed: 0 };
    if (!this.d.watcher.synced) {
      return {
        ...empty,
        skipped: "waiting for the first list of pods and baselines",
        durationMs: performance.now() - started,
      };
    }
    if (!this.#seasonalLoaded && this.d.seasonal?.store) await this.#loadSeasonal(now.getTime());
    const baselines = this.#baselines.update(this.d.watcher.baselines());
    const burstNetns = only
      ? new Set([...only].flatMap((uid) => this.#netnsOfPod.get(uid) ?? []))
      : undefined;
    // The caches are kept by full scans only: a burst scan sees a few namespaces, and must not
    // make them forget (or mistake for gone) what the others hold.
    const scan = await collectSockets({
      paths: this.d.paths,
      users: this.#users,
      ...(burstNetns ? { netns: burstNetns } : { fdCache: this.#fdCache, tableCache: this.#tableCache }),
    });
    await this.d.watcher.resolvePeers(
      scan.sockets.filter((s) => s.protocol !== "unix" && s.remotePort !== 0).map((s) => s.remoteAddress),
    );
    const index = this.d.watcher.index();
    index.enrichInPlace(scan.sockets);
    const fileLimits = fileLimitsOfBusyProcesses(this.d.paths, scan.sockets);
    // Processes say which network namespace is which pod's even when the pod holds no socket
    // at this instant (its pause container never does; a beacon mostly does not).
    const processes = listProcesses(this.d.paths, burstNetns, {
      known: scan.processes,
      ...(burstNetns ? {} : { cache: this.#processCache }),
    }).map((p) => {
      const user = p.uid !== undefined ? this.#users.name(p.uid) : undefined;
      return user ? { ...p, user } : p;
    });
    const podNetns = new Map<number, string>();
    for (const p of processes) {
      const pod = p.podUid ? index.podByUid(p.podUid) : undefined;
      if (pod && !pod.hostNetwork && pod.nodeName === this.d.nodeName) podNetns.set(p.netns, pod.uid);
    }
    const node = evaluateNode(scan.sockets, index, baselines, now, this.d.nodeName, fileLimits, podNetns);
    const inScope = (uid: string) => !only || only.has(uid);

    // The memory: one scope per pod on this node, fed every cycle; its detectors' findings
    // go the same way as the baselines' (Events, OTel), whether or not a baseline selects the pod.
    const scopes = [...node.socketsByPod.values()].filter(
      ({ pod }) => pod.nodeName === this.d.nodeName && inScope(pod.uid),
    );
    const podOfNetns = new Map(podNetns);
    for (const { pod, sockets } of scopes)
      for (const s of sockets)
        if (s.protocol !== "unix" && !pod.hostNetwork && !podOfNetns.has(s.netns))
          podOfNetns.set(s.netns, pod.uid);
    if (!only) {
      this.#netnsOfPod = new Map();
      for (const [netns, uid] of podOfNetns) this.#netnsOfPod.set(uid, netns);
    }
    this.#tracker.observe(
      now.getTime(),
      scopes.map(({ pod, sockets }) => ({
        scope: `pod ${pod.namespace}/${pod.name}`,
        sockets,
        processes:
          this.d.detectDiscoveryTools === false
            ? []
            : processes.filter((p) => podOfNetns.get(p.netns) === pod.uid),
      })),
    );
    const isInternal = (a: string) => index.isHost(a) || index.isCluster(a);
    const detected: { pod: ClusterPod; f: Finding }[] = scopes.flatMap(({ pod }) => {
      const m = this.#tracker.scope(`pod ${pod.namespace}/${pod.name}`);
      return m
        ? detect(m, now.getTime(), {
            ...this.d.detectorOptions,
            isInternal,
            fileLimits,
            ...(pod.ephemeralPorts ? { ephemeralPorts: pod.ephemeralPorts } : {}),
          }).map((f) => ({
            pod,
            f,
          }))
        : [];
    });

    // Seasonal judgement (full scans only: the model's hourly percentiles assume the normal
    // cadence): each pod a baseline selects is judged against that baseline's model, then
    // its values join the model. A pod two baselines select counts for the first.
    if (!only) detected.push(...this.#judgeSeasonal(node.matchedPods, now.getTime(), isInternal));

    const active = new Map<string, Set<string>>();
    if (only) for (const [uid, keys] of this.#active) if (!only.has(uid)) active.set(uid, keys);
    let findings = 0;
    let newFindings = 0;
    let suppressed = 0;
    const writes: Promise<void>[] = [];
    const results = [
      ...node.evaluations.filter(({ pod }) => inScope(pod.uid)).map(({ pod, result }) => ({ pod, result })),
      // A detector's finding is acknowledged by the exceptions of the baselines that select
      // its pod (socklens ack, docs/ack.md), as a baseline's own findings are by its own.
      ...detected.map(({ pod, f }) => ({
        pod,
        result: applyExceptions(
          baselines.filter((b) => selectsPod(b, pod)).flatMap((b) => b.exceptions),
          [f],
          now,
        ),
      })),
    ];
    const underBurst = this.#bursts.podUids();
    for (const { pod, result } of results) {
      suppressed += result.suppressed.length;
      let keys = active.get(pod.uid);
      if (!keys) {
        keys = new Set();
        active.set(pod.uid, keys);
      }
      for (const found of result.findings) {
        const key = findingKey(found);
        const f = maskFinding(found, this.d.masks ?? []);
        keys.add(key);
        findings++;
        const isNew = !this.#active.get(pod.uid)?.has(key);
        if (isNew) newFindings++;
        if (underBurst.has(pod.uid))
          for (const b of this.#bursts.active())
            if (b.target.kind === "Pod" && b.target.pod.uid === pod.uid) b.findings++;
        this.d.telemetry?.finding(f, { ...pod, workload: workloadOf(pod, index.snapshot.owners) }, isNew);
        if (this.d.recorder)
          writes.push(this.d.recorder.record(eventFor(f, pod, key, index.podInfo(pod).workload)));
        if (isNew && this.#looping) {
          const r = this.#bursts.onFinding(pod, f, this.#nowMs());
          if (r && "id" in r) writes.push(this.#burstStarted(r));
          else if (r) this.d.log("burst refused", { pod: `${pod.namespace}/${pod.name}`, why: r.reason });
        }
      }
    }
    // Bursts are timed from now, not from the scan's start: a full scan of a busy node can
    // take seconds, and a 5 s burst must not be spent before its first scan.
    const burstNow = this.#nowMs();
    if (this.#looping) writes.push(...this.#burstBookkeeping(index, burstNow, burst));
    const interval = this.d.observationIntervalMs ?? 30_000;
    this.#windowStart ??= now;
    const publisher = this.#publisher;
    if (!only && publisher && now.getTime() - this.#windowStart.getTime() >= interval) {
      for (const b of baselines) {
        const pods = node.matchedPods.get(b.id) ?? [];
        if (pods.length === 0) continue;
        const findingsOf = node.evaluations
          .filter((e) => e.baseline.id === b.id)
          .flatMap((e) => e.result.findings);
        const masks = this.d.masks ?? [];
        const podSockets = pods.map((pod) => ({
          pod,
          sockets: node.socketsByPod.get(pod.uid)?.sockets ?? [],
        }));
        const spec = buildObservation(
          b.source.metadata.name ?? "",
          this.d.nodeName,
          podSockets,
          findingsOf,
          this.#windowStart,
          now,
          { baselineNamespace: b.namespace, resolver: index, mask: (a) => maskAddress(a, masks) },
        );
        // Written when what it says changed (timestamps and counts aside), else as a heartbeat.
        const published = publisher.publish(b.namespace, spec, now.getTime(), ownerOf(b.source.metadata));
        if (published) writes.push(published.done.then(() => undefined));
      }
      publisher.retain(
        baselines.map((b) => ({
          namespace: b.namespace,
          name: b.source.metadata.name ?? "",
          uid: b.source.metadata.uid,
        })),
      );
      this.#windowStart = now;
    }
    if (!only && this.d.seasonal?.store && this.#seasonal.version !== this.#seasonalSaved)
      writes.push(this.saveSeasonal());
    await Promise.all(writes);
    this.d.recorder?.retain(new Set([...active.values()].flatMap((k) => [...k])));
    this.#active = active;
    this.d.telemetry?.endScan();
    if (!only)
      this.d.telemetry?.setSocketCounts(
        socketCounts(node.socketsByPod, (p) => workloadOf(p, index.snapshot.owners)),
      );
    this.d.telemetry?.scanned(performance.now() - started);
    return {
      sockets: scan.sockets.length,
      pods: node.socketsByPod.size,
      baselines: baselines.length,
      findings,
      newFindings,
      suppressed,
      durationMs: performance.now() - started,
      ...(burst ? { burstPods: only ? only.size : node.socketsByPod.size } : {}),
    };
  }

  #judgeSeasonal(
    matched: ReadonlyMap<string, readonly ClusterPod[]>,
    now: number,
    isInternal: (a: string) => boolean,
  ): { pod: ClusterPod; f: Finding }[] {
    const out: { pod: ClusterPod; f: Finding }[] = [];
    const judged = new Set<string>();
    for (const [baseline, pods] of matched)
      for (const pod of pods) {
        if (judged.has(pod.uid) || pod.nodeName !== this.d.nodeName) continue;
        judged.add(pod.uid);
        const m = this.#tracker.scope(`pod ${pod.namespace}/${pod.name}`);
        if (!m || m.lastScan !== now) continue;
        const values = seriesValues(m, now, isInternal);
        const workload = pod.owner
          ? `${pod.owner.kind} ${pod.owner.name}, baseline ${baseline}`
          : `baseline ${baseline}`;
        for (const v of this.#seasonal.judge(baseline, values, now))
          if (v.anomalous) out.push({ pod, f: { ...seasonalFinding(v, m, workload), baseline } });
        this.#seasonal.learn(baseline, values, now);
      }
    return out;
  }

  async #loadSeasonal(now: number): Promise<void> {
    const store = this.d.seasonal?.store;
    if (!store) return;
    try {
      const raw = await store.load();
      if (raw !== undefined) this.#seasonal.load(raw, now);
      this.#seasonalLoaded = true;
      this.#seasonalSaved = this.#seasonal.version;
      this.d.log("seasonal model loaded", { workloads: this.#seasonal.size });
    } catch (err) {
      // A damaged model is not worth stopping for: learn afresh (and overwrite it an hour on).
      this.#seasonalLoaded = true;
      this.d.log("seasonal model not loaded, learning afresh", {
        level: "warn",
        error: (err as Error).message,
      });
    }
  }

  /** Persist the seasonal model now (also done after a full scan in which an hour closed, and on stop). */
  async saveSeasonal(): Promise<void> {
    const store = this.d.seasonal?.store;
    if (!store || !this.#seasonalLoaded) return;
    const version = this.#seasonal.version;
    if (await store.save(this.#seasonal)) this.#seasonalSaved = version;
  }

  /** The models, for tests and `socklens learn`. */
  get seasonal(): SeasonalModels {
    return this.#seasonal;
  }

  /** Annotations and expiry: start and end bursts, with their Events. */
  #burstBookkeeping(
    index: ReturnType<ClusterWatcher["index"]>,
    now: number,
    burst: boolean,
  ): Promise<void>[] {
    const writes: Promise<void>[] = [];
    const here = new Set(
      index.snapshot.pods.filter((p) => p.nodeName === this.d.nodeName && !p.gone).map((p) => p.uid),
    );
    if (burst) for (const b of this.#bursts.active()) b.scans++;
    const ann = this.d.watcher.annotation(BURST_ANNOTATION, this.d.nodeName);
    this.#burstAnnotationsSeen = annotationsText(ann);
    const pods = new Map<string, { pod: ClusterPod; value: string }>();
    for (const [uid, value] of ann.pods) {
      const pod = index.podByUid(uid);
      if (pod && here.has(uid)) pods.set(uid, { pod, value });
    }
    const r = this.#bursts.onAnnotations(pods, { name: this.d.nodeName, value: ann.node }, now);
    for (const e of r.ended) writes.push(this.#burstEnded(e));
    for (const b of r.started) writes.push(this.#burstStarted(b));
    for (const x of r.refused) this.d.log("burst refused", { target: targetText(x.target), why: x.reason });
    for (const x of r.invalid) {
      this.d.log("burst annotation ignored", { target: targetText(x.target), problem: x.problem });
      if (this.d.recorder)
        writes.push(
          this.d.recorder.record({
            regarding: regardingOf(x.target),
            type: "Warning",
            reason: "BurstAnnotationInvalid",
            note: `${targetText(x.target)}: ${x.problem}; no burst started`,
            key: `burst-invalid|${targetText(x.target)}|${now}`,
          }),
        );
    }
    for (const e of this.#bursts.expire(now, here)) writes.push(this.#burstEnded(e));
    return writes;
  }

  #burstStarted(b: Burst): Promise<void> {
    const every = BurstScheduler.durationText(this.#bursts.o.intervalMs);
    const what =
      b.target.kind === "Pod"
        ? `pod ${b.target.pod.namespace}/${b.target.pod.name}`
        : `every pod on node ${b.target.name}`;
    const note = `socklens agent on node ${this.d.nodeName} scans ${what} every ${every} for ${BurstScheduler.durationText(b.until - b.startedAt)}: ${b.reason}`;
    this.d.log("burst started", {
      target: targetText(b.target),
      until: new Date(b.until).toISOString(),
      why: b.reason,
    });
    return this.#burstEvent(b, "BurstStarted", note, "start");
  }

  #burstEnded(e: BurstEnd): Promise<void> {
    const b = e.burst;
    const what = targetText(b.target);
    const why = e.why === "elapsed" ? "its time is up" : e.why;
    const note = `socklens agent on node ${this.d.nodeName} ended the burst on ${what} after ${BurstScheduler.durationText(Math.round((e.at - b.startedAt) / 1000) * 1000)} (${why}): ${b.scans} burst scans, ${b.findings} findings; back to the normal interval`;
    this.d.log("burst ended", {
      target: targetText(b.target),
      why: e.why,
      scans: b.scans,
      findings: b.findings,
    });
    return this.#burstEvent(b, "BurstEnded", note, "end");
  }

  /** One Normal Event on the burst's target (its pod, or the node), one per burst and phase. */
  #burstEvent(b: Burst, reason: string, note: string, phase: "start" | "end"): Promise<void> {
    return this.d.recorder
      ? this.d.recorder.record({
          regarding: regardingOf(b.target),
          type: "Normal",
          reason,
          note,
          key: `burst|${b.id}|${phase}`,
        })
      : Promise.resolve();
  }

  /**
   * Scan every `intervalMs` until the signal aborts. A failed cycle is logged, not fatal.
   * A change to a `socklens.io/burst` annotation wakes the loop at once (the watch delivers
   * it): a burst asked for must not wait up to a whole interval for the next full scan.
   */
  async run(intervalMs: number, signal: AbortSignal): Promise<void> {
    this.#looping = true;
    let nextFull = 0;
    let wake: (() => void) | undefined;
    const unsubscribe = this.d.watcher.onPodOrNodeChange(() => {
      if (
        wake &&
        annotationsText(this.d.watcher.annotation(BURST_ANNOTATION, this.d.nodeName)) !==
          this.#burstAnnotationsSeen
      )
        wake();
    });
    try {
      while (!signal.aborted) {
        const full = Date.now() >= nextFull;
        if (full) nextFull = Date.now() + intervalMs;
        try {
          if (!full && this.#bursts.active().length === 0) {
            // Woken by an annotation with no burst running: start (or refuse) bursts now; the
            // first burst scan follows one burst interval later, like every other.
            if (this.d.watcher.synced)
              await Promise.all(this.#burstBookkeeping(this.d.watcher.index(), this.#nowMs(), false));
          } else {
            const r = full ? await this.cycle() : await this.burstCycle();
            this.d.log(r.skipped ? "scan skipped" : full ? "scan" : "burst scan", {
              ...r,
              durationMs: Math.round(r.durationMs),
            });
          }
        } catch (err) {
          this.d.log("scan failed", { level: "error", error: (err as Error).message });
        }
        // During a burst, wake every burst interval; a full scan still comes every intervalMs.
        const burstAt = this.#bursts.active().length
          ? Date.now() + this.#bursts.o.intervalMs
          : Number.POSITIVE_INFINITY;
        const wait = Math.max(0, Math.min(nextFull, burstAt) - Date.now());
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            wake = undefined;
            resolve();
          };
          const timer = setTimeout(done, wait);
          // Removed on every wake-up: a listener per cycle would pile up on the signal over days.
          signal.addEventListener("abort", done, { once: true });
          wake = done;
        });
      }
    } finally {
      unsubscribe();
    }
    await this.saveSeasonal().catch((err) =>
      this.d.log("seasonal model not saved", { level: "warn", error: (err as Error).message }),
    );
  }

  #nowMs(): number {
    return (this.d.now ?? (() => new Date()))().getTime();
  }
}

/** The burst annotations as one comparable string (pods by uid, sorted; then the node's). */
function annotationsText(ann: { pods: Map<string, string>; node?: string }): string {
  return JSON.stringify([[...ann.pods].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)), ann.node ?? null]);
}

/** The baseline as an observation's owner; none when it has no uid (not read from a server). */
function ownerOf(meta: { name?: string | undefined; uid?: string | undefined }) {
  return meta.name && meta.uid ? { name: meta.name, uid: meta.uid } : undefined;
}

// Re-exported: tests and docs name them from here.
export { DEFAULT_HEARTBEAT_MS, observationContent } from "./publish.js";

function targetText(t: Burst["target"]): string {
  return t.kind === "Pod" ? `pod ${t.pod.namespace}/${t.pod.name}` : `node ${t.name}`;
}

/** Node Events live in "default", as the kubelet's do. */
function regardingOf(t: Burst["target"]) {
  return t.kind === "Pod"
    ? { apiVersion: "v1", kind: "Pod", namespace: t.pod.namespace, name: t.pod.name, uid: t.pod.uid }
    : { apiVersion: "v1", kind: "Node", namespace: "default", name: t.name };
}

export function eventFor(
  f: Finding,
  pod: { namespace: string; name: string; uid: string },
  key: string,
  workload: { kind: string; name: string } | undefined,
) {
  // The whole finding record rides along in an annotation, so `socklens report --kubeconfig`
  // ranks and explains from the same fields as from a watch stream (f is already masked).
  const record = findingRecord(f, {
    pod: { namespace: pod.namespace, name: pod.name, uid: pod.uid },
    ...(workload ? { workload } : {}),
  });
  let annotation = JSON.stringify(record);
  if (annotation.length > MAX_FINDING_ANNOTATION) {
    delete record.cmdline;
    annotation = JSON.stringify({ ...record, message: record.message.slice(0, 1024) });
  }
  return {
    regarding: { apiVersion: "v1", kind: "Pod", namespace: pod.namespace, name: pod.name, uid: pod.uid },
    type: f.severity === "info" ? ("Normal" as const) : ("Warning" as const),
    reason: f.rule,
    note: f.message,
    key,
    ...(annotation.length <= MAX_FINDING_ANNOTATION
      ? { annotations: { [FINDING_ANNOTATION]: annotation } }
      : {}),
  };
}

/** The Event annotation holding the finding record (read by `socklens report --kubeconfig`). */
export const FINDING_ANNOTATION = "socklens.io/finding";
/** Far below the API server's 256 KiB for all annotations: an Event per finding adds up. */
const MAX_FINDING_ANNOTATION = 8 * 1024;

function socketCounts(
  byPod: NodeEvaluation["socketsByPod"],
  workload: (pod: ClusterPod) => { kind: string; name: string } | undefined,
): PodSocketCounts[] {
  return [...byPod.values()].map(({ pod, sockets }) => {
    const counts = new Map<string, number>();
    for (const s of sockets) {
      const key = `${s.protocol}|${s.state}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return { namespace: pod.namespace, name: pod.name, workload: workload(pod), counts };
  });
}
