// The CPU cost of a burst (issue 10, item 2), measured on the built agent code (dist/): a
// full scan (every namespace, every process, tracker + detectors) against a burst scan of one
// pod's network namespace (what the agent does every second during a burst: the collector and
// the process walk filtered to that namespace, the tracker and detectors for its one scope).
// Prints one JSON line. Usage:
//   node --max-semi-space-size=2 --max-old-space-size=128 bench/burst.mjs [burstScans=30] [--netns NAME] [--pods K]
// NAME is a network namespace in /run/netns (default: the first slbench-* one, else the first);
// --pods K scans the first K slbench-* namespaces in each burst scan (K pods under burst at
// once: the agent reads them in one scan).
// Hold a load first, e.g. `npx tsx bench/load.ts 110x180` (a full node's worth of sockets).
import { readdirSync, statSync } from "node:fs";
import { detect } from "../dist/core/memory/detectors.js";
import { Tracker } from "../dist/core/memory/tracker.js";
import { collectSockets } from "../dist/procfs/collect.js";
import { procPathsFromEnv } from "../dist/procfs/paths.js";
import { listProcesses } from "../dist/procfs/processes.js";
import { UserNames } from "../dist/procfs/users.js";

const args = process.argv.slice(2);
const burstScans = Number(args.find((a) => /^\d+$/.test(a)) ?? 30);
const named = args.includes("--netns") ? args[args.indexOf("--netns") + 1] : undefined;
const names = readdirSync("/run/netns");
const name = named ?? names.find((n) => n.startsWith("slbench")) ?? names[0];
if (!name)
  throw new Error("no network namespace in /run/netns: hold a load first (npx tsx bench/load.ts 110x180)");
const k = args.includes("--pods") ? Number(args[args.indexOf("--pods") + 1]) : 1;
const chosen = k > 1 ? names.filter((n) => n.startsWith("slbench")).slice(0, k) : [name];
const inodes = new Set(chosen.map((n) => statSync(`/run/netns/${n}`).ino));

const paths = procPathsFromEnv(process.env);
const users = new UserNames(process.env.HOST_PASSWD ?? "/etc/passwd");
const tracker = new Tracker();

async function scan(netns) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await collectSockets({ users, paths, ...(netns ? { netns } : {}) });
  const procs = listProcesses(paths, netns);
  const byNetns = new Map();
  for (const s of r.sockets) {
    const list = byNetns.get(s.netns);
    if (list) list.push(s);
    else byNetns.set(s.netns, [s]);
  }
  const now = Date.now();
  tracker.observe(
    now,
    [...byNetns].map(([ns, list]) => ({
      scope: String(ns),
      sockets: list,
      processes: procs.filter((p) => p.netns === ns),
    })),
  );
  for (const ns of byNetns.keys()) {
    const m = tracker.scope(String(ns));
    if (m) detect(m, now);
  }
  const c = process.cpuUsage(c0);
  return { cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() - t0, sockets: r.sockets.length };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const full = [];
for (let i = 0; i < 4; i++) full.push(await scan(undefined));
const burst = [];
for (let i = 0; i < burstScans; i++) {
  burst.push(await scan(inodes));
  // A burst scans every second; the pause lets the measurement see the same idle gaps.
  await new Promise((r) => setTimeout(r, 200));
}
const fullCpu = median(full.slice(1).map((s) => s.cpuMs));
const burstCpu = median(burst.slice(1).map((s) => s.cpuMs));
process.stdout.write(
  `${JSON.stringify({
    netns: chosen.length > 1 ? `${chosen.length} namespaces` : name,
    node: {
      sockets: full.at(-1).sockets,
      fullScanCpuMs: Math.round(fullCpu),
      fullScanWallMs: Math.round(median(full.slice(1).map((s) => s.wallMs))),
    },
    burst: {
      scans: burstScans,
      sockets: burst.at(-1).sockets,
      cpuMsPerScan: Math.round(burstCpu * 10) / 10,
      wallMsPerScan: Math.round(median(burst.slice(1).map((s) => s.wallMs)) * 10) / 10,
      // At one scan a second, the share of one core a burst adds, and the CPU a 5-minute burst costs.
      coreShareAt1s: Math.round((burstCpu / 1000) * 1000) / 1000,
      cpuSecondsPer5mBurst: Math.round(burstCpu * 300) / 1000,
    },
  })}\n`,
);
