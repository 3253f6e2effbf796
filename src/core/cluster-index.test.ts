import { describe, expect, it } from "vitest";
import { ClusterIndex, type ClusterPod, type ClusterSnapshot, workloadOf } from "./cluster-index.js";
import type { Socket } from "./socket.js";

const pod = (p: Partial<ClusterPod> & Pick<ClusterPod, "name">): ClusterPod => ({
  uid: `${p.name}-uid`,
  namespace: "shop",
  labels: {},
  ips: [],
  hostNetwork: false,
  ports: [],
  ...p,
});

const snapshot: ClusterSnapshot = {
  pods: [
    pod({
      name: "web-7d9-abcde",
      labels: { app: "web", "pod-template-hash": "7d9" },
      ips: ["10.244.1.5"],
      owner: { kind: "ReplicaSet", name: "web-7d9" },
      serviceAccount: "web",
    }),
    pod({
      name: "db-0",
      labels: { app: "db" },
      ips: ["10.244.2.7", "fd00::7"],
      owner: { kind: "StatefulSet", name: "db" },
    }),
    pod({ name: "report-28790-x", ips: ["10.244.3.3"], owner: { kind: "Job", name: "report-28790" } }),
    pod({ name: "node-exporter-q", namespace: "monitoring", ips: ["192.0.2.10"], hostNetwork: true }),
  ],
  services: [
    { namespace: "shop", name: "db", clusterIPs: ["10.96.4.4"] },
    { namespace: "default", name: "kubernetes", clusterIPs: ["10.96.0.1"] },
  ],
  namespaces: [{ name: "shop", labels: { team: "shop" } }],
  endpoints: [
    { namespace: "shop", service: "db", addresses: ["10.244.2.7"] },
    { namespace: "default", service: "kubernetes", addresses: ["192.0.2.1"] },
  ],
  nodes: [{ name: "node-1", addresses: ["192.0.2.10"] }],
  owners: [
    { namespace: "shop", kind: "ReplicaSet", name: "web-7d9", owner: { kind: "Deployment", name: "web" } },
    { namespace: "shop", kind: "Job", name: "report-28790", owner: { kind: "CronJob", name: "report" } },
  ],
};
const index = new ClusterIndex(snapshot, ["192.0.2.10"]);

describe("ClusterIndex", () => {
  it.each([
    ["10.244.2.7", { kind: "pod", name: "db-0", namespace: "shop" }],
    ["fd00::7", { kind: "pod", name: "db-0" }],
    ["10.96.4.4", { kind: "service", namespace: "shop", name: "db" }],
    // A hostNetwork pod's IP is its node's: the address means the node.
    ["192.0.2.10", { kind: "node", name: "node-1" }],
    ["203.0.113.9", undefined],
  ])("peer(%s)", (ip, want) => {
    const got = index.peer(ip);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toMatchObject(want);
  });

  it("knows pod namespace labels and named ports for the matcher", () => {
    expect(index.peer("10.244.2.7")).toMatchObject({ namespaceLabels: { team: "shop" } });
  });

  it("knows the cluster, the API server and a service's backends", () => {
    expect(index.isCluster("10.244.1.5")).toBe(true);
    expect(index.isCluster("203.0.113.9")).toBe(false);
    expect(index.isApiServer("10.96.0.1")).toBe(true);
    expect(index.isApiServer("192.0.2.1")).toBe(true);
    expect(index.serviceBackends("shop", "db")).toEqual({ addresses: ["10.244.2.7"] });
    expect(index.serviceBackends("shop", "nope")).toBeUndefined();
    expect(index.isHost("192.0.2.10")).toBe(true);
  });

  it.each([
    ["web-7d9-abcde", { kind: "Deployment", name: "web" }],
    ["db-0", { kind: "StatefulSet", name: "db" }],
    ["report-28790-x", { kind: "CronJob", name: "report" }],
    ["node-exporter-q", undefined],
  ])("workload of %s", (name, want) => {
    const p = snapshot.pods.find((x) => x.name === name) as ClusterPod;
    expect(workloadOf(p, snapshot.owners)).toEqual(want);
  });

  it("enriches sockets: pod name, service account, workload, and the remote side", () => {
    const base = {
      protocol: "tcp" as const,
      family: "inet" as const,
      localAddress: "10.244.1.5",
      localPort: 40000,
      state: "ESTABLISHED" as const,
      inode: 1,
      netns: 1,
      pod: { uid: "web-7d9-abcde-uid" },
    };
    const sockets: Socket[] = [
      { ...base, remoteAddress: "10.244.2.7", remotePort: 5432 },
      { ...base, localPort: 40001, remoteAddress: "10.96.4.4", remotePort: 5432 },
      { ...base, localPort: 40002, remoteAddress: "203.0.113.9", remotePort: 443 },
      { ...base, localPort: 8080, remoteAddress: "0.0.0.0", remotePort: 0, state: "LISTEN" },
      { ...base, pod: { uid: "unknown-uid" }, remoteAddress: "192.0.2.10", remotePort: 10250 },
    ];
    index.enrichInPlace(sockets);
    expect(sockets[0]?.pod).toEqual({
      uid: "web-7d9-abcde-uid",
      name: "web-7d9-abcde",
      namespace: "shop",
      serviceAccount: "web",
      workload: { kind: "Deployment", name: "web" },
    });
    expect(sockets.map((s) => s.remote)).toEqual([
      { kind: "pod", namespace: "shop", name: "db-0" },
      { kind: "service", namespace: "shop", name: "db" },
      { kind: "external" },
      undefined,
      { kind: "node", name: "node-1" },
    ]);
    expect(sockets[4]?.pod).toEqual({ uid: "unknown-uid" });
  });
});

describe("a reused pod IP", () => {
  const base = { namespace: "shop", labels: {}, hostNetwork: false, ports: [] };
  const old: ClusterPod = {
    ...base,
    uid: "a",
    name: "db-old",
    ips: ["10.244.9.9"],
    createdAt: "2026-11-01T00:00:00.000Z",
  };
  const replacement: ClusterPod = {
    ...base,
    uid: "b",
    name: "db-new",
    ips: ["10.244.9.9"],
    createdAt: "2026-11-23T00:00:00.000Z",
  };
  const empty = { services: [], namespaces: [], endpoints: [], nodes: [], owners: [] };
  const nameAt = (pods: ClusterPod[]) => {
    const p = new ClusterIndex({ ...empty, pods }).peer("10.244.9.9");
    return p?.kind === "pod" ? p.name : undefined;
  };

  it.each([
    ["the newer of two live pods, in either order", [old, replacement], "db-new"],
    ["the newer of two live pods, in either order", [replacement, old], "db-new"],
    [
      "a live pod over a deleted one (tombstone), even an older one",
      [{ ...replacement, gone: true }, old],
      "db-old",
    ],
    [
      "a deleted pod when nobody took the IP (its TIME_WAIT keeps a name)",
      [{ ...old, gone: true }],
      "db-old",
    ],
  ])("%s", (_, pods, expected) => {
    expect(nameAt(pods as ClusterPod[])).toBe(expected);
  });
});
