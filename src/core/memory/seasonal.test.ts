/**
 * The seasonal model over simulated weeks, driven by an injected clock (a sample every
 * 5 minutes; the agent's 15 s scans only add samples to the same hourly percentiles).
 */
import { describe, expect, it } from "vitest";
import { makeSocket } from "../../../test/support/socket.js";
import type { Verdict } from "./seasonal.js";
import { cellOf, DEFAULT_SEASONAL_OPTIONS } from "./seasonal.js";
import { seasonalFinding, seriesValues } from "./seasonal-finding.js";
import { SeasonalModels, SeasonalParseError } from "./seasonal-models.js";
import { Tracker } from "./tracker.js";

const MONDAY = Date.parse("2026-11-02T00:00:00Z"); // a Monday
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const STEP = 5 * 60_000;
const W = "shop/web (Deployment web)";

/** A business day: quiet nights, busy 09–17, quieter weekends; ±10 of deterministic noise. */
function usual(t: number, i: number): number {
  const d = new Date(t);
  const wd = d.getUTCDay();
  const h = d.getUTCHours();
  const noise = ((i * 37) % 21) - 10;
  if (wd === 0 || wd === 6) return 40 + noise;
  return (h >= 9 && h < 17 ? 200 : 60) + noise;
}

/** Drive `weeks` weeks from MONDAY; `value` gives each sample; returns every anomalous verdict. */
function drive(models: SeasonalModels, from: number, until: number, value: (t: number, i: number) => number) {
  const out: Verdict[] = [];
  let i = 0;
  for (let t = from; t < until; t += STEP, i++) {
    const values = { ESTABLISHED: value(t, i) };
    out.push(...models.judge(W, values, t).filter((v) => v.anomalous));
    models.learn(W, values, t);
  }
  return out;
}

const isFridaySpike = (t: number) => {
  const d = new Date(t);
  return d.getUTCDay() === 5 && d.getUTCHours() === 14;
};

