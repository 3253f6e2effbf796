import { describe, expect, it } from "vitest";
import type { ClusterPod, ClusterSnapshot } from "./cluster-index.js";
import { stableSelector, withoutPerPodLabels } from "./workload.js";

const pod = (labels: Record<string, string>, owner?: ClusterPod["owner"]): ClusterPod => ({
  uid: "u",
  namespace: "shop",
  name: "db-7f9c-x2",
  labels,
  ips: ["10.244.1.7"],
  hostNetwork: false,
  ports: [],
  ...(owner ? { owner } : {}),
});

describe("stable selectors", () => {
  it.each([
    ["Deployment pod", { app: "db", "pod-template-hash": "7f9c" }, { app: "db" }],
    [
      "StatefulSet pod",
      {
        app: "kafka",
        "controller-revision-hash": "kafka-5d",
        "statefulset.kubernetes.io/pod-name": "kafka-0",
        "apps.kubernetes.io/pod-index": "0",
      },
      { app: "kafka" },
    ],
    [
      "DaemonSet pod",
      { app: "agent", "controller-revision-hash": "abc", "pod-template-generation": "3" },
      { app: "agent" },
    ],
    [
      "Job pod of a CronJob",
      {
        app: "report",
        "job-name": "report-2911",
        "controller-uid": "x",
        "batch.kubernetes.io/job-name": "report-2911",
      },
      { app: "report" },
    ],
    [
      "release labels",
      { app: "web", "helm.sh/chart": "web-1.2.3", "app.kubernetes.io/version": "1.2.3" },
      { app: "web" },
    ],
  ])("%s: per-pod and per-revision labels are dropped", (_, labels, expected) => {
    expect(withoutPerPodLabels(labels)).toEqual(expected);
  });

  it("a Deployment's pods are selected by the ReplicaSet's selector without pod-template-hash", () => {
    const owners: ClusterSnapshot["owners"] = [
      {
        namespace: "shop",
        kind: "ReplicaSet",
        name: "db-7f9c",
        owner: { kind: "Deployment", name: "db" },
        selector: { app: "db", "pod-template-hash": "7f9c" },
      },
    ];
    // The pod has an extra, non-selector label (team) that the selector does not need.
    const p = pod(
      { app: "db", team: "storage", "pod-template-hash": "7f9c" },
      { kind: "ReplicaSet", name: "db-7f9c" },
    );
    expect(stableSelector(p, owners)).toEqual({ app: "db" });
    // Without the ReplicaSet's selector: the pod's labels minus the per-pod ones.
    expect(stableSelector(p, [])).toEqual({ app: "db", team: "storage" });
  });
});
