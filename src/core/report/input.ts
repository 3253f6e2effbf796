/**
 * What `socklens report` reads, turned into one list of observed findings: the NDJSON of
 * `socklens watch` (start/end/summary events), the finding records of `socklens check -o
 * ndjson|json`, or findings the CLI built from snapshots or the cluster. Every line is
 * attacker-influenced text (process names, command lines): it is checked for shape, kept raw
 * here, and escaped only where it is printed. A line that is not a finding is counted and
 * named, never a crash. Pure.
 */
import type { FindingRecord } from "../baseline/finding-record.js";
import { type Pattern, parsePatternKey, patternKey } from "../baseline/patterns.js";

/** One finding as the report sees it: its record and when it was seen. */
export interface Observed {
  record: FindingRecord;
  /** First start (ms since the epoch); absent when the input had no time (check output). */
  firstSeen?: number;
  /** Last start or end seen. */
  lastSeen?: number;
  /** How many times it started (a finding that ends and comes back starts again). */
  occurrences: number;
  /** Still going at the end of the input (no end event after its last start). */
  active: boolean;
}

export interface InputProblem {
  line: number;
  message: string;
}

const SEVERITIES = new Set(["info", "low", "medium", "high"]);
/** A longer line is not a finding record socklens wrote (a record is well under 8 KiB). */
export const MAX_LINE_BYTES = 64 * 1024;

/** The checked shape of one finding record, or why it is not one. */
export function asFindingRecord(value: unknown): FindingRecord | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a JSON object";
  const r = value as Record<string, unknown>;
  for (const field of ["rule", "severity", "message", "scope"] as const)
    if (typeof r[field] !== "string") return `"${field}" is missing or not a string`;
  if (!SEVERITIES.has(r.severity as string))
    return `"severity" ${JSON.stringify(r.severity)} is not info, low, medium or high`;
  if (typeof r.count !== "number" || !Number.isFinite(r.count)) return `"count" is missing or not a number`;
  for (const field of [
    "process",
    "cmdline",
    "peerAddress",
    "localAddress",
    "peerIdentity",
    "state",
    "key",
    "baseline",
  ])
    if (r[field] !== undefined && typeof r[field] !== "string") return `"${field}" is not a string`;
  for (const field of ["pid", "peerPort", "localPort", "limit", "netns"])
    if (r[field] !== undefined && typeof r[field] !== "number") return `"${field}" is not a number`;
  for (const field of ["pod", "workload", "suppressed", "mitre"])
    if (r[field] !== undefined && (typeof r[field] !== "object" || r[field] === null))
      return `"${field}" is not an object`;
  const w = r.workload as { kind?: unknown; name?: unknown } | undefined;
  if (w && (typeof w.kind !== "string" || typeof w.name !== "string"))
    return `"workload" needs kind and name`;
  const p = r.pod as Record<string, unknown> | undefined;
  if (p && ["namespace", "name", "uid"].some((k) => p[k] !== undefined && typeof p[k] !== "string"))
    return `"pod" fields must be strings`;
  const record = {
    ...r,
    baseline: typeof r.baseline === "string" ? r.baseline : "",
  } as unknown as FindingRecord;
  // The key in canonical form (a stream is data: its key could carry anything), or derived from
  // the fields for records written before keys existed.
  record.key = patternKey(patternOfRecord(record));
  return record;
}

