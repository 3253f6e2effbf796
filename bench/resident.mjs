// The agent's loop, measured: one long-lived process running the built collector (dist/)
// N times, as the agent does. Prints one JSON line: per-scan wall times, RSS after each
// scan, and peak RSS (VmHWM). Usage: node bench/resident.mjs [scans=10]
import { readFileSync } from "node:fs";
import { collectSockets } from "../dist/procfs/collect.js";
import { procPathsFromEnv } from "../dist/procfs/paths.js";
import { UserNames } from "../dist/procfs/users.js";

const scans = Number(process.argv[2] ?? 10);
const users = new UserNames(process.env.HOST_PASSWD ?? "/etc/passwd");
const times = [];
const rss = [];
let sockets = 0;
for (let i = 0; i < scans; i++) {
  const t0 = performance.now();
  const r = await collectSockets({ users, paths: procPathsFromEnv(process.env) });
  times.push(performance.now() - t0);
  sockets = r.sockets.length;
  rss.push(process.memoryUsage().rss);
}
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
process.stdout.write(
  `${JSON.stringify({
    scans,
    sockets,
    timesMs: times.map((t) => Math.round(t)),
    rssMB: rss.map((b) => Math.round(b / 2 ** 20)),
    peakRssMB: hwm ? Math.round(Number(hwm[1]) / 1024) : null,
  })}\n`,
);
