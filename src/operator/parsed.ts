/**
 * Each NetworkBaseline parsed once per generation. The zod parse plus semantic checks of a spec
 * is the largest piece of a reconcile's own CPU (bench/README.md, "Cluster scale"), and a
 * baseline is reconciled again on every event of its pods and observations while its spec
 * stays the same. generation moves only with the spec (the API server bumps it on spec
 * changes, never on status writes or label edits), so uid + generation names the parse
 * result, as the agent's BaselineCache (src/agent/baselines.ts) does for compiled baselines.
 * The uid tells a baseline deleted and created again (generation 1 both times) from the old.
 */
import { type ParsedBaseline, parseBaseline } from "../api/parse.js";

interface Meta {
  namespace?: string;
  name?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
}

export class ParseCache {
  readonly #entries = new Map<string, { version: string; parsed: ParsedBaseline }>();
  /** Parses done and parses saved (tests, and the operator's stop log). */
  readonly stats = { parsed: 0, hits: 0 };

  /** The parse of this object's spec, from the cache when its uid and generation are known. */
  get(raw: unknown): ParsedBaseline {
    const obj = raw as { metadata?: Meta; status?: unknown };
    const meta = obj.metadata ?? {};
    const key = `${meta.namespace}/${meta.name}`;
    // Without a generation (an object not from an API server) there is nothing to key on:
    // fall back to resourceVersion, and without either parse every time.
    const v = meta.generation ?? meta.resourceVersion;
    const version = v === undefined ? undefined : `${meta.uid ?? ""}/${v}`;
    const hit = version === undefined ? undefined : this.#entries.get(key);
    if (hit && hit.version === version) {
      this.stats.hits++;
      return hit.parsed;
    }
    // The status is the operator's own output and moves without the generation: the verdict
    // on the spec must not depend on it (nor on whether this entry was cached before a status
    // write), so it is left out of the parse.
    const { status: _status, ...rest } = (raw ?? {}) as Record<string, unknown>;
    const parsed = parseBaseline(rest);
    this.stats.parsed++;
    if (version !== undefined) this.#entries.set(key, { version, parsed });
    return parsed;
  }

  /** Forget a baseline that is gone. */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
