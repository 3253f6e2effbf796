/**
 * Seasonal judgement of counts: is this many ESTABLISHED connections (or CLOSE_WAIT, or new
 * connections a minute) usual for this workload at this hour on this kind of day?
 *
 * Per series, the model keeps one cell per hour of the week (168). When an hour ends, the
 * samples of that hour (every pod of the workload, every scan) are summarised as their 10th,
 * 50th and 90th percentile, and the summary is kept in that hour's cell for `weeks` weeks.
 * A value is judged against the pool of the same hour on the same day type (weekday or
 * weekend: up to 5 × weeks summaries): the usual range is the median of the pool's low and
 * high percentiles, widened by a tolerance from their spread (median absolute deviation), so
 * one odd day does not move it. A value outside that range is still usual when its own cell
 * (the same hour on the same weekday) has held such values in at least `weeklyMinWeeks`
 * earlier weeks: the payroll run every Friday at 14:00 is learned, the same load on a Tuesday
 * is not.
 *
 * Why median/MAD over EWMA mean/variance: a mean and a variance are pulled by the very
 * spikes the model must tell apart (a Friday spike in the weekday pool would widen every
 * weekday's range until a Tuesday spike looked normal), and EWMA forgets by time, not by
 * evidence. Medians of per-hour percentiles ignore a minority of odd days by construction.
 *
 * Level shifts (a deployment doubles the pool size): when `shiftHours` consecutive completed
 * hours sit outside their range in the same direction, the level moved for good; the model
 * rescales its history by the median ratio of those hours and judges against the new level
 * from then on. So a shift is flagged for at most `shiftHours`, never forever.
 *
 * Pure (no clock, no I/O): times are passed in, ms since the epoch; hours and weekdays are
 * taken at `utcOffsetMinutes` (UTC by default).
 */
import { mad, median } from "./stats.js";

export interface SeasonalOptions {
  /** Weeks of history kept per hour-of-week cell. */
  weeks: number;
  /** The model must span at least this long before it judges (one whole week). */
  minSpanMs: number;
  /** Summaries of the same hour and day type needed before that hour is judged. */
  minPool: number;
  /** Earlier weeks with the same value at the same weekday and hour that make it a weekly pattern. */
  weeklyMinWeeks: number;
  /** Tolerance: this many robust standard deviations (1.4826 × MAD) of the pool's percentiles… */
  spreads: number;
  /** …but at least this share of the range's top, and at least this many. */
  minRelative: number;
  minAbsolute: number;
  /** Consecutive completed hours out of range, one direction, after which the level is taken as moved. */
  shiftHours: number;
  /** Samples kept for the hour in progress (decimated beyond). */
  maxHourSamples: number;
  /** Where hours and days are counted (minutes east of UTC). */
  utcOffsetMinutes: number;
}

export const DEFAULT_SEASONAL_OPTIONS: SeasonalOptions = {
  weeks: 3,
  minSpanMs: 7 * 86_400_000,
  minPool: 3,
  weeklyMinWeeks: 2,
  spreads: 3,
  minRelative: 0.25,
  minAbsolute: 5,
  shiftHours: 24,
  maxHourSamples: 720,
  utcOffsetMinutes: 0,
};

const HOUR = 3_600_000;
const DAY = 86_400_000;
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"] as const;

/** One completed hour: which day (days since the epoch, local) and its 10th/50th/90th percentiles. */
export type HourSummary = [day: number, lo: number, med: number, hi: number];

export interface SeriesModel {
  /** 168 cells (weekday × 24 + hour), each up to `weeks` summaries, oldest first. */
  cells: HourSummary[][];
  firstSeen: number;
  lastSeen: number;
  /** The hour in progress: its start and samples. */
  hourStart: number;
  samples: number[];
  /** Completed hours out of range in a row, +1 above / −1 below, with each hour's ratio to its usual median. */
  outRun: { dir: 1 | -1; ratios: number[] } | undefined;
}

