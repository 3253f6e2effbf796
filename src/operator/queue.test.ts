import { getEventListeners } from "node:events";
import { describe, expect, it, vi } from "vitest";
import { KeyQueue } from "./queue.js";

describe("KeyQueue", () => {
  it("dedupes keys and hands each out once", async () => {
    const q = new KeyQueue();
    const ac = new AbortController();
    for (const k of ["a", "b", "a", "a"]) q.add(k);
    expect(q.length).toBe(2);
    const got = [await q.next(ac.signal), await q.next(ac.signal)];
    expect(got.sort()).toEqual(["a", "b"]);
    expect(q.length).toBe(0);
  });

  it("a key added while it is being worked on comes back after done()", async () => {
    const q = new KeyQueue();
    const ac = new AbortController();
    q.add("a");
    const k = await q.next(ac.signal);
    q.add("a");
    expect(q.length).toBe(0); // not handed to a second worker meanwhile
    q.done(k as string);
    expect(q.length).toBe(1);
  });

  it("backs off exponentially per key, capped, and forgets on success", () => {
    const q = new KeyQueue(1000, 5000);
    expect([q.retry("a"), q.retry("a"), q.retry("a"), q.retry("a"), q.retry("b")]).toEqual([
      1000, 2000, 4000, 5000, 1000,
    ]);
    q.forget("a");
    expect(q.retry("a")).toBe(1000);
    q.shutdown();
  });

  it("next() returns undefined when aborted", async () => {
    const q = new KeyQueue();
    const ac = new AbortController();
    const p = q.next(ac.signal);
    ac.abort();
    expect(await p).toBeUndefined();
  });

  it("addAfter keeps one wake-up per key and queues it when due", async () => {
    const q = new KeyQueue();
    q.addAfter("a", 30);
    q.addAfter("a", 30);
    q.addAfter("b", 10_000);
    await new Promise((r) => setTimeout(r, 80));
    expect(q.length).toBe(1);
    q.shutdown();
  });
});

describe("KeyQueue over a long run (issue 11: timers and listeners)", () => {
  it("a 30-day RequeueAfter waits 30 days instead of firing at once", () => {
    vi.useFakeTimers();
    try {
      const q = new KeyQueue();
      q.addAfter("shop/web", 30 * 86_400_000);
      vi.advanceTimersByTime(1000);
      expect(q.length).toBe(0);
      vi.advanceTimersByTime(29 * 86_400_000);
      expect(q.length).toBe(0);
      vi.advanceTimersByTime(86_400_000);
      expect(q.length).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("10,000 waits on one signal leave at most one abort listener on it", async () => {
    const q = new KeyQueue();
    const ac = new AbortController();
    let most = 0;
    for (let i = 0; i < 10_000; i++) {
      const next = q.next(ac.signal);
      q.add(`k${i % 7}`);
      const key = await next;
      q.done(key as string);
      most = Math.max(most, getEventListeners(ac.signal, "abort").length);
    }
    expect(most).toBeLessThanOrEqual(1);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });
});
