/**
 * A pod's workload and the labels that select it across rollouts. Pod IPs and names change
 * on every restart, scale-out and rollout; the workload's selector does not. A learned peer
 * is that selector, so a baseline survives the churn it describes.
 */
import type { ClusterPod, ClusterSnapshot, OwnerRef } from "./cluster-index.js";

/**
 * Labels the control plane sets per pod or per revision: never part of an identity. A
 * selector holding one of them matches one pod, or one revision, and breaks on the next
 * rollout. `app.kubernetes.io/version` and `helm.sh/chart` are set per release by most charts.
 */
export const PER_POD_LABELS: ReadonlySet<string> = new Set([
  "pod-template-hash",
  "controller-revision-hash",
  "pod-template-generation",
  "statefulset.kubernetes.io/pod-name",
  "apps.kubernetes.io/pod-index",
  "controller-uid",
  "job-name",
  "batch.kubernetes.io/controller-uid",
  "batch.kubernetes.io/job-name",
  "batch.kubernetes.io/job-completion-index",
  "app.kubernetes.io/version",
  "helm.sh/chart",
]);

export function withoutPerPodLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (!PER_POD_LABELS.has(k)) out[k] = v;
  return out;
}

/** The workload a pod belongs to, following ReplicaSet → Deployment and Job → CronJob. */
export function workloadOf(pod: ClusterPod, owners: ClusterSnapshot["owners"]): OwnerRef | undefined {
  let ref = pod.owner;
  for (let hops = 0; ref && hops < 3; hops++) {
    const up = owners.find(
      (o) => o.namespace === pod.namespace && o.kind === ref?.kind && o.name === ref.name,
    )?.owner;
    if (!up) break;
    ref = up;
  }
  return ref;
}

/**
 * The labels that select a pod's workload, stable across its rollouts: the ReplicaSet's
 * selector without pod-template-hash (which is the Deployment's selector), else the pod's
 * labels without the per-pod ones. Empty when the pod has no stable label at all — then an
 * identity cannot be written and the caller falls back to the address.
 */
export function stableSelector(pod: ClusterPod, owners: ClusterSnapshot["owners"]): Record<string, string> {
  if (pod.owner?.kind === "ReplicaSet") {
    const rs = owners.find(
      (o) => o.namespace === pod.namespace && o.kind === "ReplicaSet" && o.name === pod.owner?.name,
    );
    if (rs?.selector) {
      const sel = withoutPerPodLabels(rs.selector);
      if (Object.keys(sel).length > 0) return sel;
    }
  }
  return withoutPerPodLabels(pod.labels);
}
