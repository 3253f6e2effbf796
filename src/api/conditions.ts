/**
 * NetworkBaseline conditions, in the metav1.Condition shape: the types and reasons in one
 * place (UpperCamelCase, as Kubernetes API conventions ask), and a pure helper that only
 * moves lastTransitionTime when a condition's status really changes.
 */
import type { Condition } from "./v1alpha1/common.js";

export const ConditionType = {
  Ready: "Ready",
  Learning: "Learning",
  Violating: "Violating",
} as const;

export const Reason = {
  /** Ready=True: the spec validated and compiled. */
  Compiled: "Compiled",
  /** Ready=False: the spec fails semantic validation; the message names the field. */
  InvalidSpec: "InvalidSpec",
  /** Learning=True: mode Learn. */
  LearningMode: "LearningMode",
  /** Learning=False: mode Learn and learning.duration has passed; time to review and export. */
  LearningComplete: "LearningComplete",
  /** Learning=False: mode Alert. */
  AlertMode: "AlertMode",
  /** Violating=True: some node reports active violations. */
  ViolationsReported: "ViolationsReported",
  /** Violating=False. */
  NoViolations: "NoViolations",
  /** Violating=Unknown: no node has reported yet. */
  NoObservations: "NoObservations",
} as const;

export type { Condition } from "./v1alpha1/common.js";

/** Set `next` in `conditions`, keeping lastTransitionTime when the status did not change. */
export function setCondition(
  conditions: readonly Condition[],
  next: Omit<Condition, "lastTransitionTime">,
  now: Date,
): Condition[] {
  const prev = conditions.find((c) => c.type === next.type);
  const lastTransitionTime =
    prev && prev.status === next.status ? prev.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, "Z");
  const out = conditions.filter((c) => c.type !== next.type);
  out.push({ ...next, lastTransitionTime });
  return out.sort((a, b) => a.type.localeCompare(b.type));
}
