/** What every check of the matcher is given, and what it returns. */
import type { Traffic } from "../../traffic.js";
import type { CompiledBaseline } from "../compile.js";
import type { EvaluationScope, Finding, IdentityResolver } from "../types.js";

export interface CheckContext {
  baseline: CompiledBaseline;
  scope: EvaluationScope;
  resolver: IdentityResolver;
  /** The scope's sockets, classified once for all checks. */
  traffic: Traffic;
}

/** A finding before evaluate() stamps it with the baseline and scope. */
export type NewFinding = Omit<Finding, "baseline" | "scope">;

/** One concern of the matcher (listeners, peers, thresholds, …): the findings it raises. */
export type Check = (ctx: CheckContext) => NewFinding[];
