import { describe, expect, it } from "vitest";
import { NetworkBaseline } from "../../api/v1alpha1/networkbaseline.js";
import { ClusterIndex, type ClusterPod } from "../cluster-index.js";
import type { Socket } from "../socket.js";
import { compileBaseline } from "./compile.js";
import { evaluateNode, groupByPod } from "./node.js";

const pod = (name: string, extra: Partial<ClusterPod> = {}): ClusterPod => ({
  uid: `${name}-uid`,
  namespace: "shop",
  name,
  labels: { app: name.split("-")[0] as string },
  ips: [],
  hostNetwork: false,
  ports: [],
  nodeName: "n1",
  ...extra,
});
const index = new ClusterIndex({
  pods: [pod("web-0"), pod("db-0"), pod("agent-x", { hostNetwork: true }), pod("web-1", { nodeName: "n2" })],
  services: [],
  namespaces: [],
  endpoints: [],
  nodes: [],
  owners: [],
});
const s = (p: Partial<Socket>): Socket => ({
  protocol: "tcp",
  family: "inet",
  localAddress: "10.0.0.5",
  localPort: 1,
  remoteAddress: "10.0.0.9",
  remotePort: 443,
  state: "ESTABLISHED",
  inode: 1,
  netns: 100,
  ...p,
});

describe("groupByPod", () => {
  it("attributes orphan sockets (TIME_WAIT) to the pod whose inet sockets share the namespace", () => {
    const g = groupByPod(
      [
        s({ pod: { uid: "web-0-uid" }, pid: 10 }),
        s({ state: "TIME_WAIT", inode: 0 }),
        // web's stdio socketpair lives in the host namespace 1: it must not claim namespace 1.
        s({ protocol: "unix", family: "unix", netns: 1, pod: { uid: "web-0-uid" }, pid: 10 }),
        s({ netns: 1, state: "TIME_WAIT", inode: 0 }),
      ],
      index,
    );
    expect(g.get("web-0-uid")?.sockets.map((x) => `${x.protocol}/${x.netns}/${x.state}`)).toEqual([
      "tcp/100/ESTABLISHED",
      "unix/1/ESTABLISHED",
      "tcp/100/TIME_WAIT",
    ]);
  });

  it("leaves orphans unattributed in a namespace two pods claim, or a hostNetwork pod's", () => {
    const g = groupByPod(
      [
        s({ pod: { uid: "web-0-uid" }, pid: 10, netns: 200 }),
        s({ pod: { uid: "db-0-uid" }, pid: 11, netns: 200 }),
        s({ netns: 200, state: "TIME_WAIT", inode: 0 }),
        s({ pod: { uid: "agent-x-uid" }, pid: 12, netns: 1 }),
        s({ netns: 1, state: "TIME_WAIT", inode: 0 }),
      ],
      index,
    );
    const all = [...g.values()].flatMap((x) => x.sockets);
    expect(all.filter((x) => x.state === "TIME_WAIT")).toEqual([]);
  });
});

describe("groupByPod with the pods' namespaces known from their processes", () => {
  it("a pod holding no socket right now (a beacon between connections) still owns its TIME_WAIT", () => {
    const g = groupByPod(
      [s({ netns: 300, state: "TIME_WAIT", inode: 0, remoteAddress: "198.51.100.7" })],
      index,
      new Map([[300, "web-0-uid"]]),
    );
    expect(g.get("web-0-uid")?.sockets.map((x) => x.remoteAddress)).toEqual(["198.51.100.7"]);
  });
  it("a pod with processes and no socket at all is still a scope (empty), for the memory", () => {
    const g = groupByPod([], index, new Map([[301, "db-0-uid"]]));
    expect(g.get("db-0-uid")?.sockets).toEqual([]);
  });
});

describe("evaluateNode", () => {
  it("evaluates this node's selected pods in Alert mode and counts Learn-mode matches", () => {
    const b = (name: string, mode: "Alert" | "Learn", app: string) =>
      compileBaseline(
        NetworkBaseline.parse({
          apiVersion: "socklens.io/v1alpha1",
          kind: "NetworkBaseline",
          metadata: { name, namespace: "shop" },
          spec: { podSelector: { matchLabels: { app } }, mode, egress: [] },
        }),
      );
    const r = evaluateNode(
      [s({ pod: { uid: "web-0-uid" }, pid: 10 })],
      index,
      [b("web", "Alert", "web"), b("db", "Learn", "db")],
      new Date(),
      "n1",
    );
    expect(r.matchedPods.get("shop/web")?.map((p) => p.name)).toEqual(["web-0"]); // web-1 is on n2
    expect(r.matchedPods.get("shop/db")?.map((p) => p.name)).toEqual(["db-0"]);
    expect(
      r.evaluations.map((e) => [e.pod.name, e.baseline.id, e.result.findings.map((f) => f.rule)]),
    ).toEqual([["web-0", "shop/web", ["UnexpectedEgress"]]]);
  });
});
