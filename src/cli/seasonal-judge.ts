/**
 * `check` and `watch` judge the scope's counts with the weekly model that `learn --seasonal`
 * wrote into a baseline's `socklens.io/seasonal-model` annotation (docs/detectors.md).
 *
 * The scope is judged as one series, as `learn --seasonal` learned it: the same sockets (the
 * scope's, all network namespaces in it together), the same series names. The file's model
 * is read, never written back: `learn --seasonal` refreshes it. `watch` adapts it in memory
 * after judging each scan (as the agent does), and forgets that on exit.
 *
 * Imported only when some baseline carries the annotation: plain check and watch load no
 * model code.
 */
import { decodeModels, SEASONAL_ANNOTATION } from "../agent/seasonal-codec.js";
import type { ValidatedBaseline, ValidationProblem } from "../api/validate.js";
import type { Finding } from "../core/baseline/types.js";
import { seasonalFinding, seriesValues } from "../core/memory/seasonal-finding.js";
import { SeasonalModels } from "../core/memory/seasonal-models.js";
import { Tracker } from "../core/memory/tracker.js";
import type { Socket } from "../core/socket.js";

export interface SeasonalJudge {
  /** The baseline's id ("namespace/name"), as its findings carry it. */
  baseline: string;
  /** The model's key: the baseline's id when learned under it, else the model's only one. */
  workload: string;
  models: SeasonalModels;
}

const FIELD = `metadata.annotations["${SEASONAL_ANNOTATION}"]`;

/**
 * Read the models of the baselines that carry one. A model that does not decode, does not
 * parse or names no usable workload is a problem naming the file and the field: an input
 * error (exit 2), never a silent "nothing to judge".
 */
export function loadSeasonalJudges(
  baselines: readonly ValidatedBaseline[],
  now: number,
): { judges: SeasonalJudge[]; problems: ValidationProblem[] } {
  const judges: SeasonalJudge[] = [];
  const problems: ValidationProblem[] = [];
  for (const b of baselines) {
    const data = b.baseline.metadata.annotations?.[SEASONAL_ANNOTATION];
    if (data === undefined) continue;
    const id = `${b.baseline.metadata.namespace ?? "default"}/${b.baseline.metadata.name}`;
    const problem = (message: string) => problems.push({ file: b.file, line: b.line, path: FIELD, message });
    const models = new SeasonalModels();
    try {
      models.load(decodeModels(data), now);
    } catch (err) {
      problem(
        `not a seasonal model written by socklens learn --seasonal (${(err as Error).message}); run learn --seasonal again or remove the annotation`,
      );
      continue;
    }
    const known = models.workloads();
    // Renaming a learned baseline must not orphan its model: one workload is unambiguous.
    const workload = known.includes(id) ? id : known.length === 1 ? (known[0] as string) : undefined;
    if (workload === undefined) {
      problem(
        known.length === 0
          ? "the seasonal model is empty: it learned nothing to judge by"
          : `the seasonal model holds ${known.length} workloads (${known.slice(0, 3).join(", ")}${known.length > 3 ? ", …" : ""}) and none is ${id}`,
      );
      continue;
    }
    judges.push({ baseline: id, workload, models });
  }
  return { judges, problems };
}

/**
 * The scope's counts over time and each model's verdicts on them. `adapt`: learn each value
 * after judging it (watch), so a long watch follows a level shift as the agent would.
 */
export class SeasonalJudgement {
  readonly #tracker = new Tracker();

  constructor(
    private readonly judges: readonly SeasonalJudge[],
    private readonly scope: string,
    private readonly adapt: boolean,
  ) {}

  /** Feed one scan of the scope; the findings of every baseline whose model judges it anomalous. */
  observe(
    now: number,
    sockets: readonly Socket[],
    isInternal: (address: string) => boolean,
  ): { baseline: string; findings: Finding[] }[] {
    this.#tracker.observe(now, [{ scope: this.scope, sockets }]);
    const m = this.#tracker.scope(this.scope);
    if (!m) return [];
    const values = seriesValues(m, now, isInternal);
    return this.judges.map((j) => {
      const findings: Finding[] = [];
      for (const v of j.models.judge(j.workload, values, now))
        if (v.anomalous) findings.push({ ...seasonalFinding(v, m, j.workload), baseline: j.baseline });
      if (this.adapt) j.models.learn(j.workload, values, now);
      return { baseline: j.baseline, findings };
    });
  }
}
