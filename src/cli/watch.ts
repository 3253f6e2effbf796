/**
 * `socklens watch`: scan continuously, remember (src/core/memory), and report each finding
 * once when it starts and when it ends — baseline checks when a baseline is given, and every
 * detector always. On exit (duration, Ctrl-C) a summary. Wiring only.
 */
import { parseDuration } from "../api/v1alpha1/common.js";
import { compileBaseline } from "../core/baseline/compile.js";
import { evaluate, findingKey } from "../core/baseline/evaluate.js";
import { findingRecord, suppressedRecord } from "../core/baseline/finding-record.js";
import { applyExceptions } from "../core/baseline/patterns.js";
import { offlineResolver } from "../core/baseline/resolver.js";
import type { Finding, SuppressedFinding } from "../core/baseline/types.js";
import { escapeText } from "../core/escape.js";
import { maskFinding, maskText } from "../core/mask.js";
import { detect } from "../core/memory/detectors.js";
import { Tracker } from "../core/memory/tracker.js";
import type { Socket } from "../core/socket.js";
import { collectSockets, readNamespaceNames } from "../procfs/collect.js";
import { FdCache } from "../procfs/fd-cache.js";
import { fileLimitsOfBusyProcesses } from "../procfs/limits.js";
import { ownEphemeralRange } from "../procfs/netns.js";
import { procPathsFromEnv } from "../procfs/paths.js";
import { listProcesses, ProcessCache } from "../procfs/processes.js";
import { TableCache } from "../procfs/table-cache.js";
import { UserNames } from "../procfs/users.js";
import { readBaselineFiles, reportProblems, seasonalJudgesOf } from "./baseline.js";
import { localAddresses } from "./cluster-flags.js";
import { reportDiagnostics } from "./diagnostics.js";
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError } from "./errors.js";
import { parseFlags } from "./flags.js";
import type { CliIO } from "./io.js";
import { parseMasks, parseOutput } from "./options.js";
import { netnsScopeName, parseScope, SCOPE_HELP, SCOPE_OPTIONS } from "./scope.js";
import type { SeasonalJudge } from "./seasonal-judge.js";

export const WATCH_HELP = `Usage: socklens watch [--baseline FILE] [scope] [--interval 1s] [--duration D] [-o table|ndjson] [--show-suppressed] [--mask CIDR]

Scans every --interval and remembers: prints each finding once when it starts and, in
ndjson, when it ends (with how long it lasted). Runs the baseline checks when --baseline is
given, and always the detectors: Beaconing, ConnectionGrowth, CloseWaitLeak,
FailedHandshakes, EphemeralPortPressure, NetworkDiscoveryTool (docs/detectors.md). A
baseline written by learn --seasonal also judges the scope's counts by its weekly model
(SeasonalAnomaly). Findings a baseline's spec.exceptions acknowledge (socklens ack) are counted in the summary;
--show-suppressed prints them too. Without --duration it runs until Ctrl-C. Exit 0 when
nothing was found, 1 otherwise.

${SCOPE_HELP}`;

export const WATCH_OPTIONS = {
  ...SCOPE_OPTIONS,
  baseline: { type: "string", multiple: true, short: "f" },
  interval: { type: "string", default: "1s" },
  duration: { type: "string" },
  output: { type: "string", short: "o" },
  mask: { type: "string", multiple: true },
  debug: { type: "boolean" },
  "show-suppressed": { type: "boolean" },
} as const;

export interface WatchClock {
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

const realClock: WatchClock = {
  now: Date.now,
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      signal.addEventListener(
        "abort",
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    }),
};

