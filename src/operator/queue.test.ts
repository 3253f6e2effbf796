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

describe("KeyQueue with several workers", () => {
  it("wakes a waiting worker per key and never hands one key to two workers", async () => {
    const q = new KeyQueue();
    const ac = new AbortController();
    const active = new Set<string>();
    let overlap = 0;
    let most = 0;
    const done: string[] = [];
    const worker = async () => {
      for (;;) {
        const key = await q.next(ac.signal);
        if (key === undefined) return;
        if (active.has(key)) overlap++;
        active.add(key);
        most = Math.max(most, active.size);
        await new Promise((r) => setTimeout(r, 1));
        active.delete(key);
        done.push(key);
        q.done(key);
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    for (let i = 0; i < 200; i++) q.add(`k${i % 50}`);
    while (q.length > 0 || active.size > 0) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await Promise.all(workers);
    expect(overlap).toBe(0);
    expect(new Set(done).size).toBe(50);
    expect(most).toBeGreaterThan(1); // more than one worker was woken
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });
});
