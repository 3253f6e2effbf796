import { describe, expect, it } from "vitest";
import { slimBaseline, slimObservation, slimPod } from "./slim.js";
import { desiredStatus } from "./status.js";

const observation = {
  apiVersion: "socklens.io/v1alpha1",
  kind: "NetworkObservation",
  metadata: {
    name: "web.n1",
    namespace: "shop",
    uid: "u1",
    resourceVersion: "42",
    labels: { "socklens.io/baseline": "web" },
    managedFields: [{ manager: "socklens-agent", operation: "Apply", fieldsV1: { "f:spec": {} } }],
  },
  spec: {
    baseline: "web",
    nodeName: "n1",
    windowStart: "2026-11-24T01:00:00Z",
    windowEnd: "2026-11-24T01:00:30Z",
    pods: ["web-0"],
    listeners: [{ port: 8080, protocol: "TCP", address: "0.0.0.0" }],
    egress: [
      {
        address: "10.96.0.7",
        port: 5432,
        protocol: "TCP",
        peer: { service: { name: "db", namespace: "shop" } },
        firstSeen: "2026-11-24T01:00:30Z",
        lastSeen: "2026-11-24T01:00:30Z",
        count: 3,
      },
    ],
    ingress: [],
    tcpStates: { ESTABLISHED: 3 },
    violations: { UnexpectedEgress: 1 },
  },
};

describe("what the operator's caches keep", () => {
  it("a pod: name, namespace, uid, resourceVersion and labels only", () => {
    const pod = {
      metadata: {
        name: "web-0",
        namespace: "shop",
        uid: "p1",
        resourceVersion: "7",
        labels: { app: "web" },
        annotations: { a: "b" },
        managedFields: [{}],
      },
      spec: { containers: [{ name: "c", image: "x" }] },
      status: { phase: "Running" },
    };
    expect(slimPod(pod as never)).toEqual({
      metadata: { name: "web-0", namespace: "shop", uid: "p1", resourceVersion: "7", labels: { app: "web" } },
    });
  });

  it("an observation: what status.ts reads, without managedFields, pods, TCP states or counts", () => {
    const slim = slimObservation(observation as never) as unknown as { metadata: object; spec: object };
    expect(slim.metadata).toEqual({ name: "web.n1", namespace: "shop", uid: "u1", resourceVersion: "42" });
    expect(slim.spec).toEqual({
      baseline: "web",
      nodeName: "n1",
      windowEnd: "2026-11-24T01:00:30Z",
      violations: { UnexpectedEgress: 1 },
      listeners: observation.spec.listeners,
      egress: [
        {
          address: "10.96.0.7",
          port: 5432,
          protocol: "TCP",
          peer: { service: { name: "db", namespace: "shop" } },
          firstSeen: "2026-11-24T01:00:30Z",
          lastSeen: "2026-11-24T01:00:30Z",
        },
      ],
      ingress: [],
    });
  });

  it("a Learn baseline's status is the same from a slim observation as from the whole one", () => {
    const baseline = {
      apiVersion: "socklens.io/v1alpha1",
      kind: "NetworkBaseline",
      metadata: { name: "web", namespace: "shop", generation: 1, creationTimestamp: "2026-11-24T00:00:00Z" },
      spec: { podSelector: { matchLabels: { app: "web" } }, mode: "Learn", learning: { duration: "24h" } },
    };
    const now = new Date("2026-11-24T02:00:00Z");
    const status = (o: { spec: unknown }) =>
      desiredStatus({ raw: baseline, pods: [], observations: [o.spec as never], now });
    expect(status(slimObservation(observation as never) as never)).toEqual(status(observation));
  });

  it("a baseline: everything but managedFields", () => {
    const b = {
      metadata: { name: "web", namespace: "shop", managedFields: [{}], generation: 2 },
      spec: {},
      status: {},
    };
    expect(slimBaseline(b as never)).toEqual({
      metadata: { name: "web", namespace: "shop", generation: 2 },
      spec: {},
      status: {},
    });
  });
});
