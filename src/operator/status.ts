/**
 * What a NetworkBaseline's status should be, computed from the object itself, the pods in
 * its namespace and the NetworkObservations the agents wrote for it. Pure: the controller
 * reads, calls this, and writes the result through /status only when it changed.
 */
import { type Condition, ConditionType, Reason, setCondition } from "../api/conditions.js";
import { NetworkBaseline } from "../api/v1alpha1/networkbaseline.js";
import { formatPath, semanticProblems } from "../api/validate.js";
import { selectorMatches } from "../core/baseline/selector.js";

export interface BaselineStatus {
  observedGeneration?: number;
  conditions: Condition[];
  matchedPods: number;
  violations: { total: number; lastTime?: string; byRule: Record<string, number> };
}

export interface ObservationSummary {
  nodeName: string;
  windowEnd: string;
  /** Active findings by rule at windowEnd. */
  violations: Record<string, number>;
}

export interface StatusInputs {
  raw: unknown;
  pods: { labels: Record<string, string> }[];
  observations: ObservationSummary[];
  previous?: Partial<BaselineStatus>;
  now: Date;
}

function firstProblem(raw: unknown): string | undefined {
  const parsed = NetworkBaseline.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return `${formatPath(issue?.path ?? [])}: ${issue?.message ?? "invalid"}`;
  }
  const [p] = semanticProblems(parsed.data);
  return p ? `${formatPath(p.path)}: ${p.message}` : undefined;
}

export function desiredStatus({ raw, pods, observations, previous, now }: StatusInputs): BaselineStatus {
  const obj = raw as { metadata?: { generation?: number }; spec?: { podSelector?: unknown; mode?: string } };
  const generation = obj.metadata?.generation;
  let conditions = previous?.conditions ?? [];
  const gen = generation === undefined ? {} : { observedGeneration: generation };

  const problem = firstProblem(raw);
  conditions = setCondition(
    conditions,
    problem
      ? {
          type: ConditionType.Ready,
          status: "False",
          reason: Reason.InvalidSpec,
          message: `spec is invalid and is not evaluated: ${problem}`,
          ...gen,
        }
      : {
          type: ConditionType.Ready,
          status: "True",
          reason: Reason.Compiled,
          message: "baseline compiled; agents evaluate it",
          ...gen,
        },
    now,
  );
  const learning = obj.spec?.mode === "Learn";
  conditions = setCondition(
    conditions,
    learning
      ? {
          type: ConditionType.Learning,
          status: "True",
          reason: Reason.LearningMode,
          message: "mode Learn: agents record, no violations are raised",
          ...gen,
        }
      : {
          type: ConditionType.Learning,
          status: "False",
          reason: Reason.AlertMode,
          message: "mode Alert: violations are raised",
          ...gen,
        },
    now,
  );

  const byRule: Record<string, number> = {};
  let total = 0;
  let newest: string | undefined;
  for (const o of observations) {
    let n = 0;
    for (const [rule, count] of Object.entries(o.violations)) {
      byRule[rule] = (byRule[rule] ?? 0) + count;
      n += count;
    }
    total += n;
    if (n > 0 && (!newest || o.windowEnd > newest)) newest = o.windowEnd;
  }
  const nodes = observations
    .filter((o) => Object.values(o.violations).some((n) => n > 0))
    .map((o) => o.nodeName);
  conditions = setCondition(
    conditions,
    observations.length === 0
      ? {
          type: ConditionType.Violating,
          status: "Unknown",
          reason: Reason.NoObservations,
          message: "no agent has reported on this baseline yet",
          ...gen,
        }
      : total > 0
        ? {
            type: ConditionType.Violating,
            status: "True",
            reason: Reason.ViolationsReported,
            message: `${total} active violation(s) on node(s) ${nodes.sort().join(", ")}`,
            ...gen,
          }
        : {
            type: ConditionType.Violating,
            status: "False",
            reason: Reason.NoViolations,
            message: `no active violations on ${observations.length} reporting node(s)`,
            ...gen,
          },
    now,
  );

  const selector = (obj.spec?.podSelector ?? {}) as Parameters<typeof selectorMatches>[0];
  const lastTime = newest ?? previous?.violations?.lastTime;
  return {
    ...gen,
    conditions,
    matchedPods: problem ? 0 : pods.filter((p) => selectorMatches(selector, p.labels)).length,
    violations: { total, byRule, ...(lastTime ? { lastTime } : {}) },
  };
}

/** Equal apart from key order: decides whether a status write is needed. */
export function sameStatus(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.entries(v)
              .sort(([x], [y]) => x.localeCompare(y))
              .map(([k, x]) => [k, canon(x)]),
          )
        : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}
