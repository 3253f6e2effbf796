/**
 * `socklens report`: observed findings → one ranked paragraph per workload. Ranking, in order:
 * a confirmed incident's pattern (`socklens ack --confirm`), severity, novelty (first seen after
 * the baseline was last reviewed: the `socklens.io/reviewed-at` annotation, ADR 0021), recency
 * (last seen), then rule and key so ties always fall the same way. Acknowledged patterns are
 * counted as suppressed; an expired acknowledgement fires again and says so. Pure: the time
 * is passed in, so the same input gives the same report.
 */

import { SEVERITY_ORDER } from "../baseline/evaluate.js";
import type { FindingRecord } from "../baseline/finding-record.js";
import { type CompiledException, exceptionCoversPattern, isExpired } from "../baseline/patterns.js";
import type { Severity } from "../baseline/types.js";
import { type Observed, patternOfRecord } from "./input.js";
import { adviceFor, phraseOf } from "./phrases.js";
import { data, day, joinList, lastWindow, plain, plural, type Text } from "./text.js";

/** What the report knows of a baseline: when it was reviewed, what it acknowledges. */
export interface BaselineInfo {
  /** "namespace/name". */
  id: string;
  /** When a human last reviewed it (ms); absent: never. */
  reviewedAt?: number;
  exceptions: readonly CompiledException[];
  /**
   * Does it speak for a finding that names no baseline (a detector's)? The CLI decides: on a
   * host every baseline given covers every scope (as in watch); in a cluster, the baselines
   * whose selector matches the pod.
   */
  covers: (r: FindingRecord) => boolean;
}

export interface ReportOptions {
  now: number;
  baselines: readonly BaselineInfo[];
  /** Most findings named in one paragraph; the rest are counted. */
  maxPhrases?: number;
}

export interface ReportItem extends Observed {
  /** Severity after a confirmed incident raised it. */
  severity: Severity;
  /** True: first seen after the review; false: before; absent: cannot tell. */
  isNew?: boolean;
  confirmed?: { reason: string; by?: string };
  suppressed?: { reason: string; expires?: string; by?: string };
  /** A benign acknowledgement covering it has expired: it fires again. */
  expiredAck?: { reason: string; expires: string };
}

export interface WorkloadReport {
  /** What the group is: "deployment shop/web", "pod shop/web-0", "netns 4026532318 (app)". */
  id: string;
  title: string;
  namespace?: string;
  baselines: { id: string; reviewedAt?: string }[];
  items: ReportItem[];
  suppressed: ReportItem[];
  paragraph: Text;
}

export interface Report {
  generatedAt: string;
  from?: string;
  to?: string;
  totals: {
    workloads: number;
    findings: number;
    new: number;
    suppressed: number;
    confirmed: number;
    expiredAcks: number;
  };
  workloads: WorkloadReport[];
}

const MAX_PHRASES = 3;

function groupOf(r: FindingRecord): { id: string; title: string; namespace?: string } {
  const ns = r.pod?.namespace;
  if (r.workload && ns)
    return {
      id: `${r.workload.kind.toLowerCase()} ${ns}/${r.workload.name}`,
      title: `${r.workload.name} (${ns})`,
      namespace: ns,
    };
  if (r.pod?.name && ns)
    return { id: `pod ${ns}/${r.pod.name}`, title: `${r.pod.name} (${ns})`, namespace: ns };
  return { id: r.scope, title: r.scope };
}

function baselinesFor(r: FindingRecord, all: readonly BaselineInfo[]): BaselineInfo[] {
  return all.filter((b) => (r.baseline ? b.id === r.baseline : b.covers(r)));
}

