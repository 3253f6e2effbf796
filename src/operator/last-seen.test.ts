import { describe, expect, it } from "vitest";
import { holdLastSeen } from "./last-seen.js";
import type { BaselineStatus } from "./status.js";

const H = 60 * 60_000;
const T0 = Date.parse("2026-11-24T04:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();
const peer = (address: string, lastSeen: number) => ({
  address,
  port: 5432,
  protocol: "TCP" as const,
  firstSeen: iso(T0 - 24 * H),
  lastSeen: iso(lastSeen),
});
const status = (egress: ReturnType<typeof peer>[]): BaselineStatus => ({
  conditions: [],
  matchedPods: 1,
  violations: { total: 0, byRule: {} },
  learned: { listeners: [], egress, ingress: [] },
});

describe("holdLastSeen: learned lastSeen moves at most hourly", () => {
  it("a move of less than an hour is held, and the controller is told when it turns an hour", () => {
    const r = holdLastSeen(status([peer("10.0.0.1", T0 + 10 * 60_000)]), status([peer("10.0.0.1", T0)]));
    expect(r.status.learned?.egress[0]?.lastSeen).toBe(iso(T0));
    expect(r.wakeAt).toBe(T0 + H);
  });

  it("a move of an hour or more is written as it is", () => {
    const r = holdLastSeen(status([peer("10.0.0.1", T0 + H)]), status([peer("10.0.0.1", T0)]));
    expect(r.status.learned?.egress[0]?.lastSeen).toBe(iso(T0 + H));
    expect(r.wakeAt).toBeUndefined();
  });

  it("new peers, no previous status, or a lastSeen going back are not held", () => {
    const desired = status([peer("10.0.0.1", T0 + 60_000), peer("10.0.0.2", T0 + 60_000)]);
    const r = holdLastSeen(desired, status([peer("10.0.0.1", T0)]));
    expect(r.status.learned?.egress.map((p) => p.lastSeen)).toEqual([iso(T0), iso(T0 + 60_000)]);
    expect(holdLastSeen(desired, undefined).status).toBe(desired);
    const back = holdLastSeen(status([peer("10.0.0.1", T0 - H)]), status([peer("10.0.0.1", T0)]));
    expect(back.status.learned?.egress[0]?.lastSeen).toBe(iso(T0 - H));
  });

  it("the earliest held value decides when to look again", () => {
    const r = holdLastSeen(
      status([peer("10.0.0.1", T0 + 30 * 60_000), peer("10.0.0.2", T0 + 30 * 60_000)]),
      status([peer("10.0.0.1", T0 - 10 * 60_000), peer("10.0.0.2", T0)]),
    );
    expect(r.wakeAt).toBe(T0 + H - 10 * 60_000);
  });
});