export interface Verdict {
  series: string;
  value: number;
  /** When it was seen, and the local weekday name and hh:mm (for the sentence). */
  at: number;
  weekday: (typeof WEEKDAYS)[number];
  time: string;
  dayType: "weekdays" | "weekends";
  usual: { lo: number; hi: number };
  /** Days of history behind the range (pool size) and how many weeks it spans. */
  days: number;
  weeks: number;
  anomalous: boolean;
  /** Above or below the range; how far out (value ÷ top of the range, or bottom ÷ value). */
  direction?: "above" | "below";
  factor?: number;
  /** Why a value out of the day-type range is still usual. */
  weeklyPattern?: boolean;
}

function local(t: number, o: SeasonalOptions): number {
  return t + o.utcOffsetMinutes * 60_000;
}

/** Cell index (weekday × 24 + hour) and local day number of a time. */
export function cellOf(
  t: number,
  o: SeasonalOptions = DEFAULT_SEASONAL_OPTIONS,
): { cell: number; day: number } {
  const l = local(t, o);
  const day = Math.floor(l / DAY);
  const hour = Math.floor((l - day * DAY) / HOUR);
  // 1970-01-01 was a Thursday (4).
  const weekday = (((day + 4) % 7) + 7) % 7;
  return { cell: weekday * 24 + hour, day };
}

