import { describe, expect, it } from "vitest";
import { type Burst, BurstScheduler, parseBurstAnnotation } from "./burst.js";

const T = Date.parse("2026-11-24T10:00:00Z");
const pod = (n: number) => ({ uid: `u${n}`, namespace: "shop", name: `web-${n}` });
const finding = (severity: "low" | "medium" | "high") => ({ rule: "Beaconing", severity, message: "…" });
const node = { name: "n1", value: undefined };
const annotated = (...entries: [number, string][]) =>
  new Map(entries.map(([n, value]) => [`u${n}`, { pod: pod(n), value }]));
const here = (...ns: number[]) => new Set(ns.map((n) => `u${n}`));

describe("BurstScheduler", () => {
  it("starts on a new medium or high finding, not a low one, for findingDurationMs", () => {
    const s = new BurstScheduler({ findingDurationMs: 60_000 });
    expect(s.onFinding(pod(1), finding("low"), T)).toBeUndefined();
    const b = s.onFinding(pod(1), finding("medium"), T) as Burst;
    expect(b).toMatchObject({
      trigger: "finding",
      until: T + 60_000,
      reason: "new finding Beaconing (medium): …",
    });
    // Already under burst: another finding does not extend it.
    expect(s.onFinding(pod(1), finding("high"), T + 1000)).toBeUndefined();
    expect(s.expire(T + 59_999, here(1))).toEqual([]);
    expect(s.expire(T + 60_000, here(1))).toMatchObject([{ why: "elapsed", burst: { id: b.id } }]);
    expect(s.active()).toEqual([]);
  });

  it("keeps a pod's finding-triggered bursts a cooldown apart", () => {
    const s = new BurstScheduler({ findingDurationMs: 1000, cooldownMs: 10_000 });
    s.onFinding(pod(1), finding("medium"), T);
    s.expire(T + 1000, here(1));
    expect(s.onFinding(pod(1), finding("medium"), T + 5000)).toBeUndefined();
    expect(s.onFinding(pod(1), finding("medium"), T + 11_000)).toHaveProperty("id");
  });

  it("refuses beyond the cap, saying why", () => {
    const s = new BurstScheduler({ maxConcurrent: 2 });
    s.onFinding(pod(1), finding("medium"), T);
    s.onFinding(pod(2), finding("medium"), T);
    expect(s.onFinding(pod(3), finding("medium"), T)).toEqual({
      target: { kind: "Pod", pod: pod(3) },
      reason: "2 bursts already run on this node (the cap is 2)",
    });
    expect(new BurstScheduler({ maxConcurrent: 0 }).onFinding(pod(1), finding("high"), T)).toBeUndefined();
  });

  it("runs one burst per annotation value, ends it when the annotation goes, restarts when it comes back", () => {
    const s = new BurstScheduler();
    const r1 = s.onAnnotations(annotated([1, "5m"]), node, T);
    expect(r1.started).toMatchObject([{ trigger: "annotation", until: T + 300_000, annotation: "5m" }]);
    expect(r1.started[0]?.reason).toBe('annotation socklens.io/burst="5m"');
    expect(s.onAnnotations(annotated([1, "5m"]), node, T + 1000).started).toEqual([]);
    s.expire(T + 300_000, here(1));
    // Still annotated with the same value after it ran: no second burst.
    expect(s.onAnnotations(annotated([1, "5m"]), node, T + 301_000).started).toEqual([]);
    // Another value is another request.
    expect(s.onAnnotations(annotated([1, "2m"]), node, T + 302_000).started).toHaveLength(1);
    // Removed: the burst ends; set again: a new burst.
    expect(s.onAnnotations(annotated(), node, T + 303_000).ended).toMatchObject([
      { why: "annotation removed" },
    ]);
    expect(s.onAnnotations(annotated([1, "2m"]), node, T + 304_000).started).toHaveLength(1);
  });

  it("clamps long annotations, reports unusable ones once, and ends bursts of pods that left", () => {
    const s = new BurstScheduler({ maxDurationMs: 3_600_000 });
    const r = s.onAnnotations(annotated([1, "48h"], [2, "soon"]), node, T);
    expect(r.started).toMatchObject([
      { until: T + 3_600_000, reason: 'annotation socklens.io/burst="48h" (capped at 60m)' },
    ]);
    expect(r.invalid).toEqual([
      {
        target: { kind: "Pod", pod: pod(2) },
        problem: 'socklens.io/burst: "soon" is not a positive duration such as 5m',
      },
    ]);
    expect(s.onAnnotations(annotated([1, "48h"], [2, "soon"]), node, T + 1).invalid).toEqual([]);
    expect(s.expire(T + 2, here())).toMatchObject([{ why: "pod gone" }]);
  });

  it("a node annotation bursts the whole node; pods then need no bursts of their own", () => {
    const s = new BurstScheduler();
    const r = s.onAnnotations(new Map(), { name: "n1", value: "1m" }, T);
    expect(r.started).toMatchObject([{ target: { kind: "Node", name: "n1" } }]);
    expect(s.nodeWide).toBe(true);
    expect(s.onFinding(pod(1), finding("high"), T)).toBeUndefined();
  });

  it.each([
    ["5m", 300_000],
    [" 30s ", 30_000],
    ["1h30m", 5_400_000],
  ])("parses the annotation %j", (text, ms) => {
    expect(parseBurstAnnotation(text, 86_400_000)).toEqual({ ms, clamped: false });
  });
  it.each(["", "0s", "-5m", "5", "five minutes", "\u001b[31m5m"])("rejects the annotation %j", (text) => {
    expect(parseBurstAnnotation(text, 86_400_000)).toHaveProperty("problem");
  });
});
