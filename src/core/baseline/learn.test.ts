import { describe, expect, it } from "vitest";
import { NetworkBaseline } from "../../api/v1alpha1/networkbaseline.js";
import type { Socket } from "../socket.js";
import { compileBaseline } from "./compile.js";
import { evaluate } from "./evaluate.js";
import { Learner } from "./learn.js";
import type { IdentityResolver, PeerInfo } from "./types.js";

const POD_IP = "10.244.1.5";
const sock = (p: Partial<Socket>): Socket => ({
  protocol: "tcp",
  family: "inet",
  localAddress: POD_IP,
  localPort: 0,
  remoteAddress: "0.0.0.0",
  remotePort: 0,
  state: "ESTABLISHED",
  inode: 1,
  netns: 7,
  pid: 10,
  process: "api",
  ...p,
});
const to = (ip: string, port: number, localPort = 40000) =>
  sock({ localPort, remoteAddress: ip, remotePort: port });

/** A cluster where pod IPs belong to workloads; `pods` changes as a rollout would change it. */
function clusterWith(pods: Record<string, PeerInfo>): IdentityResolver {
  return {
    isHost: (a) => a === "192.168.0.10" || a.startsWith("127."),
    isCluster: (a) => a.startsWith("10."),
    isApiServer: (a) => a === "10.96.0.1" || a === "192.168.0.2",
    peer: (a) =>
      pods[a] ??
      (a === "10.96.0.20" ? { kind: "service", namespace: "shop", name: "db" } : undefined) ??
      (a === "192.168.0.11" ? { kind: "node", name: "n2" } : undefined),
    serviceBackends: (ns, name) =>
      ns === "shop" && name === "db" ? { addresses: Object.keys(pods) } : undefined,
  };
}
const dbPod = (name: string): PeerInfo => ({
  kind: "pod",
  namespace: "shop",
  name,
  labels: { app: "db", "pod-template-hash": "7f9c" },
  selector: { app: "db" },
  workload: { kind: "Deployment", name: "db" },
});
const cachePod: PeerInfo = {
  kind: "pod",
  namespace: "infra",
  name: "cache-0",
  labels: { app: "cache" },
  selector: { app: "cache" },
  workload: { kind: "StatefulSet", name: "cache" },
};

describe("identity-aware learning", () => {
  const before = clusterWith({
    "10.244.2.7": dbPod("db-7f9c-a"),
    "10.244.2.8": dbPod("db-7f9c-b"),
    "10.244.3.3": cachePod,
  });
  const learner = new Learner();
  learner.observe(
    [
      to("10.244.2.7", 5432, 40001),
      to("10.244.2.8", 5432, 40002),
      to("10.244.3.3", 6379, 40003),
      to("10.96.0.20", 5432, 40004),
      to("10.96.0.1", 443, 40005),
      to("192.168.0.11", 10250, 40006),
      to("203.0.113.5", 443, 40007),
    ],
    before,
  );
  const learned = learner.baseline({ name: "api", namespace: "shop", podSelector: { app: "api" } });

  it("writes workloads as selectors, Services, entities, and only unknown peers as addresses", () => {
    expect(learned.spec.egress).toEqual([
      { to: [{ entity: "kube-apiserver" }], ports: [{ port: 443, protocol: "TCP" }] },
      { to: [{ entity: "remote-node" }], ports: [{ port: 10250, protocol: "TCP" }] },
      { to: [{ ipBlock: { cidr: "203.0.113.5/32" } }], ports: [{ port: 443, protocol: "TCP" }] },
      {
        to: [
          {
            podSelector: { matchLabels: { app: "cache" } },
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "infra" } },
          },
        ],
        ports: [{ port: 6379, protocol: "TCP" }],
      },
      // Two db pods, one rule: the workload, with the union of ports.
      { to: [{ podSelector: { matchLabels: { app: "db" } } }], ports: [{ port: 5432, protocol: "TCP" }] },
      { to: [{ service: { name: "db" } }], ports: [{ port: 5432, protocol: "TCP" }] },
    ]);
    expect(learned.spec.thresholds?.tcpStates).toEqual({ CLOSE_WAIT: 20, SYN_SENT: 20 });
  });

  it("survives a rollout of the peer: new pods, new IPs, no finding", () => {
    const b = compileBaseline(NetworkBaseline.parse(learned));
    const after = clusterWith({
      "10.244.9.1": dbPod("db-5c4d-x"),
      "10.244.9.2": dbPod("db-5c4d-y"),
      "10.244.3.3": cachePod,
    });
    const r = evaluate(
      b,
      { scope: "pod shop/api-1", sockets: [to("10.244.9.1", 5432), to("10.244.9.2", 5432, 40010)] },
      after,
    );
    expect(r.findings).toEqual([]);
  });

  it("still flags a workload it never talked to, naming it", () => {
    const b = compileBaseline(NetworkBaseline.parse(learned));
    const other: PeerInfo = {
      kind: "pod",
      namespace: "shop",
      name: "mail-1",
      labels: { app: "mail" },
      selector: { app: "mail" },
      workload: { kind: "Deployment", name: "mail" },
    };
    const r = evaluate(
      b,
      { scope: "pod shop/api-1", sockets: [to("10.244.9.9", 25)] },
      clusterWith({ "10.244.9.9": other }),
    );
    expect(r.findings.map((f) => f.rule)).toEqual(["UnexpectedEgress"]);
    expect(r.findings[0]?.message).toContain("(pod shop/mail-1 of deployment mail)");
  });

  it("without cluster knowledge, learns addresses as before", () => {
    const l = new Learner();
    l.observe([to("10.244.2.7", 5432)]);
    expect(l.baseline({ name: "x", namespace: "default" }).spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: "10.244.2.7/32" } }], ports: [{ port: 5432, protocol: "TCP" }] },
    ]);
  });

  it("never learns an ephemeral UDP client socket as a listener", () => {
    const l = new Learner();
    const resolverQuery = (port: number) =>
      sock({ protocol: "udp", localAddress: "0.0.0.0", localPort: port, state: "UNCONN" });
    l.observe([resolverQuery(48829), resolverQuery(53)], undefined, { ephemeralPorts: [32768, 60999] });
    expect(l.baseline({ name: "x", namespace: "default" }).spec.listeners).toEqual([
      { port: 53, protocol: "UDP", address: "0.0.0.0", process: "api" },
    ]);
  });
});