/** Judge one observed finding against the baselines that speak for it. */
function judge(o: Observed, baselines: readonly BaselineInfo[], now: Date): ReportItem {
  const item: ReportItem = { ...o, severity: o.record.severity };
  const pattern = patternOfRecord(o.record);
  const exceptions = baselines.flatMap((b) => b.exceptions);
  for (const e of exceptions) {
    if (!exceptionCoversPattern(e, pattern)) continue;
    const expired = isExpired(e, now);
    if ((e.verdict ?? "Benign") === "Confirmed") {
      if (!expired && !item.confirmed) item.confirmed = { reason: e.reason, ...(e.by ? { by: e.by } : {}) };
    } else if (!expired) {
      item.suppressed ??= {
        reason: e.reason,
        ...(e.expires ? { expires: e.expires } : {}),
        ...(e.by ? { by: e.by } : {}),
      };
    } else if (e.expires) item.expiredAck ??= { reason: e.reason, expires: e.expires };
  }
  // Suppressed by whoever wrote the stream (watch with --show-suppressed) and not re-judged here.
  if (!item.suppressed && o.record.suppressed && !item.expiredAck)
    item.suppressed = { ...o.record.suppressed };
  if (item.confirmed) item.severity = "high";
  // A confirmed pattern is never hidden: the incident outranks an older benign verdict.
  if (item.confirmed) delete item.suppressed;
  const reviewed = baselines
    .map((b) => b.reviewedAt)
    .filter((t): t is number => t !== undefined)
    .sort((a, b) => b - a)[0];
  if (baselines.length > 0 && reviewed === undefined) item.isNew = true;
  else if (reviewed !== undefined && o.firstSeen !== undefined) item.isNew = o.firstSeen > reviewed;
  return item;
}

