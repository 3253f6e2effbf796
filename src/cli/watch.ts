/**
 * `socklens watch`: scan continuously, remember (src/core/memory), and report each finding
 * once when it starts and when it ends — baseline checks when a baseline is given, and every
 * detector always. On exit (duration, Ctrl-C) a summary. Wiring only.
 */
import { parseArgs } from "node:util";
import { parseDuration } from "../api/v1alpha1/common.js";
import { compileBaseline } from "../core/baseline/compile.js";
import { evaluate, findingKey } from "../core/baseline/evaluate.js";
import { findingRecord } from "../core/baseline/finding-record.js";
import { offlineResolver } from "../core/baseline/resolver.js";
import type { Finding } from "../core/baseline/types.js";
import { escapeText } from "../core/escape.js";
import { maskFinding } from "../core/mask.js";
import { detect } from "../core/memory/detectors.js";
import { Tracker } from "../core/memory/tracker.js";
import { netnsLabel, type Socket } from "../core/socket.js";
import { collectSockets } from "../procfs/collect.js";
import { FdCache } from "../procfs/fd-cache.js";
import { fileLimitsOfBusyProcesses } from "../procfs/limits.js";
import { ownEphemeralRange } from "../procfs/netns.js";
import { procPathsFromEnv } from "../procfs/paths.js";
import { listProcesses, ProcessCache } from "../procfs/processes.js";
import { UserNames } from "../procfs/users.js";
import { readBaselineFiles, reportProblems } from "./baseline.js";
import { localAddresses } from "./cluster-flags.js";
import { reportDiagnostics } from "./diagnostics.js";
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError } from "./errors.js";
import type { CliIO } from "./io.js";
import { parseMasks, parseOutput } from "./options.js";
import { parseScope, SCOPE_HELP, SCOPE_OPTIONS } from "./scope.js";

export const WATCH_HELP = `Usage: socklens watch [--baseline FILE] [scope] [--interval 1s] [--duration D] [-o table|ndjson] [--mask CIDR]

Scans every --interval and remembers: prints each finding once when it starts and, in
ndjson, when it ends (with how long it lasted). Runs the baseline checks when --baseline is
given, and always the detectors: Beaconing, ConnectionGrowth, CloseWaitLeak,
FailedHandshakes, EphemeralPortPressure, NetworkDiscoveryTool (docs/detectors.md).
Without --duration it runs until Ctrl-C. Exit 0 when nothing was found, 1 otherwise.

${SCOPE_HELP}`;

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
  const { values } = parseArgs({
    args,
    options: {
      ...SCOPE_OPTIONS,
      baseline: { type: "string", multiple: true, short: "f" },
      interval: { type: "string", default: "1s" },
      duration: { type: "string" },
      output: { type: "string", short: "o" },
      mask: { type: "string", multiple: true },
      debug: { type: "boolean" },
    },
    strict: true,
  });
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
  if (values.baseline?.length) {
    const { baselines: parsed, problems } = readBaselineFiles(values.baseline, io.env);
    reportProblems(problems, io);
    if (problems.length) return EXIT_USAGE;
    baselines = parsed.map((b) => compileBaseline(b.baseline));
  }
  const scope = parseScope(values, paths);
  const resolver = offlineResolver(localAddresses());
  const own = ownEphemeralRange(paths);
  const tracker = new Tracker();
  const users = new UserNames(paths.passwd);
  const active = new Map<string, { finding: Finding; since: number }>();
  const started = clock.now();
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let total = 0;
  const byRule = new Map<string, number>();
  const print = (event: "start" | "end", raw: Finding, at: number, since: number) => {
    const f = maskFinding(raw, masks);
    if (format === "ndjson")
      io.out(
        `${JSON.stringify({ event, time: new Date(at).toISOString(), ...(event === "end" ? { durationMs: at - since } : {}), ...findingRecord(f) })}\n`,
      );
    else if (event === "start")
      io.out(
        `${new Date(at).toISOString()}  ${f.severity.toUpperCase().padEnd(6)} ${f.rule.padEnd(22)} ${escapeText(f.message)}\n`,
      );
  };
  // What one scan learned from /proc that the next need not re-read (src/procfs/fd-cache.ts).
  const fdCache = new FdCache();
  const processCache = new ProcessCache();
  try {
    for (let scans = 0; !stop.signal.aborted; scans++) {
      const now = clock.now();
      const scan = await collectSockets({
        paths,
        fdCache,
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
      const names = new Map<number, string>();
      for (const n of scan.namespaces)
        names.set(
          n.inode,
          `netns ${netnsLabel({ netns: n.inode, ...(n.name ? { netnsName: n.name } : {}) })}`,
        );
      for (const s of sockets) if (!names.has(s.netns)) names.set(s.netns, `netns ${netnsLabel(s)}`);
      for (const ns of byNetns.keys()) if (!names.has(ns)) names.set(ns, `netns ${ns}`);
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
      for (const [ns, list] of byNetns) {
        const name = names.get(ns) as string;
        const m = tracker.scope(name);
        const range = own.netns === ns ? own.range : undefined;
        if (m)
          found.push(
            ...detect(m, now, {
              isInternal: (a) => resolver.isHost(a),
              fileLimits,
              ...(range ? { ephemeralPorts: range } : {}),
            }),
          );
        for (const b of baselines)
          found.push(
            ...evaluate(
              b,
              { scope: name, sockets: list, ...(range ? { ephemeralPorts: range } : {}) },
              resolver,
              new Date(now),
            ).findings,
          );
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
  };
  if (format === "ndjson") io.out(`${JSON.stringify(summary)}\n`);
  else
    io.out(
      `watched ${escapeText(scope.description)} for ${summary.seconds} s: ${total} finding(s)${total ? ` (${[...byRule].map(([r, n]) => `${r} ${n}`).join(", ")})` : ""}, ${active.size} still active\n`,
    );
  return total > 0 ? EXIT_FINDINGS : EXIT_OK;
}
