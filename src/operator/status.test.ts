import { describe, expect, it } from "vitest";
import { desiredStatus, sameStatus } from "./status.js";

const nbl = (spec: Record<string, unknown>, generation = 3) => ({
  apiVersion: "socklens.io/v1alpha1",
  kind: "NetworkBaseline",
  metadata: { name: "web", namespace: "shop", generation },
  spec: { podSelector: { matchLabels: { app: "web" } }, ...spec },
});
const T0 = new Date("2026-11-23T10:00:00Z");
const T1 = new Date("2026-11-23T10:05:00Z");
const pods = [{ labels: { app: "web" } }, { labels: { app: "web" } }, { labels: { app: "db" } }];

describe("desiredStatus", () => {
  it("Ready=True, Learning=False, Violating from the observations, matched pods counted", () => {
    const s = desiredStatus({
      raw: nbl({ mode: "Alert" }),
      pods,
      observations: [
        { nodeName: "n1", windowEnd: "2026-11-23T09:59:30.000Z", violations: { UnexpectedEgress: 2 } },
        {
          nodeName: "n2",
          windowEnd: "2026-11-23T09:59:40.000Z",
          violations: { UnexpectedEgress: 1, UnexpectedListener: 1 },
        },
        { nodeName: "n3", windowEnd: "2026-11-23T09:59:50.000Z", violations: {} },
      ],
      now: T0,
    });
    expect(s).toMatchObject({
      observedGeneration: 3,
      matchedPods: 2,
      violations: {
        total: 4,
        lastTime: "2026-11-23T09:59:40.000Z",
        byRule: { UnexpectedEgress: 3, UnexpectedListener: 1 },
      },
    });
    expect(s.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ["Learning", "False", "AlertMode"],
      ["Ready", "True", "Compiled"],
      ["Violating", "True", "ViolationsReported"],
    ]);
    expect(s.conditions.find((c) => c.type === "Violating")?.message).toBe(
      "4 active violation(s) on node(s) n1, n2",
    );
    expect(
      s.conditions.every(
        (c) => c.observedGeneration === 3 && c.lastTransitionTime === "2026-11-23T10:00:00Z",
      ),
    ).toBe(true);
  });

  it("Ready=False with the field and what is wrong, for a spec the CRD schema let through", () => {
    const s = desiredStatus({
      raw: nbl({ egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["192.168.0.0/16"] } }] }] }),
      pods,
      observations: [],
      now: T0,
    });
    const ready = s.conditions.find((c) => c.type === "Ready");
    expect(ready).toMatchObject({ status: "False", reason: "InvalidSpec" });
    expect(ready?.message).toBe(
      "spec is invalid and is not evaluated: spec.egress[0].to[0].ipBlock.except[0]: 192.168.0.0/16 is not inside 10.0.0.0/8; except entries must be sub-ranges of cidr",
    );
    expect(s.matchedPods).toBe(0);
    expect(s.conditions.find((c) => c.type === "Violating")).toMatchObject({
      status: "Unknown",
      reason: "NoObservations",
    });
  });

  // Objects stored before the CRD checked these (or written where it could not): the operator
  // says what is wrong instead of Ready=True on a baseline that misbehaves.
  it.each([
    [
      "an expiry on a day that does not exist",
      { exceptions: [{ rule: "UnexpectedEgress", reason: "x", expires: "2026-02-30T00:00:00Z" }] },
      "spec.exceptions[0].expires: 2026-02-30 is not a date: February 2026 has 28 days; expected an RFC 3339 time such as 2026-12-31T00:00:00Z (a date, T, a time with seconds, then Z or an offset such as +02:00)",
    ],
    [
      'an expiry of "0"',
      { exceptions: [{ rule: "UnexpectedEgress", reason: "x", expires: "0" }] },
      "spec.exceptions[0].expires: expected an RFC 3339 time such as 2026-12-31T00:00:00Z (a date, T, a time with seconds, then Z or an offset such as +02:00)",
    ],
    [
      "a learning duration of 10^20 days",
      { mode: "Learn", learning: { duration: "99999999999999999999d" } },
      "spec.learning.duration: 99999999999999999999d is longer than 365d; expected a duration of at most 365d",
    ],
    [
      "a CIDR with host bits set",
      { egress: [{ to: [{ ipBlock: { cidr: "10.1.2.3/8" } }] }] },
      "spec.egress[0].to[0].ipBlock.cidr: 10.1.2.3/8 has host bits set: /8 selects the network 10.0.0.0/8; write 10.0.0.0/8, or 10.1.2.3/32 for the one address",
    ],
  ])("Ready=False for %s, naming the field and what is valid", (_n, spec, message) => {
    const s = desiredStatus({ raw: nbl(spec), pods, observations: [], now: T0 });
    const ready = s.conditions.find((c) => c.type === "Ready");
    expect(ready).toMatchObject({ status: "False", reason: "InvalidSpec" });
    expect(ready?.message).toBe(`spec is invalid and is not evaluated: ${message}`);
  });

  it("keeps lastTransitionTime while a condition holds, moves it when it flips, and keeps the last violation time", () => {
    const first = desiredStatus({
      raw: nbl({}),
      pods,
      observations: [
        { nodeName: "n1", windowEnd: "2026-11-23T09:59:00.000Z", violations: { UnexpectedEgress: 1 } },
      ],
      now: T0,
    });
    const same = desiredStatus({
      raw: nbl({}),
      pods,
      observations: [
        { nodeName: "n1", windowEnd: "2026-11-23T09:59:00.000Z", violations: { UnexpectedEgress: 1 } },
      ],
      previous: first,
      now: T1,
    });
    expect(sameStatus(same, first)).toBe(true);
    const cleared = desiredStatus({
      raw: nbl({}),
      pods,
      observations: [{ nodeName: "n1", windowEnd: "2026-11-23T10:04:00.000Z", violations: {} }],
      previous: first,
      now: T1,
    });
    expect(cleared.conditions.find((c) => c.type === "Violating")).toMatchObject({
      status: "False",
      lastTransitionTime: "2026-11-23T10:05:00Z",
    });
    expect(cleared.conditions.find((c) => c.type === "Ready")?.lastTransitionTime).toBe(
      "2026-11-23T10:00:00Z",
    );
    expect(cleared.violations).toEqual({ total: 0, byRule: {}, lastTime: "2026-11-23T09:59:00.000Z" });
  });

  it("Learning=True in Learn mode", () => {
    const s = desiredStatus({ raw: nbl({ mode: "Learn" }), pods, observations: [], now: T0 });
    expect(s.conditions.find((c) => c.type === "Learning")).toMatchObject({
      status: "True",
      reason: "LearningMode",
    });
  });

  it("learns in Learn mode: union over scans and nodes, first and last seen kept", () => {
    const raw = {
      ...nbl({ mode: "Learn", learning: { duration: "1h" } }),
      metadata: { name: "web", namespace: "shop", generation: 1, creationTimestamp: "2026-11-23T09:30:00Z" },
    };
    const first = desiredStatus({
      raw,
      pods,
      observations: [
        {
          nodeName: "n1",
          windowEnd: "t",
          violations: {},
          listeners: [{ port: 8080, protocol: "TCP", address: "0.0.0.0", process: "web" }],
          egress: [
            {
              address: "10.0.0.7",
              port: 5432,
              protocol: "TCP",
              firstSeen: "2026-11-23T09:40:00Z",
              lastSeen: "2026-11-23T09:40:00Z",
            },
          ],
        },
        {
          nodeName: "n2",
          windowEnd: "t",
          violations: {},
          listeners: [{ port: 8080, protocol: "TCP", address: "x.x.x.x" }],
          ingress: [{ address: "10.0.0.9", port: 8080, protocol: "TCP" }],
        },
      ],
      now: T0,
    });
    expect(first.learned).toEqual({
      listeners: [
        { port: 8080, protocol: "TCP", address: "0.0.0.0", process: "web" },
        { port: 8080, protocol: "TCP" },
      ],
      egress: [
        {
          address: "10.0.0.7",
          port: 5432,
          protocol: "TCP",
          firstSeen: "2026-11-23T09:40:00Z",
          lastSeen: "2026-11-23T09:40:00Z",
        },
      ],
      ingress: [{ address: "10.0.0.9", port: 8080, protocol: "TCP" }],
    });
    expect(first.conditions.find((c) => c.type === "Learning")).toMatchObject({
      status: "True",
      reason: "LearningMode",
      message:
        "mode Learn: recording, no violations are raised; 2 listener(s), 1 egress and 1 ingress peer(s) so far",
    });
    const later = desiredStatus({
      raw,
      pods,
      observations: [
        {
          nodeName: "n1",
          windowEnd: "t",
          violations: {},
          egress: [
            {
              address: "10.0.0.7",
              port: 5432,
              protocol: "TCP",
              firstSeen: "2026-11-23T10:30:00Z",
              lastSeen: "2026-11-23T10:30:00Z",
            },
          ],
        },
      ],
      previous: first,
      now: new Date("2026-11-23T10:30:00Z"),
    });
    expect(later.learned?.egress).toEqual([
      {
        address: "10.0.0.7",
        port: 5432,
        protocol: "TCP",
        firstSeen: "2026-11-23T09:40:00Z",
        lastSeen: "2026-11-23T10:30:00Z",
      },
    ]);
    expect(later.learned?.listeners).toHaveLength(2);
    expect(later.conditions.find((c) => c.type === "Learning")).toMatchObject({
      status: "False",
      reason: "LearningComplete",
    });
    expect(later.conditions.find((c) => c.type === "Learning")?.message).toContain(
      "review with `socklens baseline export shop/web`",
    );
  });
});

