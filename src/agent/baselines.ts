/**
 * The agent's compiled baselines: NetworkBaseline objects from the watch, validated and
 * compiled once per generation. An invalid one is skipped with a reason a human can act
 * on (logged once per generation); marking it Ready=False is the operator's job.
 */
import { parseBaseline } from "../api/parse.js";
import { type CompiledBaseline, compileBaseline } from "../core/baseline/compile.js";

export class BaselineCache {
  readonly #compiled = new Map<string, { version: string; baseline?: CompiledBaseline; problem?: string }>();

  constructor(private readonly log: (message: string, fields: Record<string, unknown>) => void) {}

  update(objects: unknown[]): CompiledBaseline[] {
    const out: CompiledBaseline[] = [];
    const seen = new Set<string>();
    for (const raw of objects) {
      const meta =
        (
          raw as {
            metadata?: {
              namespace?: string;
              name?: string;
              uid?: string;
              generation?: number;
              resourceVersion?: string;
            };
          }
        ).metadata ?? {};
      const id = `${meta.namespace}/${meta.name}`;
      // generation moves only with the spec; a status write must not recompile or re-log. The
      // uid tells a baseline deleted and created again (generation 1 both times) from the
      // old one: its observations are owned by, and garbage-collected with, the old uid.
      const version = `${meta.uid ?? ""}/${meta.generation ?? meta.resourceVersion ?? ""}`;
      seen.add(id);
      let entry = this.#compiled.get(id);
      if (!entry || entry.version !== version) {
        entry = { version, ...this.#compile(raw) };
        this.#compiled.set(id, entry);
        if (entry.problem)
          this.log("skipping invalid NetworkBaseline", {
            level: "warn",
            baseline: id,
            problem: entry.problem,
          });
      }
      if (entry.baseline) out.push(entry.baseline);
    }
    for (const id of this.#compiled.keys()) if (!seen.has(id)) this.#compiled.delete(id);
    return out;
  }

  #compile(raw: unknown): { baseline?: CompiledBaseline; problem?: string } {
    const parsed = parseBaseline(raw);
    return parsed.ok ? { baseline: compileBaseline(parsed.baseline) } : { problem: parsed.problem };
  }
}