/** The pattern a record's key names; from its fields when the key is missing or unreadable. */
export function patternOfRecord(r: FindingRecord): Pattern {
  if (typeof r.key === "string")
    try {
      return parsePatternKey(r.key);
    } catch {
      // fall through: a key we cannot read (a rule exceptions cannot name) still has fields
    }
  const address = r.peerAddress ?? r.localAddress;
  const port = r.peerPort ?? r.localPort;
  return {
    rule: r.rule,
    ...(address !== undefined ? { address } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(r.process !== undefined ? { process: r.process } : {}),
  };
}

/** Which findings are "the same" across lines: scope, baseline and pattern (not pid or counts). */
export function identityOf(r: FindingRecord): string {
  return `${r.scope}|${r.baseline}|${r.key}`;
}

/**
 * Read NDJSON: watch events (`{event: start|end, time, …record}`), bare finding records
 * (check -o ndjson), or one JSON document of check -o json (`{results: [{findings,
 * suppressed}]}`). Summary lines are skipped.
 */
/** Folds start/end events (or timeless records) of the same finding into one Observed. */
export class FindingAggregator {
  readonly #byId = new Map<string, Observed>();

  add(record: FindingRecord, event: "start" | "end" | undefined, time: number | undefined): void {
    const id = identityOf(record);
    let o = this.#byId.get(id);
    if (!o) {
      o = { record, occurrences: 0, active: false };
      this.#byId.set(id, o);
    }
    if (event === "end") {
      o.active = false;
    } else {
      o.occurrences++;
      o.active = event === "start";
      // The latest start's record: its counts and message are the freshest.
      if (time === undefined || o.lastSeen === undefined || time >= o.lastSeen) o.record = record;
    }
    if (time !== undefined) {
      if (o.firstSeen === undefined || time < o.firstSeen) o.firstSeen = time;
      if (o.lastSeen === undefined || time > o.lastSeen) o.lastSeen = time;
    }
  }

  /** A finding someone else aggregated (an Event series): seen `count` times between two times. */
  addSeries(record: FindingRecord, first: number, last: number, count: number): void {
    const id = identityOf(record);
    const o = this.#byId.get(id);
    if (!o) {
      this.#byId.set(id, { record, firstSeen: first, lastSeen: last, occurrences: count, active: false });
      return;
    }
    o.occurrences += count;
    if (first < (o.firstSeen ?? first)) o.firstSeen = first;
    if (last >= (o.lastSeen ?? last)) {
      o.lastSeen = last;
      o.record = record;
    }
  }

  get observed(): Observed[] {
    return [...this.#byId.values()];
  }
}

export function readFindingStream(text: string): { observed: Observed[]; problems: InputProblem[] } {
  const problems: InputProblem[] = [];
  const agg = new FindingAggregator();
  const add = (record: FindingRecord, event: string | undefined, time: number | undefined) =>
    agg.add(record, event as "start" | "end" | undefined, time);
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{") && !trimmed.includes("\n{")) {
    // Possibly one pretty-printed JSON document (check -o json).
    try {
      const doc = JSON.parse(trimmed) as { results?: { findings?: unknown[]; suppressed?: unknown[] }[] };
      if (Array.isArray(doc.results)) {
        for (const res of doc.results)
          for (const v of [...(res.findings ?? []), ...(res.suppressed ?? [])]) {
            const r = asFindingRecord(v);
            if (typeof r === "string") problems.push({ line: 1, message: r });
            else add(r, undefined, undefined);
          }
        return { observed: agg.observed, problems };
      }
    } catch {
      // not one document: read it line by line below
    }
  }
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    if (line.length > MAX_LINE_BYTES) {
      problems.push({ line: i + 1, message: `longer than ${MAX_LINE_BYTES} bytes` });
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      problems.push({ line: i + 1, message: "not JSON" });
      return;
    }
    const event = (value as { event?: unknown } | null)?.event;
    if (event === "summary") return;
    if (event !== undefined && event !== "start" && event !== "end") {
      problems.push({ line: i + 1, message: `unknown event ${JSON.stringify(event)}` });
      return;
    }
    const timeText = (value as { time?: unknown }).time;
    const time = typeof timeText === "string" ? Date.parse(timeText) : undefined;
    if (event !== undefined && (time === undefined || Number.isNaN(time))) {
      problems.push({ line: i + 1, message: `"time" is missing or not a time` });
      return;
    }
    const { event: _e, time: _t, durationMs: _d, ...rest } = value as Record<string, unknown>;
    const r = asFindingRecord(rest);
    if (typeof r === "string") problems.push({ line: i + 1, message: r });
    else add(r, event as string | undefined, time);
  });
  return { observed: agg.observed, problems };
}
