/**
 * Unknown fields in a document, found by walking it beside the zod schema: at every object
 * the schema describes, a key the schema does not know is reported with the nearest known
 * name. The known names come from the schema's own shapes, so a field added to the schema
 * is known here without anyone keeping a list.
 *
 * A misspelled optional field (`listners`) is otherwise simply absent to zod, and a baseline
 * without `listeners` checks no listeners: a typo would switch a check off without a word.
 * Objects that pass unknown keys on by design (`.loose()`, e.g. metadata) are not judged;
 * maps (records) have no fixed keys and are only walked into.
 */
import { z } from "zod";

export interface UnknownField {
  /** Path of the unknown key itself, e.g. ["spec", "listners"]. */
  path: (string | number)[];
  /** The nearest known key at that level, when one is near enough to be a likely typo. */
  suggestion?: string;
  /** Every key the schema knows at that level. */
  known: string[];
}

type Path = (string | number)[];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every unknown field of `value` under `schema`, in document order. Never throws. */
export function unknownFields(schema: z.ZodType, value: unknown): UnknownField[] {
  const out: UnknownField[] = [];
  walk(schema, value, [], out);
  return out;
}

function walk(schema: z.ZodType, value: unknown, path: Path, out: UnknownField[]): void {
  if (
    schema instanceof z.ZodOptional ||
    schema instanceof z.ZodNullable ||
    schema instanceof z.ZodDefault ||
    schema instanceof z.ZodPrefault ||
    schema instanceof z.ZodReadonly ||
    schema instanceof z.ZodCatch
  ) {
    walk(schema.def.innerType as z.ZodType, value, path, out);
  } else if (schema instanceof z.ZodPipe) {
    walk(schema.def.in as z.ZodType, value, path, out);
  } else if (schema instanceof z.ZodLazy) {
    walk(schema.def.getter() as z.ZodType, value, path, out);
  } else if (schema instanceof z.ZodArray) {
    if (Array.isArray(value))
      value.forEach((v, i) => {
        walk(schema.element as z.ZodType, v, [...path, i], out);
      });
  } else if (schema instanceof z.ZodRecord) {
    if (isPlainObject(value))
      for (const [k, v] of Object.entries(value)) walk(schema.valueType as z.ZodType, v, [...path, k], out);
  } else if (schema instanceof z.ZodUnion) {
    // Of the object branches, judge by the one that fits best (fewest unknown fields).
    if (!isPlainObject(value)) return;
    let best: UnknownField[] | undefined;
    for (const option of schema.options as z.ZodType[]) {
      if (!isObjectLike(option)) continue;
      const found: UnknownField[] = [];
      walk(option, value, path, found);
      if (best === undefined || found.length < best.length) best = found;
    }
    if (best) out.push(...best);
  } else if (schema instanceof z.ZodObject) {
    if (!isPlainObject(value)) return;
    const shape = schema.shape as Record<string, z.ZodType>;
    const known = Object.keys(shape);
    // .loose() objects (a catchall of unknown/any) take any key by design.
    const catchall = schema.def.catchall as z.ZodType | undefined;
    const open = catchall !== undefined && !(catchall instanceof z.ZodNever);
    for (const [k, v] of Object.entries(value)) {
      const field = Object.hasOwn(shape, k) ? shape[k] : undefined;
      if (field) walk(field, v, [...path, k], out);
      else if (open) walk(catchall as z.ZodType, v, [...path, k], out);
      else {
        const suggestion = nearest(k, known);
        out.push({ path: [...path, k], known, ...(suggestion === undefined ? {} : { suggestion }) });
      }
    }
  }
}

function isObjectLike(schema: z.ZodType): boolean {
  if (schema instanceof z.ZodObject) return true;
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodDefault)
    return isObjectLike(schema.def.innerType as z.ZodType);
  return false;
}

/**
 * The known name nearest to `key` by edit distance (case-insensitive, a swap of two neighbours
 * counting once), if near enough to be a typo: at most a third of the key's length, and at
 * least one edit. Ties go to the name that also matches in case, then to the earlier name.
 */
export function nearest(key: string, known: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(key.length / 3));
  let best: { name: string; d: number; exact: number } | undefined;
  for (const name of known) {
    const d = editDistance(key.toLowerCase(), name.toLowerCase(), limit);
    if (d > limit) continue;
    // Only computed for near names, whose length is within `limit` of the key's.
    const exact = editDistance(key, name, key.length + name.length);
    if (best === undefined || d < best.d || (d === best.d && exact < best.exact)) best = { name, d, exact };
  }
  return best?.name;
}

/**
 * Optimal string alignment distance (Levenshtein plus transpositions of neighbours), with an
 * early exit once every path is over `limit` (keys can be long; known names are short).
 */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, (prev2[j - 2] as number) + 1);
      row.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > limit) return limit + 1;
    prev2 = prev;
    prev = row;
  }
  return prev[b.length] as number;
}
