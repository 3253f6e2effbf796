/**
 * `socklens report`: the summary a human reads first (docs/report.md). Reads findings from a
 * `watch` NDJSON stream or file (or `check` output), a directory of snapshots (replayed through
 * the baselines and the detectors), or the cluster (the agent's Events in a time window), then
 * ranks, groups and writes one paragraph per workload (src/core/report). Wiring only.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseDuration } from "../api/v1alpha1/common.js";
import type { NetworkBaseline } from "../api/v1alpha1/networkbaseline.js";
import { REVIEWED_AT_ANNOTATION } from "../core/baseline/ack.js";
import { type CompiledBaseline, compileBaseline } from "../core/baseline/compile.js";
import { evaluate } from "../core/baseline/evaluate.js";
import { type FindingRecord, findingRecord, suppressedRecord } from "../core/baseline/finding-record.js";
import { offlineResolver } from "../core/baseline/resolver.js";
import { selectorMatches } from "../core/baseline/selector.js";
import type { Finding } from "../core/baseline/types.js";
import { escapeText } from "../core/escape.js";
import { detect } from "../core/memory/detectors.js";
import { Tracker } from "../core/memory/tracker.js";
import { type BaselineInfo, buildReport } from "../core/report/build.js";
import {
  asFindingRecord,
  FindingAggregator,
  type Observed,
  readFindingStream,
} from "../core/report/input.js";
import { maskReport } from "../core/report/mask.js";
import { renderReportJson, renderReportMarkdown, renderReportText } from "../core/report/render.js";
import { netnsLabel, type Socket } from "../core/socket.js";
import { readBaselineFiles, reportProblems } from "./baseline.js";
import { CLUSTER_OPTIONS, kubeConfigFrom, localAddresses } from "./cluster-flags.js";
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, InputError, UsageError } from "./errors.js";
import { parseFlags } from "./flags.js";
import { readInputFile } from "./input.js";
import type { CliIO } from "./io.js";
import { parseMasks } from "./options.js";
import { readSnapshot } from "./snapshot.js";

export const REPORT_HELP = `Usage: socklens report [FILE|DIR|-] [--baseline FILE] [-o text|md|json] [--show-suppressed] [--since 1h] [--now TIME] [--mask CIDR]
       socklens report --kubeconfig FILE|--cluster [--namespace NS] [--since 1h] [...]

The summary to read first: findings ranked by confirmed incidents, severity, novelty (first
seen after the baseline was last reviewed, annotation ${REVIEWED_AT_ANNOTATION}) and recency,
grouped by workload, one paragraph each, followed by each finding's key for socklens ack.

Input (one of):
  FILE or -          NDJSON from socklens watch -o ndjson (or socklens check -o ndjson|json)
  DIR                a directory of snapshots (socklens snapshot), replayed in time order
                     through --baseline's checks and the detectors
  --kubeconfig FILE  the cluster: the socklens agent's Events of the last --since (default 1h)
  --cluster          (KUBECONFIG or ~/.kube/config), and the NetworkBaselines they concern

  --baseline FILE    baselines (host input): their reviewed-at annotation and spec.exceptions
                     (acknowledged patterns are suppressed, confirmed ones ranked high)
  --since D          only findings seen in the last D (before --now)
  --now TIME         the report's "now" (RFC 3339); default: the end of a file's input, the
                     clock for the cluster
  --show-suppressed  list acknowledged findings, not only their count
  -o text|md|json    default text
  --mask CIDR        mask addresses (also SOCKLENS_MASK)

Exit 0 when nothing fires, 1 when findings fire, 2 on bad input.
`;

const MAX_STREAM_BYTES = 256 * 1024 * 1024;

export const REPORT_OPTIONS = {
  ...CLUSTER_OPTIONS,
  baseline: { type: "string", multiple: true, short: "f" },
  output: { type: "string", short: "o" },
  "show-suppressed": { type: "boolean" },
  since: { type: "string" },
  now: { type: "string" },
  namespace: { type: "string", short: "n" },
  mask: { type: "string", multiple: true },
} as const;

export async function reportCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(args, REPORT_OPTIONS, true);
  const format = values.output ?? "text";
  if (!["text", "md", "json"].includes(format))
    throw new UsageError(`-o/--output: "${format}" is not one of text, md, json`);
  const since = values.since === undefined ? undefined : parseDuration(values.since);
  if (since === null || (since !== undefined && since <= 0))
    throw new UsageError(`--since: "${values.since}" is not a positive duration such as 1h`);
  let fixedNow: number | undefined;
  if (values.now !== undefined) {
    fixedNow = Date.parse(values.now);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(values.now) || Number.isNaN(fixedNow))
      throw new UsageError(`--now: "${values.now}" is not an RFC 3339 time such as 2026-11-24T14:05:00Z`);
  }
  const masks = parseMasks(values.mask, io.env);
  const cluster = values.kubeconfig !== undefined || values.cluster === true;
  if (cluster && positionals.length) throw new UsageError("report reads a FILE/DIR or the cluster, not both");
  if (!cluster && positionals.length !== 1)
    throw new UsageError("report needs one input: FILE, DIR, - (stdin) or --kubeconfig FILE");
  if (values.namespace !== undefined && !cluster)
    throw new UsageError("--namespace is for --kubeconfig input");

  let observed: Observed[];
  let baselines: BaselineInfo[] = [];
  let compiled: CompiledBaseline[] = [];
  let now: number;
  if (cluster) {
    if (values.baseline?.length)
      throw new UsageError("--baseline FILE is for host input; the cluster's baselines are read from it");
    now = fixedNow ?? Date.now();
    const from = now - (since ?? 3_600_000);
    ({ observed, baselines } = await fromCluster(values, from, now, io));
  } else {
    if (values.baseline?.length) {
      const { baselines: parsed, problems } = readBaselineFiles(values.baseline, io.env);
      reportProblems(problems, io);
      if (problems.length) return EXIT_USAGE;
      compiled = parsed.map((v) => compileBaseline(v.baseline));
      baselines = parsed.map((v, i) => hostBaselineInfo(v.baseline, compiled[i] as CompiledBaseline));
    }
    const input = positionals[0] as string;
    observed = isDirectory(input) ? fromSnapshots(input, compiled, io) : fromStream(input, io);
    const latest = Math.max(...observed.map((o) => o.lastSeen ?? Number.NEGATIVE_INFINITY));
    now = fixedNow ?? (Number.isFinite(latest) ? latest : Date.now());
  }
  if (since !== undefined)
    observed = observed.filter((o) => o.lastSeen === undefined || o.lastSeen >= now - since);
  const report = maskReport(buildReport(observed, { now, baselines }), masks);
  const options = { showSuppressed: values["show-suppressed"] ?? false };
  io.out(
    format === "json"
      ? renderReportJson(report, options)
      : format === "md"
        ? renderReportMarkdown(report, options)
        : renderReportText(report, options),
  );
  return report.totals.findings > 0 ? EXIT_FINDINGS : EXIT_OK;
}

function isDirectory(path: string): boolean {
  if (path === "-") return false;
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function reviewedAt(b: { metadata?: { annotations?: Record<string, string> } }): number | undefined {
  const text = b.metadata?.annotations?.[REVIEWED_AT_ANNOTATION];
  const t = text === undefined ? Number.NaN : Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

/** On a host, as in watch: every baseline given speaks for every scope. */
function hostBaselineInfo(b: NetworkBaseline, c: CompiledBaseline): BaselineInfo {
  const at = reviewedAt(b);
  return {
    id: c.id,
    exceptions: c.exceptions,
    covers: () => true,
    ...(at !== undefined ? { reviewedAt: at } : {}),
  };
}