/** Higher first: confirmed, severity, new, recent; then rule and key, so ties are stable. */
export function compareItems(a: ReportItem, b: ReportItem): number {
  return (
    Number(!!b.confirmed) - Number(!!a.confirmed) ||
    SEVERITY_ORDER[b.severity] - SEVERITY_ORDER[a.severity] ||
    Number(b.isNew === true) - Number(a.isNew === true) ||
    (b.lastSeen ?? -1) - (a.lastSeen ?? -1) ||
    cmp(a.record.rule, b.record.rule) ||
    cmp(a.record.key, b.record.key) ||
    cmp(a.record.scope, b.record.scope)
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function buildReport(observed: readonly Observed[], o: ReportOptions): Report {
  const now = new Date(o.now);
  const groups = new Map<
    string,
    { g: ReturnType<typeof groupOf>; items: ReportItem[]; baselines: Map<string, BaselineInfo> }
  >();
  for (const ob of observed) {
    const g = groupOf(ob.record);
    const bs = baselinesFor(ob.record, o.baselines);
    const item = judge(ob, bs, now);
    let entry = groups.get(g.id);
    if (!entry) {
      entry = { g, items: [], baselines: new Map() };
      groups.set(g.id, entry);
    }
    entry.items.push(item);
    for (const b of bs) entry.baselines.set(b.id, b);
  }
  const workloads: WorkloadReport[] = [];
  for (const { g, items, baselines } of groups.values()) {
    const firing = items.filter((i) => !i.suppressed).sort(compareItems);
    const suppressed = items.filter((i) => i.suppressed).sort(compareItems);
    const bl = [...baselines.values()].sort((a, b) => cmp(a.id, b.id));
    workloads.push({
      ...g,
      baselines: bl.map((b) => ({
        id: b.id,
        ...(b.reviewedAt !== undefined ? { reviewedAt: new Date(b.reviewedAt).toISOString() } : {}),
      })),
      items: firing,
      suppressed,
      paragraph: paragraph(g.title, firing, suppressed, bl, o),
    });
  }
  // Workloads by their most urgent finding; those with nothing firing last.
  workloads.sort((a, b) => {
    const x = a.items[0];
    const y = b.items[0];
    if (x && y) return compareItems(x, y) || cmp(a.id, b.id);
    if (x || y) return x ? -1 : 1;
    return cmp(a.id, b.id);
  });
  const all = workloads.flatMap((w) => [...w.items, ...w.suppressed]);
  const times = all.flatMap((i) => [i.firstSeen, i.lastSeen]).filter((t): t is number => t !== undefined);
  return {
    generatedAt: now.toISOString(),
    ...(times.length
      ? { from: new Date(Math.min(...times)).toISOString(), to: new Date(Math.max(...times)).toISOString() }
      : {}),
    totals: {
      workloads: workloads.filter((w) => w.items.length > 0).length,
      findings: workloads.reduce((n, w) => n + w.items.length, 0),
      new: workloads.reduce((n, w) => n + w.items.filter((i) => i.isNew).length, 0),
      suppressed: workloads.reduce((n, w) => n + w.suppressed.length, 0),
      confirmed: workloads.reduce((n, w) => n + w.items.filter((i) => i.confirmed).length, 0),
      expiredAcks: workloads.reduce((n, w) => n + w.items.filter((i) => i.expiredAck).length, 0),
    },
    workloads,
  };
}

function paragraph(
  title: string,
  items: ReportItem[],
  suppressed: ReportItem[],
  baselines: BaselineInfo[],
  o: ReportOptions,
): Text {
  const out: Text = [data(title), plain(": ")];
  if (items.length === 0) {
    out.push(plain(`nothing firing; ${plural(suppressed.length, "acknowledged finding")} suppressed.`));
    return out;
  }
  const newCount = items.filter((i) => i.isNew).length;
  const firsts = items.map((i) => i.firstSeen).filter((t): t is number => t !== undefined);
  const window = firsts.length ? ` in ${lastWindow(o.now - Math.min(...firsts))}` : "";
  const noun = (n: number) => (n === 1 ? "behaviour" : "behaviours");
  out.push(
    plain(
      newCount === items.length && baselines.length > 0
        ? `${items.length} new ${noun(items.length)}${window} — `
        : `${items.length} ${noun(items.length)}${newCount ? ` (${newCount} new)` : ""}${window} — `,
    ),
  );
  const max = o.maxPhrases ?? MAX_PHRASES;
  const phrases = items.slice(0, max).map((i) => phraseOf(i.record, i.firstSeen));
  if (items.length > max) phrases.push([plain(`${items.length - max} more`)]);
  out.push(...joinList(phrases), plain("."));
  // Novelty, against the latest review of the baselines that speak for these findings.
  const reviewed = baselines
    .map((b) => b.reviewedAt)
    .filter((t): t is number => t !== undefined)
    .sort((a, b) => b - a)[0];
  if (baselines.length === 0)
    out.push(plain(" No baseline describes this workload, so nothing here is judged new."));
  else if (reviewed === undefined)
    out.push(
      plain(
        ` The baseline${baselines.length > 1 ? "s were" : " was"} never reviewed (no socklens.io/reviewed-at).`,
      ),
    );
  else {
    const since = `since the baseline was reviewed on ${day(reviewed)}`;
    const n = items.length;
    out.push(
      plain(
        newCount === n
          ? n === 1
            ? ` It is new ${since}.`
            : n === 2
              ? ` Both are new ${since}.`
              : ` All ${n} are new ${since}.`
          : newCount === 0
            ? ` None is new ${since}.`
            : ` ${newCount} of them ${newCount === 1 ? "is" : "are"} new ${since}.`,
      ),
    );
  }
  const confirmed = items.find((i) => i.confirmed);
  if (confirmed?.confirmed)
    out.push(
      plain(" It matches a pattern confirmed as an incident: "),
      data(confirmed.confirmed.reason),
      plain("."),
    );
  for (const i of items.filter((x) => x.expiredAck).slice(0, 2))
    out.push(
      plain(
        ` The acknowledgement of ${i.record.rule} expired on ${day(Date.parse(i.expiredAck?.expires ?? ""))} (`,
      ),
      data(i.expiredAck?.reason ?? ""),
      plain("); it fires again."),
    );
  if (suppressed.length) out.push(plain(` ${plural(suppressed.length, "acknowledged finding")} suppressed.`));
  out.push(plain(" "), ...adviceFor((items[0] as ReportItem).record));
  return out;
}