function isWeekend(cell: number): boolean {
  const wd = Math.floor(cell / 24);
  return wd === 0 || wd === 6;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (i - lo);
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

export function emptySeries(now: number): SeriesModel {
  return {
    cells: Array.from({ length: 168 }, () => []),
    firstSeen: now,
    lastSeen: now,
    hourStart: Math.floor(now / HOUR) * HOUR,
    samples: [],
    outRun: undefined,
  };
}

interface Range {
  lo: number;
  hi: number;
  med: number;
  tol: number;
  n: number;
  weeks: number;
}

function rangeOf(pool: readonly HourSummary[], o: SeasonalOptions): Range {
  const los = pool.map((s) => s[1]);
  const meds = pool.map((s) => s[2]);
  const his = pool.map((s) => s[3]);
  const lo = median(los);
  const hi = median(his);
  const spread = 1.4826 * Math.max(mad(los), mad(his));
  const tol = Math.max(o.spreads * spread, o.minRelative * hi, o.minAbsolute);
  const days = pool.map((s) => s[0]);
  const weeks = Math.max(1, Math.round((Math.max(...days) - Math.min(...days) + 1) / 7));
  return { lo, hi, med: median(meds), tol, n: pool.length, weeks };
}

function outside(v: number, r: Range): 1 | -1 | 0 {
  if (v > r.hi + r.tol) return 1;
  if (v < r.lo - r.tol) return -1;
  return 0;
}

/** The pool of the same hour and day type as `cell`, from every cell that shares both. */
function poolOf(m: SeriesModel, cell: number): HourSummary[] {
  const hour = cell % 24;
  const weekend = isWeekend(cell);
  const out: HourSummary[] = [];
  for (let wd = 0; wd < 7; wd++) {
    const c = wd * 24 + hour;
    if (isWeekend(c) === weekend) out.push(...(m.cells[c] as HourSummary[]));
  }
  return out;
}

/**
 * Judge one value against its bucket. Judges nothing (anomalous false, `days` says how much
 * history there is) until the model spans `minSpanMs` and the pool holds `minPool` days.
 */
export function judge(
  m: SeriesModel,
  series: string,
  value: number,
  at: number,
  options: Partial<SeasonalOptions> = {},
): Verdict | undefined {
  const o = { ...DEFAULT_SEASONAL_OPTIONS, ...options };
  const { cell } = cellOf(at, o);
  const pool = poolOf(m, cell);
  if (pool.length < o.minPool || at - m.firstSeen < o.minSpanMs) return undefined;
  const r = rangeOf(pool, o);
  const l = local(at, o);
  const minutes = Math.floor((l % DAY) / 60_000);
  const verdict: Verdict = {
    series,
    value,
    at,
    weekday: WEEKDAYS[Math.floor(cell / 24)] as Verdict["weekday"],
    time: `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`,
    dayType: isWeekend(cell) ? "weekends" : "weekdays",
    usual: { lo: round(Math.max(0, r.lo)), hi: round(r.hi) },
    days: r.n,
    weeks: r.weeks,
    anomalous: false,
  };
  const dir = outside(value, r);
  if (dir === 0) return verdict;
  // A weekly pattern: this weekday's own cell held such values in enough earlier weeks.
  const own = m.cells[cell] as HourSummary[];
  if (own.length >= o.weeklyMinWeeks && outside(value, rangeOf(own, o)) === 0)
    return { ...verdict, weeklyPattern: true };
  verdict.anomalous = true;
  verdict.direction = dir > 0 ? "above" : "below";
  verdict.factor = round(dir > 0 ? value / Math.max(r.hi, 1) : Math.max(r.lo, 1) / Math.max(value, 1));
  return verdict;
}

/**
 * Add one sample (after judging it: a value must not vouch for itself). Closes the previous
 * hour when `at` is in a new one.
 */
export function addSample(
  m: SeriesModel,
  value: number,
  at: number,
  options: Partial<SeasonalOptions> = {},
): void {
  const o = { ...DEFAULT_SEASONAL_OPTIONS, ...options };
  const hourStart = Math.floor(at / HOUR) * HOUR;
  if (hourStart !== m.hourStart) {
    closeHour(m, o);
    m.hourStart = hourStart;
  }
  m.samples.push(value);
  // Bounded: past the cap keep every other sample (the percentiles barely move).
  if (m.samples.length > o.maxHourSamples) m.samples = m.samples.filter((_, i) => i % 2 === 0);
  m.lastSeen = Math.max(m.lastSeen, at);
}

/** Close the hour in progress now (a `learn` that ends mid-hour keeps what it saw of it). */
export function flushHour(m: SeriesModel, options: Partial<SeasonalOptions> = {}): void {
  closeHour(m, { ...DEFAULT_SEASONAL_OPTIONS, ...options });
}

function closeHour(m: SeriesModel, o: SeasonalOptions): void {
  if (m.samples.length === 0) return;
  const sorted = [...m.samples].sort((a, b) => a - b);
  const { cell, day } = cellOf(m.hourStart, o);
  const summary: HourSummary = [
    day,
    round(quantile(sorted, 0.1)),
    round(quantile(sorted, 0.5)),
    round(quantile(sorted, 0.9)),
  ];
  m.samples = [];
  // Level shift: judge the completed hour's median against its pool before it joins it.
  const pool = poolOf(m, cell);
  if (pool.length >= o.minPool && m.hourStart - m.firstSeen >= o.minSpanMs) {
    const r = rangeOf(pool, o);
    const dir = outside(summary[2], r);
    if (dir === 0) m.outRun = undefined;
    else {
      const ratio = summary[2] > 0 && r.med > 0 ? summary[2] / r.med : Number.NaN;
      if (m.outRun?.dir !== dir) m.outRun = { dir, ratios: [] };
      m.outRun.ratios.push(ratio);
      if (m.outRun.ratios.length >= o.shiftHours) {
        rebase(m, m.outRun.ratios);
        m.outRun = undefined;
      }
    }
  }
  const cells = m.cells[cell] as HourSummary[];
  cells.push(summary);
  // One summary per day per cell; keep the newest `weeks`.
  while (cells.length > o.weeks || (cells.length > 1 && (cells[0] as HourSummary)[0] <= day - 7 * o.weeks))
    cells.shift();
}

/** The level moved: scale history by the shift (or forget it when there is no ratio to scale by). */
function rebase(m: SeriesModel, ratios: readonly number[]): void {
  const finite = ratios.filter(Number.isFinite);
  const ratio = finite.length >= ratios.length / 2 ? median(finite) : Number.NaN;
  for (let c = 0; c < m.cells.length; c++) {
    const cells = m.cells[c] as HourSummary[];
    if (!Number.isFinite(ratio)) {
      cells.length = 0;
      continue;
    }
    for (const s of cells) {
      s[1] = round(s[1] * ratio);
      s[2] = round(s[2] * ratio);
      s[3] = round(s[3] * ratio);
    }
  }
  if (!Number.isFinite(ratio)) m.firstSeen = m.hourStart;
}
