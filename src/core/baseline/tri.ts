/**
 * Three-valued logic for rules that may need knowledge the caller lacks: a peer rule is
 * `true` (allowed), `false` (not allowed) or `"unknown"` (cannot be decided here).
 */
export type Tri = boolean | "unknown";

export function and(a: Tri, b: Tri): Tri {
  if (a === false || b === false) return false;
  if (a === "unknown" || b === "unknown") return "unknown";
  return true;
}

/** Any true wins; otherwise unknown if any is unknown; false only when all are false. */
export function anyOf<T>(items: readonly T[], f: (item: T) => Tri): Tri {
  let unknown = false;
  for (const item of items) {
    const r = f(item);
    if (r === true) return true;
    if (r === "unknown") unknown = true;
  }
  return unknown ? "unknown" : false;
}