describe("desiredStatus: acknowledged patterns", () => {
  const exceptions = [
    {
      rule: "Beaconing",
      address: "198.51.100.7",
      port: 443,
      reason: "vendor",
      expires: "2026-11-23T10:03:00Z",
      by: "alice",
    },
    { rule: "NetworkDiscoveryTool", process: "ss", reason: "INC-42", verdict: "Confirmed" },
  ];

  it("reports each exception with its state, and an expired one once its time has passed", () => {
    const before = desiredStatus({ raw: nbl({ exceptions }), pods, observations: [], now: T0 });
    expect(before.acknowledged).toEqual({
      active: 1,
      expired: 0,
      confirmed: 1,
      patterns: [
        {
          pattern: "Beaconing/198.51.100.7/443/*",
          verdict: "Benign",
          state: "Active",
          reason: "vendor",
          by: "alice",
          expires: "2026-11-23T10:03:00Z",
        },
        { pattern: "NetworkDiscoveryTool/*/*/ss", verdict: "Confirmed", state: "Active", reason: "INC-42" },
      ],
    });
    const after = desiredStatus({
      raw: nbl({ exceptions }),
      pods,
      observations: [],
      now: T1,
      previous: before,
    });
    expect(after.acknowledged).toMatchObject({ active: 0, expired: 1, confirmed: 1 });
    expect(sameStatus(before, after)).toBe(false);
  });

  it("is absent without exceptions and for an invalid spec", () => {
    expect(desiredStatus({ raw: nbl({}), pods, observations: [], now: T0 }).acknowledged).toBeUndefined();
    const invalid = nbl({
      exceptions: [{ rule: "Beaconing", reason: "r", expires: "2026-02-30T00:00:00Z" }],
    });
    expect(desiredStatus({ raw: invalid, pods, observations: [], now: T0 }).acknowledged).toBeUndefined();
  });
});
