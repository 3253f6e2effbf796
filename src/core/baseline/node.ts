/**
 * One node's evaluation: group the node's sockets by pod, find the baselines that select
 * each pod (same namespace, podSelector matches), and evaluate. Pure; the agent feeds it.
 *
 * Sockets no process holds (TIME_WAIT, …) carry no cgroup and so no pod UID: they belong
 * to the pod whose inet sockets live in the same network namespace. A hostNetwork pod's
 * namespace is the node's, which no pod owns, and a namespace two pods' sockets claim is
 * ambiguous: their orphans stay unattributed.
 */
import type { ClusterIndex, ClusterPod } from "../cluster.js";
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

const AMBIGUOUS = "";

export function groupByPod(
  sockets: Socket[],
  index: ClusterIndex,
): Map<string, { pod: ClusterPod; sockets: Socket[] }> {
  const groups = new Map<string, { pod: ClusterPod; sockets: Socket[] }>();
  const podOfNetns = new Map<number, string>();
  for (const s of sockets) {
    if (!s.pod) continue;
    const pod = index.podByUid(s.pod.uid);
    if (!pod) continue;
    let g = groups.get(pod.uid);
    if (!g) {
      g = { pod, sockets: [] };
      groups.set(pod.uid, g);
    }
    g.sockets.push(s);
    // Only inet sockets say where the pod lives: a unix socketpair inherited from a parent
    // (stdio of a process started by a runtime) belongs to the parent's namespace.
    if (!pod.hostNetwork && s.protocol !== "unix") {
      const prev = podOfNetns.get(s.netns);
      podOfNetns.set(s.netns, prev === undefined || prev === pod.uid ? pod.uid : AMBIGUOUS);
    }
  }
  for (const s of sockets) {
    if (s.pod || s.pid !== undefined) continue;
    const uid = podOfNetns.get(s.netns);
    if (uid && uid !== AMBIGUOUS) groups.get(uid)?.sockets.push(s);
  }
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
): NodeEvaluation {
  const socketsByPod = groupByPod(sockets, index);
  const evaluations: PodEvaluation[] = [];
  const matchedPods = new Map<string, ClusterPod[]>(baselines.map((b) => [b.id, []]));
  for (const pod of index.snapshot.pods) {
    if (nodeName !== undefined && pod.nodeName !== nodeName) continue;
    const podSockets = socketsByPod.get(pod.uid)?.sockets ?? [];
    for (const b of baselines) {
      if (!selectsPod(b, pod)) continue;
      matchedPods.get(b.id)?.push(pod);
      // Learn mode records; only Alert raises violations.
      if (b.source.spec.mode !== "Alert") continue;
      const result = evaluate(
        b,
        { scope: `pod ${pod.namespace}/${pod.name}`, pod: index.podInfo(pod), sockets: podSockets },
        index,
        now,
      );
      evaluations.push({ pod, baseline: b, result });
    }
  }
  return { evaluations, matchedPods, socketsByPod };
}