describe("seasonal model", () => {
  it("maps times to hour-of-week cells (Sunday 0)", () => {
    expect(cellOf(MONDAY).cell).toBe(24);
    expect(cellOf(MONDAY + 4 * DAY + 14 * HOUR + 10 * 60_000).cell).toBe(5 * 24 + 14);
    expect(cellOf(MONDAY - 1).cell).toBe(23); // Sunday 23:59
    expect(cellOf(MONDAY, { ...DEFAULT_SEASONAL_OPTIONS, utcOffsetMinutes: -60 }).cell).toBe(23);
  });

  it("judges nothing before a week of history and three days of the same hour and day type", () => {
    const models = new SeasonalModels();
    const flagged = drive(models, MONDAY, MONDAY + 7 * DAY - STEP, (t, i) =>
      i === 1500 ? 5000 : usual(t, i),
    );
    expect(flagged).toEqual([]);
    // From the eighth day on, the same outlier is judged.
    const t = MONDAY + 7 * DAY + 3 * HOUR;
    expect(models.judge(W, { ESTABLISHED: 5000 }, t)[0]?.anomalous).toBe(true);
  });

  it("learns a weekly Friday spike as normal and flags the same spike on a Tuesday", () => {
    const models = new SeasonalModels();
    const spiky = (t: number, i: number) => (isFridaySpike(t) ? 1000 + (i % 7) : usual(t, i));
    const flagged = drive(models, MONDAY, MONDAY + 21 * DAY, spiky);
    // Only the second Friday's spike is news (week 1 judges nothing; by week 3 two Fridays vouch for it).
    expect(flagged.length).toBeGreaterThan(0);
    for (const v of flagged) {
      expect(isFridaySpike(v.at)).toBe(true);
      expect(v.at).toBeGreaterThanOrEqual(MONDAY + 7 * DAY);
      expect(v.at).toBeLessThan(MONDAY + 14 * DAY);
    }
    // Week 4: Friday's spike is usual, a weekly pattern; the same on Tuesday is not.
    const week4 = MONDAY + 21 * DAY;
    const friday = models.judge(W, { ESTABLISHED: 1003 }, week4 + 4 * DAY + 14 * HOUR + 10 * 60_000)[0];
    expect(friday).toMatchObject({ anomalous: false, weeklyPattern: true });
    const tuesday = models.judge(W, { ESTABLISHED: 1003 }, week4 + DAY + 14 * HOUR + 10 * 60_000)[0];
    expect(tuesday).toMatchObject({
      anomalous: true,
      direction: "above",
      weekday: "Tuesday",
      time: "14:10",
      dayType: "weekdays",
    });
    // The usual range is the busy weekday afternoon's (~190–210), not dragged up by Fridays.
    expect(tuesday?.usual.lo).toBeGreaterThan(185);
    expect(tuesday?.usual.hi).toBeLessThan(215);
    // An ordinary afternoon value is not flagged; a quiet night value in the afternoon is.
    expect(models.judge(W, { ESTABLISHED: 205 }, week4 + DAY + 14 * HOUR)[0]?.anomalous).toBe(false);
    expect(models.judge(W, { ESTABLISHED: 0 }, week4 + DAY + 14 * HOUR)[0]).toMatchObject({
      anomalous: true,
      direction: "below",
    });
    // 1,840 at 02:10 on a Tuesday, against the quiet weekday night.
    const night = models.judge(W, { ESTABLISHED: 1840 }, week4 + DAY + 2 * HOUR + 10 * 60_000)[0];
    expect(night).toMatchObject({ anomalous: true, time: "02:10", weeks: 3 });
    expect(night?.usual.hi).toBeLessThan(75);
    // Weekends are their own day type.
    expect(models.judge(W, { ESTABLISHED: 200 }, week4 + 5 * DAY + 14 * HOUR)[0]).toMatchObject({
      anomalous: true,
      dayType: "weekends",
    });
  });

  it("adapts to a level shift after a deployment within a day, and keeps judging after", () => {
    const models = new SeasonalModels();
    drive(models, MONDAY, MONDAY + 21 * DAY, usual);
    // Wednesday of week 4, 10:00: a new version holds three times the connections, for good.
    const shift = MONDAY + 23 * DAY + 10 * HOUR;
    const flagged = drive(models, MONDAY + 21 * DAY, MONDAY + 28 * DAY, (t, i) =>
      t >= shift ? 3 * usual(t, i) : usual(t, i),
    );
    expect(flagged.length).toBeGreaterThan(0);
    expect(Math.min(...flagged.map((v) => v.at))).toBeGreaterThanOrEqual(shift);
    // Flagged for at most shiftHours (24) plus the hour in progress, never after.
    expect(Math.max(...flagged.map((v) => v.at))).toBeLessThan(shift + 25 * HOUR);
    // The new level is learned with its shape: a busy afternoon is ~600 now, a night ~180.
    const next = MONDAY + 28 * DAY + DAY + 14 * HOUR;
    expect(models.judge(W, { ESTABLISHED: 600 }, next)[0]?.anomalous).toBe(false);
    expect(models.judge(W, { ESTABLISHED: 200 }, next)[0]?.anomalous).toBe(true);
    expect(models.judge(W, { ESTABLISHED: 3000 }, next + 12 * HOUR)[0]?.anomalous).toBe(true);
  });

  it("a day-long dip that recovers is not taken as a new level", () => {
    const models = new SeasonalModels();
    drive(models, MONDAY, MONDAY + 21 * DAY, usual);
    // 20 hours at half the load (an outage upstream), then back to usual.
    const dip = MONDAY + 22 * DAY + 2 * HOUR;
    drive(models, MONDAY + 21 * DAY, MONDAY + 25 * DAY, (t, i) =>
      t >= dip && t < dip + 20 * HOUR ? Math.round(usual(t, i) / 3) : usual(t, i),
    );
    expect(models.judge(W, { ESTABLISHED: 200 }, MONDAY + 25 * DAY + 14 * HOUR)[0]?.anomalous).toBe(false);
    expect(models.judge(W, { ESTABLISHED: 66 }, MONDAY + 25 * DAY + 14 * HOUR)[0]?.anomalous).toBe(true);
  });

  it("stays bounded: weeks per cell, series per workload, workloads", () => {
    const models = new SeasonalModels({}, { maxModels: 2, maxSeries: 2 });
    for (let t = MONDAY; t < MONDAY + 35 * DAY; t += HOUR)
      models.learn("a", { ESTABLISHED: 1, TIME_WAIT: 2, CLOSE_WAIT: 3 }, t);
    const s = models.series("a", "ESTABLISHED");
    expect(s?.cells.every((c) => c.length <= 3)).toBe(true);
    expect(models.series("a", "CLOSE_WAIT")).toBeUndefined();
    models.learn("b", { ESTABLISHED: 1 }, MONDAY + 36 * DAY);
    models.learn("c", { ESTABLISHED: 1 }, MONDAY + 37 * DAY);
    expect(models.size).toBe(2);
    expect(models.series("a", "ESTABLISHED")).toBeUndefined(); // least recently seen went first
  });

  it("survives a restart through its persisted form, and rejects a damaged one naming the field", () => {
    const models = new SeasonalModels();
    drive(models, MONDAY, MONDAY + 21 * DAY, (t, i) => (isFridaySpike(t) ? 1000 : usual(t, i)));
    const json = JSON.parse(JSON.stringify(models.toJSON()));
    const restored = new SeasonalModels();
    restored.load(json, MONDAY + 21 * DAY);
    for (const t of [
      MONDAY + 22 * DAY + 14 * HOUR,
      MONDAY + 25 * DAY + 14 * HOUR,
      MONDAY + 22 * DAY + 2 * HOUR,
    ])
      for (const v of [0, 60, 205, 1000])
        expect(restored.judge(W, { ESTABLISHED: v }, t)).toEqual(models.judge(W, { ESTABLISHED: v }, t));
    const bad = structuredClone(json);
    bad.models[W].ESTABLISHED.c[0][0] = 500;
    expect(() => new SeasonalModels().load(bad, 0)).toThrow(SeasonalParseError);
    expect(() => new SeasonalModels().load(bad, 0)).toThrow(/ESTABLISHED\.c\.0\.0/);
    expect(() => new SeasonalModels().load("nope", 0)).toThrow(/invalid seasonal model/);
  });
});