function fromStream(input: string, io: CliIO): Observed[] {
  let text: string;
  if (input === "-") {
    try {
      text = readFileSync(0, "utf8");
    } catch (err) {
      throw new InputError(`cannot read stdin: ${(err as Error).message}`);
    }
  } else {
    const r = readInputFile(input, MAX_STREAM_BYTES);
    if ("problem" in r) throw new InputError(`${input}: ${r.problem}`);
    text = r.text;
  }
  const { observed, problems } = readFindingStream(text);
  const name = input === "-" ? "stdin" : input;
  // Bad lines are named (a few) and counted, and the rest is reported: one corrupt line in a
  // day's stream should not hide the day.
  for (const p of problems.slice(0, 5))
    io.err(`socklens report: ${escapeText(name)}:${p.line}: not a finding: ${escapeText(p.message)}\n`);
  if (problems.length > 5)
    io.err(`socklens report: ${escapeText(name)}: ${problems.length - 5} more line(s) skipped\n`);
  if (observed.length === 0 && problems.length > 0)
    throw new InputError(`${name}: no finding records (${problems.length} line(s) were not findings)`);
  return observed;
}

/**
 * Snapshots replayed in time order: each is one scan, fed to the tracker (one scope per
 * network namespace, as in watch) and checked against the baselines; a finding seen in
 * consecutive snapshots is one finding, and it ends at the first snapshot without it.
 */
