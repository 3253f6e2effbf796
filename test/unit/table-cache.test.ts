/**
 * TableCache's bookkeeping without a kernel (the real-/proc behaviour is in
 * test/host/table-cache.test.ts): when a table is reused, and when it must be read again.
 */
import { describe, expect, it } from "vitest";
import type { KernelSocket } from "../../src/core/procnet.js";
import { TableCache } from "../../src/procfs/table-cache.js";

const records = [{ inode: 7 }] as unknown as KernelSocket[];
const NS = 4026532999;

/** One scan that reads (when the cache says so) and stores namespace `netns`'s tcp table. */
function step(c: TableCache, netns: number, gate: string | undefined, pids = [10], fdChanged = false) {
  c.beginScan();
  const l = c.lookup(netns, "tcp", gate, pids, fdChanged);
  if ("read" in l) c.store(netns, "tcp", gate, pids[0] as number, records);
  c.endScan();
  return "reuse" in l ? "reuse" : l.read;
}

describe("TableCache", () => {
  it("reuses a table whose gate stands still, and reads it again at least every K scans", () => {
    for (const k of [1, 2, 4, 7]) {
      for (const netns of [4026531840, 4026531841, 4026532999]) {
        const c = new TableCache(k);
        const seen = Array.from({ length: 4 * k + 2 }, () => step(c, netns, "g"));
        expect(seen[0]).toBe("new");
        // Never more than K-1 reuses in a row.
        expect(seen.join(" ")).not.toMatch(new RegExp(`(reuse ){${k}}`));
        if (k === 1) expect(seen).not.toContain("reuse");
        else expect(seen.filter((s) => s === "reuse").length).toBeGreaterThanOrEqual(3 * (k - 1));
      }
    }
  });

  it("spreads the first forced re-reads of namespaces found together", () => {
    const c = new TableCache(4);
    const due = new Map<number, number>();
    for (let scan = 0; scan < 5; scan++) {
      c.beginScan();
      for (let ns = 100; ns < 108; ns++) {
        const l = c.lookup(ns, "tcp", "g", [1], false);
        if ("read" in l) {
          if (l.read === "due" && !due.has(ns)) due.set(ns, scan);
          c.store(ns, "tcp", "g", 1, records);
        }
      }
      c.endScan();
    }
    expect(new Set(due.values()).size).toBe(4);
  });

  it.each([
    ["its gate moved", (c: TableCache) => step(c, NS, "h")],
    ["a process of the namespace gained or lost a socket", (c: TableCache) => step(c, NS, "g", [10], true)],
    ["the pid it was read through left the namespace", (c: TableCache) => step(c, NS, "g", [11])],
  ])("reads a table again when %s", (_, change) => {
    // NS % 1000 = 999: its first forced re-read is 1,000 scans away, out of this test's way.
    const c = new TableCache(1_000);
    expect(step(c, NS, "g")).toBe("new");
    expect(step(c, NS, "g")).toBe("reuse");
    expect(change(c)).toBe("changed");
  });

  it("never reuses a table it could not gate, and forgets namespaces a scan did not see", () => {
    const c = new TableCache(1_000);
    expect(step(c, 1, undefined)).toBe("ungated");
    expect(step(c, 1, undefined)).toBe("ungated");
    step(c, 2, "g");
    step(c, 3, "g"); // namespace 2 not looked at: dropped
    expect(step(c, 2, "g")).toBe("new");
  });

  it("refuses a refresh period that is not a whole number of scans ≥ 1", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new TableCache(bad)).toThrow(RangeError);
  });
});
