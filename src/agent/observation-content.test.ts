import { describe, expect, it } from "vitest";
import type { ObservationSpec } from "../core/baseline/observation.js";
import { observationContent } from "./agent.js";
import { ObservationPublisher } from "./publish.js";

const spec = (p: Partial<ObservationSpec> = {}): ObservationSpec => ({
  baseline: "web",
  nodeName: "n1",
  windowStart: "2026-11-23T10:00:00Z",
  windowEnd: "2026-11-23T10:00:30Z",
  pods: ["web-0"],
  listeners: [{ port: 8080, protocol: "TCP", address: "0.0.0.0" }],
  egress: [
    {
      address: "10.0.0.7",
      port: 5432,
      protocol: "TCP",
      peer: { podSelector: { matchLabels: { app: "db" } } },
      firstSeen: "2026-11-23T10:00:30Z",
      lastSeen: "2026-11-23T10:00:30Z",
      count: 3,
    },
  ],
  ingress: [],
  tcpStates: { ESTABLISHED: 3 },
  violations: {},
  ...p,
});

describe("observationContent (write on change)", () => {
  it("ignores the window, peer times, socket counts and state counts", () => {
    const later = spec({
      windowStart: "2026-11-23T10:05:00Z",
      windowEnd: "2026-11-23T10:05:30Z",
      tcpStates: { ESTABLISHED: 40, TIME_WAIT: 300 },
      egress: [
        {
          ...(spec().egress[0] as ObservationSpec["egress"][number]),
          count: 40,
          lastSeen: "2026-11-23T10:05:30Z",
          address: "10.0.0.9",
        },
      ],
    });
    // Same identity through another pod IP after a rollout: nothing to write.
    expect(observationContent(later)).toBe(observationContent(spec()));
  });

  it.each<[string, Partial<ObservationSpec>]>([
    ["a finding", { violations: { UnexpectedEgress: 1 } }],
    ["a finding that clears", { violations: {} }],
    ["a new pod", { pods: ["web-0", "web-1"] }],
    ["a new listener", { listeners: [{ port: 9090, protocol: "TCP", address: "0.0.0.0" }] }],
    [
      "a new peer",
      {
        ingress: [
          { address: "10.0.0.8", port: 8080, protocol: "TCP", firstSeen: "x", lastSeen: "x", count: 1 },
        ],
      },
    ],
  ])("notices %s", (_, change) => {
    const base = _ === "a finding that clears" ? spec({ violations: { UnexpectedEgress: 1 } }) : spec();
    expect(observationContent(spec(change))).not.toBe(observationContent(base));
  });
});

describe("ObservationPublisher: heartbeats only while no node Lease is live", () => {
  // A recording sink stands in for the API server here; the cluster suite (node-lease.test.ts)
  // does the same against the real one.
  const recording = () => {
    const writes: string[] = [];
    return {
      writes,
      sink: {
        write: async (_ns: string, s: ObservationSpec) => {
          writes.push(s.windowEnd);
          return true;
        },
      },
    };
  };
  const MIN = 60_000;

  it("with a live Lease an unchanged observation is never re-written; a change is", async () => {
    const { writes, sink } = recording();
    let live = true;
    const p = new ObservationPublisher(sink, () => (live ? Number.POSITIVE_INFINITY : 15 * MIN));
    await p.publish("shop", spec(), 0)?.done;
    for (let t = 1; t <= 24 * 60; t++) expect(p.publish("shop", spec(), t * MIN)).toBeUndefined();
    expect(p.publish("shop", spec({ pods: ["web-0", "web-1"] }), 24 * 60 * MIN + 1)?.reason).toBe("changed");
    // The Lease stops being renewed: the 15-minute heartbeat comes back.
    live = false;
    await Promise.resolve();
    expect(p.publish("shop", spec({ pods: ["web-0", "web-1"] }), 24 * 60 * MIN + 2)).toBeUndefined();
    await new Promise((r) => setImmediate(r));
    expect(p.publish("shop", spec({ pods: ["web-0", "web-1"] }), 24 * 60 * MIN + 15 * MIN + 1)?.reason).toBe(
      "heartbeat",
    );
    expect(writes).toHaveLength(3);
  });

  it("a fixed heartbeat still works as before", async () => {
    const { sink } = recording();
    const p = new ObservationPublisher(sink, 15 * MIN);
    await p.publish("shop", spec(), 0)?.done;
    expect(p.publish("shop", spec(), 15 * MIN - 1)).toBeUndefined();
    expect(p.publish("shop", spec(), 15 * MIN)?.reason).toBe("heartbeat");
  });
});
