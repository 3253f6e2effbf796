// The agent's loop, measured: one long-lived process running the built collector (dist/)
// N times, as the agent does. Prints one JSON line: per-scan wall times, CPU time, RSS after
// each scan, and peak RSS (VmHWM). Usage: node bench/resident.mjs [scans=10] [--tracker]
// [--no-cache | --no-table-cache | --table-every K]
// --tracker also feeds the memory (src/core/memory) one scope per network namespace, with its
// processes, and runs every detector, as the agent does each cycle.
import { readFileSync } from "node:fs";
import { detect } from "../dist/core/memory/detectors.js";
import { Tracker } from "../dist/core/memory/tracker.js";
import { collectSockets } from "../dist/procfs/collect.js";
import { FdCache } from "../dist/procfs/fd-cache.js";
import { procPathsFromEnv } from "../dist/procfs/paths.js";
import { listProcesses, ProcessCache } from "../dist/procfs/processes.js";
import { TableCache } from "../dist/procfs/table-cache.js";
import { UserNames } from "../dist/procfs/users.js";

const scans = Number(process.argv[2] ?? 10);
const withTracker = process.argv.includes("--tracker");
// --no-cache: every scan walks every fd table and re-reads every process, as before the caches.
const cached = !process.argv.includes("--no-cache");
const fdCache = cached ? new FdCache() : undefined;
const processCache = cached ? new ProcessCache() : undefined;
// --no-table-cache: keep the fd and process caches but read every namespace's tables every
// scan; --table-every K: force a re-read at least every K scans (the agent's default 4).
const at = process.argv.indexOf("--table-every");
const tableCache =
  cached && !process.argv.includes("--no-table-cache")
    ? new TableCache(at > 0 ? Number(process.argv[at + 1]) : undefined)
    : undefined;
const tables = [];
const walks = [];
const tracker = new Tracker();
const cpu = [];
const sys = [];
const users = new UserNames(process.env.HOST_PASSWD ?? "/etc/passwd");
const times = [];
const rss = [];
const heap = [];
let sockets = 0;
for (let i = 0; i < scans; i++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const paths = procPathsFromEnv(process.env);
  const r = await collectSockets({
    users,
    paths,
    ...(fdCache ? { fdCache } : {}),
    ...(tableCache ? { tableCache } : {}),
  });
  walks.push(r.fdWalk.walked);
  tables.push(r.tables);
  if (withTracker) {
    const byNetns = new Map();
    for (const s of r.sockets) {
      const list = byNetns.get(s.netns);
      if (list) list.push(s);
      else byNetns.set(s.netns, [s]);
    }
    const procs = cached
      ? listProcesses(paths, undefined, { known: r.processes, cache: processCache })
      : listProcesses(paths);
    const now = Date.now();
    tracker.observe(
      now,
      [...byNetns].map(([ns, list]) => ({
        scope: String(ns),
        sockets: list,
        processes: procs.filter((p) => p.netns === ns),
      })),
    );
    for (const m of tracker.scopes()) detect(m, now);
  }
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
  sys.push(c.system / 1000);
  times.push(performance.now() - t0);
  sockets = r.sockets.length;
  const mem = process.memoryUsage();
  rss.push(mem.rss);
  // What V8 holds (heapUsed: live objects and garbage not yet collected; heapTotal: what it
  // has reserved) and buffers outside the heap: tells a growing live set from a lazy GC.
  heap.push([mem.heapUsed, mem.heapTotal, mem.external + mem.arrayBuffers]);
}
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
process.stdout.write(
  `${JSON.stringify({
    scans,
    sockets,
    tracker: withTracker,
    cached,
    tableCache: tableCache ? tableCache.refreshEvery : null,
    fdTablesWalked: walks,
    socketTablesRead: tables.map((t) => t.read),
    socketTablesForced: tables.map((t) => t.forced),
    socketTablesReused: tables.map((t) => t.reused),
    timesMs: times.map((t) => Math.round(t)),
    cpuMs: cpu.map((t) => Math.round(t)),
    systemCpuMs: sys.map((t) => Math.round(t)),
    rssMB: rss.map((b) => Math.round(b / 2 ** 20)),
    heapUsedMB: heap.map((h) => Math.round(h[0] / 2 ** 20)),
    heapTotalMB: heap.map((h) => Math.round(h[1] / 2 ** 20)),
    externalMB: heap.map((h) => Math.round(h[2] / 2 ** 20)),
    peakRssMB: hwm ? Math.round(Number(hwm[1]) / 1024) : null,
  })}\n`,
);