function fromSnapshots(dir: string, compiled: CompiledBaseline[], io: CliIO): Observed[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json"));
  } catch (err) {
    throw new InputError(`${dir}: ${(err as Error).message}`);
  }
  if (names.length === 0) throw new InputError(`${dir} holds no snapshot (*.json)`);
  const snaps = names
    .map((n) => readSnapshot(join(dir, n)))
    .sort((a, b) => Date.parse(a.metadata.timestamp) - Date.parse(b.metadata.timestamp));
  if (compiled.length === 0)
    io.err("socklens report: no --baseline: snapshots are judged by the detectors only\n");
  const resolver = offlineResolver(localAddresses());
  const tracker = new Tracker();
  const agg = new FindingAggregator();
  let active = new Map<string, FindingRecord>();
  for (const snap of snaps) {
    const at = Date.parse(snap.metadata.timestamp);
    const byNetns = new Map<number, Socket[]>();
    for (const s of snap.sockets) {
      const list = byNetns.get(s.netns);
      if (list) list.push(s);
      else byNetns.set(s.netns, [s]);
    }
    const names = new Map<number, string>();
    for (const n of snap.namespaces)
      names.set(n.inode, `netns ${netnsLabel({ netns: n.inode, ...(n.name ? { netnsName: n.name } : {}) })}`);
    const scopeOf = (ns: number) => names.get(ns) ?? `netns ${ns}`;
    tracker.observe(
      at,
      [...byNetns].map(([ns, sockets]) => ({ scope: scopeOf(ns), sockets, processes: [] })),
    );
    const found: FindingRecord[] = [];
    for (const [ns, sockets] of byNetns) {
      const m = tracker.scope(scopeOf(ns));
      const detected: Finding[] = m ? detect(m, at, { isInternal: (a) => resolver.isHost(a) }) : [];
      for (const f of detected) found.push(findingRecord(f));
      for (const b of compiled) {
        const r = evaluate(b, { scope: scopeOf(ns), sockets }, resolver, new Date(at));
        for (const f of r.findings) found.push(findingRecord(f));
        for (const x of r.suppressed) found.push(suppressedRecord(x));
      }
    }
    const next = new Map<string, FindingRecord>();
    for (const r of found) {
      const id = `${r.scope}|${r.baseline}|${r.key}`;
      if (!active.has(id) && !next.has(id)) agg.add(r, "start", at);
      next.set(id, r);
    }
    for (const [id, r] of active) if (!next.has(id)) agg.add(r, "end", at);
    active = next;
  }
  return agg.observed;
}

interface EventLike {
  metadata?: { annotations?: Record<string, string> };
  eventTime?: unknown;
  deprecatedFirstTimestamp?: unknown;
  reportingController?: string;
  reason?: string;
  note?: string;
  type?: string;
  regarding?: { kind?: string; namespace?: string; name?: string; uid?: string };
  series?: { count?: number; lastObservedTime?: unknown };
}

/** The annotation the agent puts the finding record in (src/agent/agent.ts: FINDING_ANNOTATION). */
const FINDING_ANNOTATION = "socklens.io/finding";

function timeOf(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const t = v instanceof Date ? v.getTime() : Date.parse(String(v));
  return Number.isNaN(t) ? undefined : t;
}

