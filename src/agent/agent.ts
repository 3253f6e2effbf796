/**
 * The node agent's loop: scan this node's sockets, attribute them to pods, evaluate each pod
 * against the baselines that select it, and report findings as Kubernetes Events and
 * OpenTelemetry metrics and logs. One `cycle()` is one scan; `run()` repeats it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { findingKey } from "../core/baseline/evaluate.js";
import { evaluateNode } from "../core/baseline/node.js";
import { buildObservation } from "../core/baseline/observation.js";
import type { Finding } from "../core/baseline/types.js";
import { maskAddress, maskFinding } from "../core/mask.js";
import { type DetectorOptions, detect } from "../core/memory/detectors.js";
import { Tracker } from "../core/memory/tracker.js";
import type { EventRecorder } from "../kube/events.js";
import type { ObservationWriter } from "../kube/observations.js";
import type { ClusterWatcher } from "../kube/watcher.js";
import type { Cidr } from "../net/cidr.js";
import { collectSockets } from "../procfs/collect.js";
import { fileLimitsOfBusyProcesses } from "../procfs/limits.js";
import type { ProcPaths } from "../procfs/paths.js";
import { listProcesses } from "../procfs/processes.js";
import { UserNames } from "../procfs/users.js";
import type { PodSocketCounts, Telemetry } from "../telemetry/otel.js";
import { BaselineCache } from "./baselines.js";
import { DEFAULT_HEARTBEAT_MS, ObservationPublisher } from "./publish.js";

export type AgentLog = (message: string, fields?: Record<string, unknown>) => void;

export interface AgentDeps {
  nodeName: string;
  watcher: ClusterWatcher;
  recorder?: EventRecorder;
  observations?: ObservationWriter;
  /** How often NetworkObservations are built (default 30 s; every scan when 0); written only on change. */
  observationIntervalMs?: number;
  /** An unchanged observation is written again after this long, to say the node is alive (default 15 min). */
  observationHeartbeatMs?: number;
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
}

export class Agent {
  readonly #baselines: BaselineCache;
  readonly #users: UserNames;
  /** The memory across cycles (src/core/memory): beacons, growth, leaks, discovery tools. */
  readonly #tracker = new Tracker();
  #active = new Set<string>();
  #windowStart: Date | undefined;
  /** Writes each observation on change plus a heartbeat (shared with bench/cluster-scale). */
  readonly #publisher: ObservationPublisher | undefined;

