import { describe, expect, it } from "vitest";
import { ParseCache } from "./parsed.js";
import { desiredStatus } from "./status.js";

const valid = { podSelector: { matchLabels: { app: "web" } }, mode: "Alert" };
const invalid = {
  podSelector: {},
  egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["192.168.0.0/16"] } }] }],
};
const nbl = (
  spec: Record<string, unknown>,
  generation: number | undefined,
  extra: Record<string, unknown> = {},
) => ({
  apiVersion: "socklens.io/v1alpha1",
  kind: "NetworkBaseline",
  metadata: {
    name: "web",
    namespace: "shop",
    uid: "u1",
    ...(generation === undefined ? {} : { generation }),
    resourceVersion: "7",
  },
  spec,
  ...extra,
});
const NOW = new Date("2026-11-24T05:00:00Z");

describe("ParseCache", () => {
  it("parses a generation once: a second reconcile of the same spec is a hit", () => {
    const c = new ParseCache();
    const first = c.get(nbl(valid, 1));
    const again = c.get(nbl(valid, 1));
    expect(first.ok).toBe(true);
    expect(again).toBe(first);
    expect(c.stats).toEqual({ parsed: 1, hits: 1 });
  });

  it("re-parses when the generation changes, and sees what the new spec says", () => {
    const c = new ParseCache();
    expect(c.get(nbl(valid, 1)).ok).toBe(true);
    const next = c.get(nbl(invalid, 2));
    expect(next.ok).toBe(false);
    expect(c.stats).toEqual({ parsed: 2, hits: 0 });
    // and back to a valid spec at generation 3
    expect(c.get(nbl(valid, 3)).ok).toBe(true);
  });

  it("re-parses a baseline deleted and created again (same generation, new uid)", () => {
    const c = new ParseCache();
    c.get(nbl(invalid, 1));
    const recreated = nbl(valid, 1);
    recreated.metadata.uid = "u2";
    expect(c.get(recreated).ok).toBe(true);
    expect(c.stats.parsed).toBe(2);
  });

  it("an invalid spec stays reported, with its problem, on every later reconcile of that generation", () => {
    const c = new ParseCache();
    const problems = [1, 2, 3].map(() => {
      const p = c.get(nbl(invalid, 4));
      return p.ok ? "ok" : p.problem;
    });
    expect(problems).toEqual(Array(3).fill(problems[0]));
    expect(problems[0]).toMatch(/^spec\.egress\[0\]\.to\[0\]\.ipBlock\.except\[0\]: /);
    expect(c.stats).toEqual({ parsed: 1, hits: 2 });
    // and the status computed from the cached parse says so each time
    const status = desiredStatus({
      raw: nbl(invalid, 4),
      parsed: c.get(nbl(invalid, 4)),
      pods: [],
      observations: [],
      now: NOW,
    });
    expect(status.conditions.find((x) => x.type === "Ready")).toMatchObject({
      status: "False",
      reason: "InvalidSpec",
      observedGeneration: 4,
    });
  });

  it("judges the spec, not the status: a status write does not change the verdict", () => {
    const c = new ParseCache();
    const before = c.get(nbl(valid, 1));
    // An object whose status the schema would refuse, at the same generation: same verdict,
    // whether or not the cache had seen the generation before.
    const odd = nbl(valid, 1, { status: { matchedPods: "many" } });
    expect(c.get(odd)).toBe(before);
    expect(new ParseCache().get(odd).ok).toBe(true);
  });

  it("without a generation keys on resourceVersion; without either parses every time", () => {
    const c = new ParseCache();
    c.get(nbl(valid, undefined));
    c.get(nbl(valid, undefined));
    expect(c.stats).toEqual({ parsed: 1, hits: 1 });
    const bare = { ...nbl(valid, undefined), metadata: { name: "web", namespace: "shop" } };
    c.get(bare);
    c.get(bare);
    expect(c.stats.parsed).toBe(3);
  });

  it("forgets a deleted baseline", () => {
    const c = new ParseCache();
    c.get(nbl(valid, 1));
    expect(c.size).toBe(1);
    c.delete("shop/web");
    expect(c.size).toBe(0);
    c.get(nbl(valid, 1));
    expect(c.stats.parsed).toBe(2);
  });
});