/** The cluster: the agent's Events (findings on pods) and the NetworkBaselines they concern. */
async function fromCluster(
  values: { kubeconfig?: string; context?: string; namespace?: string },
  from: number,
  now: number,
  io: CliIO,
): Promise<{ observed: Observed[]; baselines: BaselineInfo[] }> {
  const kc = await kubeConfigFrom(values);
  const { CustomObjectsApi, EventsV1Api, CoreV1Api } = await import("@kubernetes/client-node");
  const { GROUP, VERSION } = await import("../api/v1alpha1/common.js");
  const { PLURAL } = await import("../api/v1alpha1/networkbaseline.js");
  const server = kc.getCurrentCluster()?.server ?? "(no current cluster)";
  const fail = (what: string, err: unknown) =>
    new InputError(
      `cannot list ${what} from ${server}: ${(err as { code?: number }).code ? `HTTP ${(err as { code?: number }).code}: ` : ""}${String((err as Error).message ?? err).split("\n")[0]}`,
      { cause: err },
    );
  const events = kc.makeApiClient(EventsV1Api);
  let items: EventLike[];
  try {
    const list = values.namespace
      ? await events.listNamespacedEvent({ namespace: values.namespace })
      : await events.listEventForAllNamespaces();
    items = list.items as EventLike[];
  } catch (err) {
    throw fail("events", err);
  }
  const custom = kc.makeApiClient(CustomObjectsApi);
  let raw: NetworkBaseline[];
  try {
    const ref = { group: GROUP, version: VERSION, plural: PLURAL };
    const list = (
      values.namespace
        ? await custom.listNamespacedCustomObject({ ...ref, namespace: values.namespace })
        : await custom.listClusterCustomObject(ref)
    ) as { items: NetworkBaseline[] };
    raw = list.items;
  } catch (err) {
    throw fail("networkbaselines", err);
  }
  // Pod labels decide which baselines speak for a detector's finding (it names none).
  const core = kc.makeApiClient(CoreV1Api);
  const labels = new Map<string, Record<string, string>>();
  try {
    const pods = values.namespace
      ? await core.listNamespacedPod({ namespace: values.namespace })
      : await core.listPodForAllNamespaces();
    for (const p of pods.items)
      labels.set(`${p.metadata?.namespace}/${p.metadata?.name}`, p.metadata?.labels ?? {});
  } catch (err) {
    io.err(
      `socklens report: ${escapeText(fail("pods", err).message)}; detector findings are matched to baselines by namespace only\n`,
    );
  }
  const baselines: BaselineInfo[] = [];
  for (const b of raw) {
    let c: ReturnType<typeof compileBaseline>;
    try {
      c = compileBaseline(b);
    } catch {
      continue;
    }
    const at = reviewedAt(b);
    baselines.push({
      id: c.id,
      exceptions: c.exceptions,
      ...(at !== undefined ? { reviewedAt: at } : {}),
      covers: (r) => {
        if (r.pod?.namespace !== c.namespace) return false;
        const l = labels.get(`${r.pod.namespace}/${r.pod.name}`);
        return l
          ? selectorMatches(b.spec.podSelector, l)
          : Object.keys(b.spec.podSelector ?? {}).length === 0;
      },
    });
  }
  const agg = new FindingAggregator();
  let skipped = 0;
  for (const e of items) {
    if (e.reportingController !== "socklens.io/agent" || e.regarding?.kind !== "Pod") continue;
    const first = timeOf(e.eventTime) ?? timeOf(e.deprecatedFirstTimestamp);
    const last = timeOf(e.series?.lastObservedTime) ?? first;
    if (first === undefined || (last ?? first) < from || first > now) continue;
    const record = eventRecord(e);
    if (!record) {
      skipped++;
      continue;
    }
    agg.addSeries(record, first, Math.max(first, last ?? first), Math.max(1, e.series?.count ?? 1));
  }
  if (skipped) io.err(`socklens report: ${skipped} socklens Event(s) could not be read as findings\n`);
  return { observed: agg.observed, baselines };
}

/** The finding an agent's Event is about: its annotation (full record), else what the Event says. */
function eventRecord(e: EventLike): FindingRecord | undefined {
  const pod = {
    namespace: e.regarding?.namespace ?? "",
    name: e.regarding?.name ?? "",
    ...(e.regarding?.uid ? { uid: e.regarding.uid } : {}),
  };
  const annotated = e.metadata?.annotations?.[FINDING_ANNOTATION];
  if (annotated !== undefined) {
    try {
      const r = asFindingRecord(JSON.parse(annotated));
      // The pod is the Event's, which the API server checked: never the annotation's word.
      if (typeof r !== "string") return { ...r, pod: { ...r.pod, ...pod } };
    } catch {
      // fall back to the Event's own fields
    }
  }
  if (!e.reason || !e.note) return undefined;
  const r = asFindingRecord({
    rule: e.reason,
    severity: e.type === "Warning" ? "medium" : "info",
    message: e.note,
    scope: `pod ${pod.namespace}/${pod.name}`,
    baseline: "",
    pod,
    count: e.series?.count ?? 1,
  });
  return typeof r === "string" ? undefined : r;
}