  constructor(private readonly d: AgentDeps) {
    this.#baselines = new BaselineCache((m, f) => d.log(m, f));
    this.#users = new UserNames(d.paths.passwd);
    if (d.observations)
      this.#publisher = new ObservationPublisher(
        d.observations,
        d.observationHeartbeatMs ?? DEFAULT_HEARTBEAT_MS,
      );
  }

  async cycle(): Promise<CycleReport> {
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
    const baselines = this.#baselines.update(this.d.watcher.baselines());
    const scan = await collectSockets({ paths: this.d.paths, users: this.#users });
    await this.d.watcher.resolvePeers(
      scan.sockets.filter((s) => s.protocol !== "unix" && s.remotePort !== 0).map((s) => s.remoteAddress),
    );
    const index = this.d.watcher.index();
    index.enrichInPlace(scan.sockets);
    const fileLimits = fileLimitsOfBusyProcesses(this.d.paths, scan.sockets);
    // Processes say which network namespace is which pod's even when the pod holds no socket
    // at this instant (its pause container never does; a beacon mostly does not).
    const processes = listProcesses(this.d.paths).map((p) => {
      const user = p.uid !== undefined ? this.#users.name(p.uid) : undefined;
      return user ? { ...p, user } : p;
    });
    const podNetns = new Map<number, string>();
    for (const p of processes) {
      const pod = p.podUid ? index.podByUid(p.podUid) : undefined;
      if (pod && !pod.hostNetwork && pod.nodeName === this.d.nodeName) podNetns.set(p.netns, pod.uid);
    }
    const node = evaluateNode(scan.sockets, index, baselines, now, this.d.nodeName, fileLimits, podNetns);

    // The memory: one scope per pod on this node, fed every cycle; its detectors' findings
    // go the same way as the baselines' (Events, OTel), whether or not a baseline selects the pod.
    const scopes = [...node.socketsByPod.values()].filter(({ pod }) => pod.nodeName === this.d.nodeName);
    const podOfNetns = new Map(podNetns);
    for (const { pod, sockets } of scopes)
      for (const s of sockets)
        if (s.protocol !== "unix" && !pod.hostNetwork && !podOfNetns.has(s.netns))
          podOfNetns.set(s.netns, pod.uid);
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
    const detected = scopes.flatMap(({ pod }) => {
      const m = this.#tracker.scope(`pod ${pod.namespace}/${pod.name}`);
      return m
        ? detect(m, now.getTime(), {
            ...this.d.detectorOptions,
            isInternal: (a) => index.isHost(a) || index.isCluster(a),
            fileLimits,
            ...(pod.ephemeralPorts ? { ephemeralPorts: pod.ephemeralPorts } : {}),
          }).map((f) => ({
            pod,
            f,
          }))
        : [];
    });

    const active = new Set<string>();
    let findings = 0;
    let newFindings = 0;
    let suppressed = 0;
    const writes: Promise<void>[] = [];
    const results = [
      ...node.evaluations.map(({ pod, result }) => ({ pod, result })),
      ...detected.map(({ pod, f }) => ({ pod, result: { findings: [f], suppressed: [] } })),
    ];
    for (const { pod, result } of results) {
      suppressed += result.suppressed.length;
      for (const found of result.findings) {
        const key = findingKey(found);
        const f = maskFinding(found, this.d.masks ?? []);
        active.add(key);
        findings++;
        const isNew = !this.#active.has(key);
        if (isNew) newFindings++;
        this.d.telemetry?.finding(f, pod, isNew);
        if (this.d.recorder) writes.push(this.d.recorder.record(eventFor(f, pod, key)));
      }
    }
    const interval = this.d.observationIntervalMs ?? 30_000;
    this.#windowStart ??= now;
    const publisher = this.#publisher;
    if (publisher && now.getTime() - this.#windowStart.getTime() >= interval) {
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
        const published = publisher.publish(b.namespace, spec, now.getTime());
        if (published) writes.push(published.done.then(() => undefined));
      }
      this.#windowStart = now;
    }
    await Promise.all(writes);
    this.d.recorder?.retain(active);
    this.#active = active;
    this.d.telemetry?.setSocketCounts(socketCounts(node.socketsByPod));
    return {
      sockets: scan.sockets.length,
      pods: node.socketsByPod.size,
      baselines: baselines.length,
      findings,
      newFindings,
      suppressed,
      durationMs: performance.now() - started,
    };
  }

  /** Scan every `intervalMs` until the signal aborts. A failed cycle is logged, not fatal. */
  async run(intervalMs: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const r = await this.cycle();
        this.d.log(r.skipped ? "scan skipped" : "scan", { ...r, durationMs: Math.round(r.durationMs) });
      } catch (err) {
        this.d.log("scan failed", { error: (err as Error).message });
      }
      // Node's abortable sleep removes its abort listener when it resolves: a listener per
      // cycle would pile up on the signal over days.
      await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
    }
  }
}

// Re-exported: tests and docs name them from here.
export { DEFAULT_HEARTBEAT_MS, observationContent } from "./publish.js";

function eventFor(f: Finding, pod: { namespace: string; name: string; uid: string }, key: string) {
  return {
    regarding: { apiVersion: "v1", kind: "Pod", namespace: pod.namespace, name: pod.name, uid: pod.uid },
    type: f.severity === "info" ? ("Normal" as const) : ("Warning" as const),
    reason: f.rule,
    note: f.message,
    key,
  };
}

function socketCounts(
  byPod: Map<
    string,
    {
      pod: { namespace: string; name: string };
      sockets: { protocol: string; state: string }[];
    }
  >,
): PodSocketCounts[] {
  return [...byPod.values()].map(({ pod, sockets }) => {
    const counts = new Map<string, number>();
    for (const s of sockets) {
      const key = `${s.protocol}|${s.state}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return { namespace: pod.namespace, pod: pod.name, counts };
  });
}
