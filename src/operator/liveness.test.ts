import { describe, expect, it } from "vitest";
import { type LeaseView, NodeLiveness, nodeOfLease } from "./liveness.js";

const T0 = Date.parse("2026-11-24T04:00:00Z");
const MIN = 60_000;
const lease = (node: string, renewAt: number, extra: Partial<LeaseView> = {}): LeaseView => ({
  name: `socklens-agent-${node}`,
  holderIdentity: node,
  renewTime: new Date(renewAt).toISOString(),
  leaseDurationSeconds: 900,
  ...extra,
});

describe("nodeOfLease", () => {
  it.each([
    [{ name: "socklens-agent-n1", holderIdentity: "n1" }, "n1"],
    [{ name: "socklens-agent-n1", holderIdentity: "" }, "n1"], // released: still n1's, expired
    [{ name: "socklens-agent-n1", holderIdentity: "n2" }, undefined], // a Lease claiming another node
    [{ name: "socklens-operator", holderIdentity: "socklens-operator-7d9f" }, undefined], // leader election
    [{ name: "socklens-agent-", holderIdentity: "" }, undefined],
  ])("%j → %s", (l, node) => expect(nodeOfLease(l)).toBe(node));
});

describe("NodeLiveness: a node's observations count while its Lease is live", () => {
  it("a node without a Lease is 'none' (the windowEnd rule applies)", () => {
    expect(new NodeLiveness().state("n1", T0)).toBe("none");
  });

  it("first sight: judged by renewTime, live for one duration from it", () => {
    const l = new NodeLiveness();
    expect(l.observe(lease("n1", T0 - 5 * MIN), T0)).toEqual({ node: "n1", changed: true });
    expect(l.state("n1", T0)).toBe("live");
    expect(l.state("n1", T0 + 10 * MIN - 1)).toBe("live");
    expect(l.state("n1", T0 + 10 * MIN)).toBe("expired");
    expect(l.nextExpiry(T0)).toBe(T0 + 10 * MIN);
  });

  it("first sight of a Lease that ran out long ago (an operator restart): expired at once", () => {
    const l = new NodeLiveness();
    l.observe(lease("gone", T0 - 3 * 24 * 60 * MIN), T0);
    expect(l.state("gone", T0)).toBe("expired");
    expect(l.nextExpiry(T0)).toBeUndefined();
  });

  it("first sight of a renewTime in the future (agent clock ahead): capped at one duration from our first sight", () => {
    const l = new NodeLiveness();
    l.observe(lease("fast", T0 + 60 * MIN), T0);
    expect(l.state("fast", T0 + 15 * MIN - 1)).toBe("live");
    expect(l.state("fast", T0 + 15 * MIN)).toBe("expired");
  });

  it("a renewal we see is live for one duration from when we saw it, whatever renewTime says", () => {
    const l = new NodeLiveness();
    // The agent's clock is an hour behind: first sight looks dead…
    l.observe(lease("slow", T0 - 60 * MIN), T0);
    expect(l.state("slow", T0)).toBe("expired");
    // …its next renewal (renewTime still an hour behind) is seen at T0+5m: live until T0+20m.
    expect(l.observe(lease("slow", T0 - 55 * MIN), T0 + 5 * MIN)).toEqual({ node: "slow", changed: true });
    expect(l.state("slow", T0 + 20 * MIN - 1)).toBe("live");
    expect(l.state("slow", T0 + 20 * MIN)).toBe("expired");
  });

  it("a renewal of a live Lease is no change (nothing to requeue); the same record seen again moves nothing", () => {
    const l = new NodeLiveness();
    l.observe(lease("n1", T0), T0);
    expect(l.observe(lease("n1", T0 + 5 * MIN), T0 + 5 * MIN)).toEqual({ node: "n1", changed: false });
    expect(l.expiresAt("n1", T0 + 5 * MIN)).toBe(T0 + 20 * MIN);
    // A relist replays the same Lease later: not a renewal.
    expect(l.observe(lease("n1", T0 + 5 * MIN), T0 + 12 * MIN)).toEqual({ node: "n1", changed: false });
    expect(l.expiresAt("n1", T0 + 12 * MIN)).toBe(T0 + 20 * MIN);
  });

  it("expires, reports the expiry once, and comes back with the next renewal", () => {
    const l = new NodeLiveness();
    l.observe(lease("n1", T0), T0);
    l.observe(lease("n2", T0 + MIN), T0 + MIN);
    expect(l.expiredBetween(T0, T0 + 14 * MIN)).toEqual([]);
    expect(l.expiredBetween(T0 + 14 * MIN, T0 + 15 * MIN)).toEqual(["n1"]);
    expect(l.expiredBetween(T0 + 15 * MIN, T0 + 16 * MIN)).toEqual(["n2"]);
    expect(l.state("n1", T0 + 16 * MIN)).toBe("expired");
    expect(l.observe(lease("n1", T0 + 16 * MIN), T0 + 16 * MIN)).toEqual({ node: "n1", changed: true });
    expect(l.state("n1", T0 + 16 * MIN)).toBe("live");
  });

  it.each<[string, Partial<LeaseView>]>([
    ["released (no holder)", { holderIdentity: "" }],
    ["no renewTime", { renewTime: undefined }],
    ["an unparseable renewTime", { renewTime: "yesterday" }],
    ["no duration", { leaseDurationSeconds: undefined }],
    ["a zero duration", { leaseDurationSeconds: 0 }],
  ])("a Lease with %s is expired, not live and not 'none'", (_why, extra) => {
    const l = new NodeLiveness();
    l.observe(lease("n1", T0, extra), T0);
    expect(l.state("n1", T0)).toBe("expired");
    expect(l.nextExpiry(T0)).toBeUndefined();
  });

  it("a deleted Lease returns its node to 'none'; other Leases are not a node's", () => {
    const l = new NodeLiveness();
    l.observe(lease("n1", T0), T0);
    expect(l.forget({ name: "socklens-agent-n1", holderIdentity: "n1" })).toBe("n1");
    expect(l.state("n1", T0)).toBe("none");
    expect(l.observe({ name: "socklens-operator", holderIdentity: "op-1", renewTime: "x" }, T0)).toEqual({
      changed: false,
    });
  });
});