export async function watchCommand(
  args: string[],
  io: CliIO,
  clock: WatchClock = realClock,
): Promise<number> {
  const { values } = parseFlags(args, WATCH_OPTIONS);
  const showSuppressed = values["show-suppressed"] ?? false;
  const interval = parseDuration(values.interval);
  if (interval === null || interval <= 0)
    throw new UsageError(`--interval: "${values.interval}" is not a positive duration such as 1s`);
  const duration = values.duration === undefined ? undefined : parseDuration(values.duration);
  if (duration === null)
    throw new UsageError(`--duration: "${values.duration}" is not a duration such as 30s`);
  const format = parseOutput(values.output, ["table", "ndjson"]);
  const masks = parseMasks(values.mask, io.env);
  const paths = procPathsFromEnv(io.env);
  let baselines: ReturnType<typeof compileBaseline>[] = [];
  let judges: SeasonalJudge[] = [];
  if (values.baseline?.length) {
    const { baselines: parsed, problems } = readBaselineFiles(values.baseline, io.env);
    const seasonal = await seasonalJudgesOf(parsed, clock.now());
    problems.push(...seasonal.problems);
    reportProblems(problems, io);
    if (problems.length) return EXIT_USAGE;
    baselines = parsed.map((b) => compileBaseline(b.baseline));
    judges = seasonal.judges;
  }
  const scope = parseScope(values, paths);
  // Counts judged by the weekly model `learn --seasonal` wrote (src/cli/seasonal-judge.ts):
  // the scope as one series, as it was learned; adapted in memory as the watch goes on.
  const seasonal = judges.length
    ? new (await import("./seasonal-judge.js")).SeasonalJudgement(judges, scope.description, true)
    : undefined;
  const resolver = offlineResolver(localAddresses());
  const own = ownEphemeralRange(paths);
  const tracker = new Tracker();
  const users = new UserNames(paths.passwd);
  const active = new Map<string, { finding: Finding; since: number }>();
  // Findings an exception acknowledges: counted once when they start, listed with --show-suppressed.
  const activeSuppressed = new Map<string, { x: SuppressedFinding; since: number }>();
  let suppressedTotal = 0;
  // On a host every baseline speaks for every scope (as check does), so their exceptions
  // apply to the detectors' findings too.
  const exceptions = baselines.flatMap((b) => b.exceptions);
  const started = clock.now();
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let total = 0;
  const byRule = new Map<string, number>();
  const print = (
    event: "start" | "end",
    raw: Finding,
    at: number,
    since: number,
    suppressed?: SuppressedFinding,
  ) => {
    const f = maskFinding(raw, masks);
    if (format === "ndjson") {
      const record = suppressed
        ? suppressedRecord({ ...suppressed, reason: maskText(suppressed.reason, masks), finding: f })
        : findingRecord(f);
      io.out(
        `${JSON.stringify({ event, time: new Date(at).toISOString(), ...(event === "end" ? { durationMs: at - since } : {}), ...record })}\n`,
      );
    } else if (event === "start")
      io.out(
        `${new Date(at).toISOString()}  ${(suppressed ? "ACKED" : f.severity.toUpperCase()).padEnd(6)} ${f.rule.padEnd(22)} ${escapeText(f.message)}${suppressed ? ` (suppressed: ${escapeText(maskText(suppressed.reason, masks))})` : ""}\n`,
      );
  };
  // What one scan learned from /proc that the next need not re-read (src/procfs/fd-cache.ts).
  const fdCache = new FdCache();
  const processCache = new ProcessCache();
  const tableCache = new TableCache(Math.max(1, Math.floor(10_000 / interval)));
  try {
    for (let scans = 0; !stop.signal.aborted; scans++) {
      const now = clock.now();
      const scan = await collectSockets({
        paths,
        fdCache,
        // Tables of namespaces whose counters did not move are reused for up to 10 s of scans
        // (ADR 0030): watch is interactive, so it re-reads sooner than the agent's minute.
        tableCache,
        ...(scope.filter.netns ? { netns: scope.filter.netns } : {}),
      });
      if (scans === 0) reportDiagnostics(scan.diagnostics, io, values.debug ?? false);
      const sockets = scope.select(scan.sockets);
      // One scope per network namespace: that is what a host's "workload" is.
      const byNetns = new Map<number, Socket[]>();
      // Namespaces asked for by --netns are watched even without a socket: a discovery tool
      // may run where nothing else does.
      for (const ns of scope.filter.netns ?? []) byNetns.set(ns, []);
      for (const s of sockets) {
        const list = byNetns.get(s.netns);
        if (list) list.push(s);
        else byNetns.set(s.netns, [s]);
      }
      // The scan's own pid list names every process only without --netns (parents outside
      // the namespace still need their names).
      const known = scope.filter.netns ? {} : { known: scan.processes };
      const procs = listProcesses(paths, new Set(byNetns.keys()), { ...known, cache: processCache }).map(
        (p) => {
          const user = p.uid !== undefined ? users.name(p.uid) : undefined;
          return user ? { ...p, user } : p;
        },
      );
      // By `ip netns` name where there is one, matched by inode (scope.ts).
      const netnsNames = readNamespaceNames(paths.runNetns);
      const names = new Map<number, string>();
      for (const ns of byNetns.keys()) names.set(ns, netnsScopeName(ns, netnsNames));
      tracker.observe(
        now,
        [...byNetns].map(([ns, list]) => ({
          scope: names.get(ns) as string,
          sockets: list,
          processes: procs.filter((p) => p.netns === ns),
        })),
      );
      const fileLimits = fileLimitsOfBusyProcesses(paths, sockets, 50);
      const found: Finding[] = [];
      const acked: SuppressedFinding[] = [];
      for (const [ns, list] of byNetns) {
        const name = names.get(ns) as string;
        const m = tracker.scope(name);
        const range = own.netns === ns ? own.range : undefined;
        if (m) {
          const r = applyExceptions(
            exceptions,
            detect(m, now, {
              isInternal: (a) => resolver.isHost(a),
              fileLimits,
              ...(range ? { ephemeralPorts: range } : {}),
            }),
            new Date(now),
          );
          found.push(...r.findings);
          acked.push(...r.suppressed);
        }
        for (const b of baselines) {
          const r = evaluate(
            b,
            { scope: name, sockets: list, ...(range ? { ephemeralPorts: range } : {}) },
            resolver,
            new Date(now),
          );
          found.push(...r.findings);
          acked.push(...r.suppressed);
        }
      }
      for (const { baseline, findings } of seasonal?.observe(now, sockets, (a) => resolver.isHost(a)) ?? []) {
        const b = baselines.find((x) => x.id === baseline);
        const r = applyExceptions(b?.exceptions ?? [], findings, new Date(now));
        found.push(...r.findings);
        acked.push(...r.suppressed);
      }
      const seenAcked = new Set<string>();
      for (const x of acked) {
        const key = findingKey(x.finding);
        seenAcked.add(key);
        if (activeSuppressed.has(key)) continue;
        activeSuppressed.set(key, { x, since: now });
        suppressedTotal++;
        if (showSuppressed) print("start", x.finding, now, now, x);
      }
      for (const [key, a] of activeSuppressed)
        if (!seenAcked.has(key)) {
          activeSuppressed.delete(key);
          if (showSuppressed) print("end", a.x.finding, now, a.since, a.x);
        }
      const seen = new Set<string>();
      for (const f of found) {
        const key = findingKey(f);
        seen.add(key);
        if (active.has(key)) continue;
        active.set(key, { finding: f, since: now });
        total++;
        byRule.set(f.rule, (byRule.get(f.rule) ?? 0) + 1);
        print("start", f, now, now);
      }
      for (const [key, a] of active)
        if (!seen.has(key)) {
          active.delete(key);
          print("end", a.finding, now, a.since);
        }
      if (duration !== undefined && clock.now() - started + interval > duration) break;
      await clock.sleep(interval, stop.signal);
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  const summary = {
    event: "summary",
    seconds: Math.round((clock.now() - started) / 1000),
    findings: total,
    byRule: Object.fromEntries(byRule),
    active: active.size,
    suppressed: suppressedTotal,
  };
  if (format === "ndjson") io.out(`${JSON.stringify(summary)}\n`);
  else
    io.out(
      `watched ${escapeText(scope.description)} for ${summary.seconds} s: ${total} finding(s)${total ? ` (${[...byRule].map(([r, n]) => `${r} ${n}`).join(", ")})` : ""}, ${active.size} still active, ${suppressedTotal} suppressed by exceptions${suppressedTotal && !showSuppressed ? " (--show-suppressed lists them)" : ""}\n`,
    );
  return total > 0 ? EXIT_FINDINGS : EXIT_OK;
}