describe("SeasonalAnomaly finding", () => {
  it("names the scope, workload, process, peer, value, usual range, day type and how far out", () => {
    const tracker = new Tracker();
    const t = MONDAY + 22 * DAY + 2 * HOUR + 10 * 60_000; // a Tuesday
    const sockets = Array.from({ length: 30 }, (_, i) =>
      makeSocket({
        localAddress: "10.9.0.2",
        localPort: 40000 + i,
        remoteAddress: "10.9.0.9",
        remotePort: 5432,
        state: "ESTABLISHED",
        pid: 812,
        process: "app",
      }),
    );
    tracker.observe(t - 15_000, [{ scope: "pod shop/web-7d9", sockets }]);
    tracker.observe(t, [{ scope: "pod shop/web-7d9", sockets }]);
    const m = tracker.scope("pod shop/web-7d9");
    if (!m) throw new Error("no scope");
    const values = seriesValues(m, t, () => true);
    expect(values).toMatchObject({ ESTABLISHED: 30, "new/min external": 0, "new/min internal": 0 });
    const f = seasonalFinding(
      {
        series: "ESTABLISHED",
        value: 1840,
        at: t,
        weekday: "Tuesday",
        time: "02:10",
        dayType: "weekdays",
        usual: { lo: 120, hi: 210 },
        days: 15,
        weeks: 3,
        anomalous: true,
        direction: "above",
        factor: 8.8,
      },
      m,
      "Deployment web",
    );
    expect(f).toMatchObject({ rule: "SeasonalAnomaly", severity: "medium", count: 1840, limit: 210 });
    expect(f.message).toBe(
      "pod shop/web-7d9 (Deployment web) (process app, pid 812): 1,840 established connections, most to 10.9.0.9:5432 (30) at 02:10 on a Tuesday; usually 120–210 at this hour on weekdays (last 3 weeks, 15 days) — 8.8× the top of that range",
    );
  });
});
