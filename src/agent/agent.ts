/**
 * The node agent's loop: scan this node's sockets, attribute them to pods, evaluate each pod
 * against the baselines that select it, and report findings as Kubernetes Events and
 * OpenTelemetry metrics and logs. One `cycle()` is one scan; `run()` repeats it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { findingKey } from "../core/baseline/evaluate.js";
import { findingRecord } from "../core/baseline/finding-record.js";
import { evaluateNode, type NodeEvaluation, selectsPod } from "../core/baseline/node.js";
import { buildObservation, type ObservationSpec } from "../core/baseline/observation.js";
import { applyExceptions } from "../core/baseline/patterns.js";
import type { Finding } from "../core/baseline/types.js";
import { type ClusterPod, workloadOf } from "../core/cluster-index.js";
import { maskAddress, maskFinding } from "../core/mask.js";
import { type DetectorOptions, detect } from "../core/memory/detectors.js";
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
import { UserNames } from "../procfs/users.js";
import type { PodSocketCounts, Telemetry } from "../telemetry/otel.js";
import { BaselineCache } from "./baselines.js";

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
  /** What the last scans learned from /proc that a scan need not re-read (src/procfs/fd-cache.ts). */
  readonly #fdCache = new FdCache();
  readonly #processCache = new ProcessCache();
  #active = new Set<string>();
  #windowStart: Date | undefined;
  /** What each observation last said and when it was written (change detection, heartbeat). */
  readonly #written = new Map<string, { content: string; at: number }>();

  constructor(private readonly d: AgentDeps) {
    this.#baselines = new BaselineCache((m, f) => d.log(m, f));
    this.#users = new UserNames(d.paths.passwd);
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
    const scan = await collectSockets({ paths: this.d.paths, users: this.#users, fdCache: this.#fdCache });
    await this.d.watcher.resolvePeers(
      scan.sockets.filter((s) => s.protocol !== "unix" && s.remotePort !== 0).map((s) => s.remoteAddress),
    );
    const index = this.d.watcher.index();
    index.enrichInPlace(scan.sockets);
    const fileLimits = fileLimitsOfBusyProcesses(this.d.paths, scan.sockets);
    // Processes say which network namespace is which pod's even when the pod holds no socket
    // at this instant (its pause container never does; a beacon mostly does not).
    const processes = listProcesses(this.d.paths, undefined, {
      known: scan.processes,
      cache: this.#processCache,
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
    for (const { pod, result } of results) {
      suppressed += result.suppressed.length;
      for (const found of result.findings) {
        const key = findingKey(found);
        const f = maskFinding(found, this.d.masks ?? []);
        active.add(key);
        findings++;
        const isNew = !this.#active.has(key);
        if (isNew) newFindings++;
        this.d.telemetry?.finding(f, { ...pod, workload: workloadOf(pod, index.snapshot.owners) }, isNew);
        if (this.d.recorder)
          writes.push(this.d.recorder.record(eventFor(f, pod, key, index.podInfo(pod).workload)));
      }
    }
    const interval = this.d.observationIntervalMs ?? 30_000;
    const heartbeat = this.d.observationHeartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.#windowStart ??= now;
    if (this.d.observations && now.getTime() - this.#windowStart.getTime() >= interval) {
      const writer = this.d.observations;
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
        // Written when what it says changed (timestamps and counts aside), else as a heartbeat:
        // 500 nodes × 20 baselines writing every 30 s would be ~330 writes/s forever.
        // The uid is part of the key: a baseline created again under the same name is a new
        // owner, and its observation (garbage-collected with the old one) is written at once.
        const key = `${b.namespace}/${spec.baseline}/${b.source.metadata.uid ?? ""}`;
        const content = observationContent(spec);
        const last = this.#written.get(key);
        if (last && last.content === content && now.getTime() - last.at < heartbeat) continue;
        writes.push(
          writer.write(b.namespace, spec, ownerOf(b.source.metadata)).then((ok) => {
            if (ok) this.#written.set(key, { content, at: now.getTime() });
          }),
        );
      }
      // Forget baselines that are gone (or were replaced under their name): the map stays the
      // size of the cluster's baselines, not of every baseline the agent ever saw.
      const live = new Set(
        baselines.map((b) => `${b.namespace}/${b.source.metadata.name}/${b.source.metadata.uid ?? ""}`),
      );
      for (const key of this.#written.keys()) if (!live.has(key)) this.#written.delete(key);
      this.#windowStart = now;
    }
    await Promise.all(writes);
    this.d.recorder?.retain(active);
    this.#active = active;
    this.d.telemetry?.endScan();
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
    };
  }

  /** Scan every `intervalMs` until the signal aborts. A failed cycle is logged, not fatal. */
  async run(intervalMs: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const r = await this.cycle();
        this.d.log(r.skipped ? "scan skipped" : "scan", { ...r, durationMs: Math.round(r.durationMs) });
      } catch (err) {
        this.d.log("scan failed", { level: "error", error: (err as Error).message });
      }
      // Node's abortable sleep removes its abort listener when it resolves: a listener per
      // cycle would pile up on the signal over days.
      await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
    }
  }
}

/** The baseline as an observation's owner; none when it has no uid (not read from a server). */
function ownerOf(meta: { name?: string | undefined; uid?: string | undefined }) {
  return meta.name && meta.uid ? { name: meta.name, uid: meta.uid } : undefined;
}

/** The agent re-writes an unchanged observation this often; the operator's staleness is 3× this. */
export const DEFAULT_HEARTBEAT_MS = 15 * 60_000;

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
