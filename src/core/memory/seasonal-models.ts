/**
 * The seasonal models of many workloads, bounded, and their persisted form. Pure: the agent
 * decides where the JSON goes (src/agent/seasonal-store.ts), `socklens learn` may put it in a
 * baseline file.
 *
 * Bounds: `maxModels` workloads (least recently seen dropped first) × `maxSeries` series each
 * × 168 hour-of-week cells × `weeks` summaries. A fully learned series is 504 summaries
 * (≈ 11 KB of JSON); most are sparse.
 */
import { z } from "zod";
import {
  addSample,
  DEFAULT_SEASONAL_OPTIONS,
  emptySeries,
  flushHour,
  type HourSummary,
  judge,
  type SeasonalOptions,
  type SeriesModel,
  type Verdict,
} from "./seasonal.js";

export interface SeasonalLimits {
  maxModels: number;
  maxSeries: number;
}

export const DEFAULT_SEASONAL_LIMITS: SeasonalLimits = { maxModels: 256, maxSeries: 16 };

export class SeasonalModels {
  readonly #models = new Map<string, Map<string, SeriesModel>>();
  /** Bumped whenever an hour closes somewhere (what is persisted changed). */
  #version = 0;

  constructor(
    readonly options: Partial<SeasonalOptions> = {},
    readonly limits: SeasonalLimits = DEFAULT_SEASONAL_LIMITS,
  ) {}

  get version(): number {
    return this.#version;
  }

  get size(): number {
    return this.#models.size;
  }

  series(workload: string, name: string): SeriesModel | undefined {
    return this.#models.get(workload)?.get(name);
  }

  /**
   * Judge each value of one scope (a pod) against its workload's model. Call once per
   * scope per scan, then `learn` with the same values: judging first means a value never
   * vouches for itself.
   */
  judge(workload: string, values: Readonly<Record<string, number>>, at: number): Verdict[] {
    const model = this.#models.get(workload);
    if (!model) return [];
    const out: Verdict[] = [];
    for (const [name, value] of Object.entries(values)) {
      const m = model.get(name);
      const v = m ? judge(m, name, value, at, this.options) : undefined;
      if (v) out.push(v);
    }
    return out;
  }

  learn(workload: string, values: Readonly<Record<string, number>>, at: number): void {
    let model = this.#models.get(workload);
    const created = !model;
    if (!model) {
      model = new Map();
      this.#models.set(workload, model);
    }
    for (const [name, value] of Object.entries(values)) {
      if (!Number.isFinite(value)) continue;
      let m = model.get(name);
      if (!m) {
        if (model.size >= this.limits.maxSeries) continue;
        m = emptySeries(at);
        model.set(name, m);
      }
      const hour = m.hourStart;
      addSample(m, value, at, this.options);
      if (m.hourStart !== hour) this.#version++;
    }
    // After the samples, so the newcomer has a last-seen time and the oldest goes.
    if (created) this.#cap();
  }

  /** Close every series' hour in progress (before persisting at the end of a `learn`). */
  closeHours(_now: number): void {
    for (const model of this.#models.values())
      for (const m of model.values()) {
        if (m.samples.length === 0) continue;
        flushHour(m, this.options);
        this.#version++;
      }
  }

  #cap(): void {
    if (this.#models.size <= this.limits.maxModels) return;
    const lastSeen = (m: Map<string, SeriesModel>) => Math.max(0, ...[...m.values()].map((s) => s.lastSeen));
    const byAge = [...this.#models].sort((a, b) => lastSeen(a[1]) - lastSeen(b[1]));
    for (const [k] of byAge.slice(0, this.#models.size - this.limits.maxModels)) this.#models.delete(k);
  }

  /** Workloads by when they were last seen, newest first (persistence keeps these first). */
  workloads(): string[] {
    const lastSeen = (m: Map<string, SeriesModel>) => Math.max(0, ...[...m.values()].map((s) => s.lastSeen));
    return [...this.#models].sort((a, b) => lastSeen(b[1]) - lastSeen(a[1])).map(([k]) => k);
  }

  /** The persisted form of some workloads (all by default). The hour in progress is not kept. */
  toJSON(workloads: readonly string[] = this.workloads()): PersistedSeasonal {
    const models: PersistedSeasonal["models"] = {};
    for (const w of workloads) {
      const model = this.#models.get(w);
      if (!model) continue;
      const series: Record<string, PersistedSeries> = {};
      for (const [name, m] of model) {
        const cells: PersistedSeries["c"] = [];
        m.cells.forEach((list, cell) => {
          for (const s of list) cells.push([cell, ...s]);
        });
        series[name] = {
          f: m.firstSeen,
          l: m.lastSeen,
          c: cells,
          ...(m.outRun
            ? { r: { d: m.outRun.dir, x: m.outRun.ratios.map((x) => (Number.isFinite(x) ? x : -1)) } }
            : {}),
        };
      }
      models[w] = series;
    }
    return { v: 1, options: { weeks: this.options.weeks ?? DEFAULT_SEASONAL_OPTIONS.weeks }, models };
  }

  /** Load a persisted form (replacing workloads it names). Throws a SeasonalParseError naming the field. */
  load(raw: unknown, now: number): void {
    const parsed = persistedSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new SeasonalParseError(
        `${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`,
        parsed.error,
      );
    }
    for (const [w, series] of Object.entries(parsed.data.models).slice(0, this.limits.maxModels)) {
      const model = new Map<string, SeriesModel>();
      for (const [name, p] of Object.entries(series).slice(0, this.limits.maxSeries)) {
        const m = emptySeries(Math.min(p.f, now));
        m.firstSeen = p.f;
        m.lastSeen = p.l;
        const weeks = this.options.weeks ?? DEFAULT_SEASONAL_OPTIONS.weeks;
        for (const [cell, day, lo, med, hi] of [...p.c].sort((a, b) => a[1] - b[1])) {
          const list = m.cells[cell] as HourSummary[];
          list.push([day, lo, med, hi]);
          if (list.length > weeks) list.shift();
        }
        if (p.r) m.outRun = { dir: p.r.d, ratios: p.r.x.map((x) => (x < 0 ? Number.NaN : x)) };
        model.set(name, m);
      }
      this.#models.set(w, model);
    }
    this.#cap();
  }
}

export class SeasonalParseError extends Error {
  override readonly name = "SeasonalParseError";
  constructor(message: string, cause?: unknown) {
    super(`invalid seasonal model: ${message}`, { cause });
  }
}

const count = z.number().finite().min(0).max(1e9);
const time = z.number().int().min(0).max(8.64e15);
const persistedSeriesSchema = z.object({
  f: time,
  l: time,
  c: z
    .array(z.tuple([z.number().int().min(0).max(167), z.number().int().min(0).max(1e8), count, count, count]))
    .max(168 * 12),
  r: z
    .object({ d: z.union([z.literal(1), z.literal(-1)]), x: z.array(z.number().finite().min(-1)).max(1000) })
    .optional(),
});
const persistedSchema = z.object({
  v: z.literal(1),
  options: z.object({ weeks: z.number().int().min(1).max(12) }).optional(),
  models: z.record(z.string().max(512), z.record(z.string().max(128), persistedSeriesSchema)),
});

export type PersistedSeries = z.infer<typeof persistedSeriesSchema>;
export type PersistedSeasonal = z.infer<typeof persistedSchema>;
