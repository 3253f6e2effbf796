/**
 * One node's evaluation: group the node's sockets by pod, find the baselines that select
 * each pod (same namespace, podSelector matches), and evaluate. Pure; the agent feeds it.
 * Sockets no process holds (TIME_WAIT, …) go to the pod whose namespace they are in
 * (src/core/orphans.ts); a hostNetwork pod's namespace is the node's, which no pod owns.
 */
import type { ClusterIndex, ClusterPod } from "../cluster-index.js";
import { attributeOrphans } from "../orphans.js";
import type { Socket } from "../socket.js";
import type { CompiledBaseline } from "./compile.js";
import { evaluate } from "./evaluate.js";
import { selectorMatches } from "./selector.js";
import type { EvaluationResult } from "./types.js";

export interface PodEvaluation {
  pod: ClusterPod;
  baseline: CompiledBaseline;
  result: EvaluationResult;
}

export interface NodeEvaluation {
  evaluations: PodEvaluation[];
  /** Per baseline id: pods on this node it selects. */
  matchedPods: Map<string, ClusterPod[]>;
  /** Sockets per known pod on this node (for metrics). */
  socketsByPod: Map<string, { pod: ClusterPod; sockets: Socket[] }>;
}

export function groupByPod(
  sockets: Socket[],
  index: ClusterIndex,
  /**
   * Network namespaces by the pod whose processes live there (from their cgroups). A pod can
   * hold no socket at a scan's instant — a beacon between two connections — and still own the
   * TIME_WAIT sockets it left and be a scope the memory watches.
   */
  podNetns: ReadonlyMap<number, string> = new Map(),
): Map<string, { pod: ClusterPod; sockets: Socket[] }> {
  const groups = new Map<string, { pod: ClusterPod; sockets: Socket[] }>();
  for (const s of sockets) {
    if (!s.pod) continue;
    const pod = index.podByUid(s.pod.uid);
    if (!pod) continue;
    const g = groups.get(pod.uid);
    if (g) g.sockets.push(s);
    else groups.set(pod.uid, { pod, sockets: [s] });
  }
  for (const uid of new Set(podNetns.values())) {
    const pod = groups.has(uid) ? undefined : index.podByUid(uid);
    if (pod) groups.set(uid, { pod, sockets: [] });
  }
  const owned = new Map([...groups].map(([uid, g]) => [uid, g.sockets]));
  const orphans = attributeOrphans(sockets, owned, (uid) => !groups.get(uid)?.pod.hostNetwork, podNetns);
  for (const [uid, list] of orphans) groups.get(uid)?.sockets.push(...list);
  return groups;
}

export function selectsPod(b: CompiledBaseline, pod: ClusterPod): boolean {
  return b.namespace === pod.namespace && selectorMatches(b.source.spec.podSelector, pod.labels);
}

/** Evaluate every pod of `nodeName` (every pod in the index when absent) against its baselines. */
export function evaluateNode(
  sockets: Socket[],
  index: ClusterIndex,
  baselines: CompiledBaseline[],
  now: Date,
  nodeName?: string,
  /** Open-file limits of busy processes on the node, by pid (procfs fileLimitsOfBusyProcesses). */
  fileLimits?: ReadonlyMap<number, number>,
  /** Network namespaces of pods by their processes (see groupByPod). */
  podNetns?: ReadonlyMap<number, string>,
): NodeEvaluation {
  const socketsByPod = groupByPod(sockets, index, podNetns);
  const evaluations: PodEvaluation[] = [];
  const matchedPods = new Map<string, ClusterPod[]>(baselines.map((b) => [b.id, []]));
  for (const pod of index.snapshot.pods) {
    if (nodeName !== undefined && pod.nodeName !== nodeName) continue;
    // A deleted pod stays in the index as a tombstone so its lingering sockets keep a name;
    // it is evaluated and listed only while it still has sockets here (Terminating).
    if (pod.gone && !socketsByPod.has(pod.uid)) continue;
    const podSockets = socketsByPod.get(pod.uid)?.sockets ?? [];
    for (const b of baselines) {
      if (!selectsPod(b, pod)) continue;
      matchedPods.get(b.id)?.push(pod);
      // Learn mode records; only Alert raises violations.
      if (b.source.spec.mode !== "Alert") continue;
      const result = evaluate(
        b,
        {
          scope: `pod ${pod.namespace}/${pod.name}`,
          pod: index.podInfo(pod),
          sockets: podSockets,
          ...(pod.ephemeralPorts ? { ephemeralPorts: pod.ephemeralPorts } : {}),
          ...(fileLimits ? { fileLimits } : {}),
        },
        index,
        now,
      );
      evaluations.push({ pod, baseline: b, result });
    }
  }
  return { evaluations, matchedPods, socketsByPod };
}
