import { describe, expect, it } from "vitest";
import type { Finding } from "../core/baseline/types.js";
import {
  findingLogAttributes,
  findingMetricAttributes,
  podAttributes,
  stateAttributes,
} from "./attributes.js";

const base: Finding = {
  rule: "UnexpectedIngress",
  severity: "medium",
  message: "m",
  baseline: "shop/web",
  scope: "pod shop/web-0",
  count: 1,
};
const pod = { namespace: "shop", name: "web-0", workload: { kind: "Deployment", name: "web" } };

describe("finding attributes", () => {
  it("an inbound connection: network.peer.port is the client's port, server.port ours", () => {
    const a = findingLogAttributes(
      {
        ...base,
        peer: { direction: "ingress", address: "10.0.0.9", port: 8080, protocol: "TCP" },
        socket: {
          protocol: "tcp",
          localAddress: "10.0.0.1",
          localPort: 8080,
          remoteAddress: "10.0.0.9",
          remotePort: 51512,
          state: "ESTABLISHED",
          pid: 42,
          process: "web",
          netns: 1,
        },
      },
      pod,
    );
    expect(a).toMatchObject({
      "network.peer.address": "10.0.0.9",
      "network.peer.port": 51512,
      "server.port": 8080,
      "socklens.connection.direction": "ingress",
      "network.connection.state": "established",
      "network.transport": "tcp",
      "process.pid": 42,
      "socklens.process.comm": "web",
    });
    expect(a).not.toHaveProperty("network.io.direction");
    expect(a).not.toHaveProperty("process.executable.name");
  });

  it("an outbound connection: peer and server port are the remote port", () => {
    const a = findingLogAttributes(
      {
        ...base,
        rule: "UnexpectedEgress",
        peer: { direction: "egress", address: "10.0.0.2", port: 5432, protocol: "TCP" },
        socket: {
          protocol: "tcp",
          localAddress: "10.0.0.1",
          localPort: 40000,
          remoteAddress: "10.0.0.2",
          remotePort: 5432,
          state: "SYN_SENT",
          netns: 1,
        },
      },
      pod,
    );
    expect(a).toMatchObject({
      "network.peer.port": 5432,
      "server.port": 5432,
      "socklens.connection.direction": "egress",
      "network.connection.state": "syn_sent",
    });
  });

  it("a listener has a server.port and no peer", () => {
    const a = findingLogAttributes(
      {
        ...base,
        rule: "UnexpectedListener",
        socket: {
          protocol: "udp",
          localAddress: "0.0.0.0",
          localPort: 53,
          remoteAddress: "0.0.0.0",
          remotePort: 0,
          state: "UNCONN",
          netns: 1,
        },
      },
      pod,
    );
    expect(a).toMatchObject({
      "server.port": 53,
      "network.transport": "udp",
      "socklens.socket.state": "UNCONN",
    });
    expect(a).not.toHaveProperty("network.peer.port");
  });

  it("metric attributes are bounded: the pod, its workload, rule, baseline, severity", () => {
    expect(findingMetricAttributes(base, pod)).toEqual({
      "k8s.namespace.name": "shop",
      "k8s.pod.name": "web-0",
      "k8s.deployment.name": "web",
      "socklens.workload.kind": "Deployment",
      "socklens.workload.name": "web",
      "socklens.rule": "UnexpectedIngress",
      "socklens.baseline": "shop/web",
      "socklens.severity": "medium",
    });
  });
});

describe("workload and state attributes", () => {
  it.each([
    ["Deployment", "k8s.deployment.name"],
    ["StatefulSet", "k8s.statefulset.name"],
    ["DaemonSet", "k8s.daemonset.name"],
    ["Job", "k8s.job.name"],
    ["CronJob", "k8s.cronjob.name"],
    ["ReplicaSet", "k8s.replicaset.name"],
  ])("%s → %s", (kind, key) => {
    expect(podAttributes({ namespace: "n", name: "p", workload: { kind, name: "w" } })[key]).toBe("w");
  });

  it("a kind with no convention (an Argo Rollout) only gets socklens.workload.*, never k8s.workload.name", () => {
    const a = podAttributes({ namespace: "n", name: "p", workload: { kind: "Rollout", name: "w" } });
    expect(a).toEqual({
      "k8s.namespace.name": "n",
      "k8s.pod.name": "p",
      "socklens.workload.kind": "Rollout",
      "socklens.workload.name": "w",
    });
  });

  it.each([
    ["tcp", "ESTABLISHED", { "network.connection.state": "established" }],
    ["tcp", "SYN_RECV", { "network.connection.state": "syn_received" }],
    ["tcp", "FIN_WAIT1", { "network.connection.state": "fin_wait_1" }],
    ["tcp", "CLOSE", { "network.connection.state": "closed" }],
    ["tcp", "CLOSE_WAIT", { "network.connection.state": "close_wait" }],
    ["tcp", "UNKNOWN_0F", { "socklens.socket.state": "UNKNOWN_0F" }],
    ["udp", "ESTABLISHED", { "socklens.socket.state": "ESTABLISHED" }],
    ["unix", "LISTEN", { "socklens.socket.state": "LISTEN" }],
  ])("%s %s → %j", (transport, state, want) => {
    expect(stateAttributes(transport, state)).toEqual(want);
  });
});
