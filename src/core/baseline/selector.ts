/** Kubernetes label selector semantics: all matchLabels and all expressions must hold. */
import type { LabelSelector } from "../../api/v1alpha1/networkbaseline.js";

export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    switch (e.operator) {
      case "In":
        if (!has || !(e.values ?? []).includes(value as string)) return false;
        break;
      case "NotIn":
        if (has && (e.values ?? []).includes(value as string)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
    }
  }
  return true;
}

export function describeSelector(selector: LabelSelector | undefined): string {
  if (!selector) return "{}";
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    parts.push(
      e.values?.length
        ? `${e.key} ${e.operator} (${e.values.join(",")})`
        : `${e.operator === "Exists" ? "" : "!"}${e.key}`,
    );
  }
  return `{${parts.join(", ")}}`;
}
