/**
 * The scan benchmark. For each scenario (N namespaces × C established connections, plus a
 * listener, CLOSE_WAIT, TIME_WAIT and UDP sockets in each) it times, on the same load and in
 * the same run: `socklens scan -o ndjson`, the floor (`cat` of /proc/<pid>/net/{tcp,tcp6,
 * udp,udp6} for one pid per namespace), a loop of `ip netns exec NS ss -tanp`,
 * `netstat -tanp` (host namespace only), `lsof -nPi`, and the resident scanner (10 scans in
 * one process). Needs root. Usage:
 *   npm run bench -- [--scenarios 1x10000,50x400,200x50] [--runs 3] [--child-ehash 4096]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildLoadgen, PREFIX, startLoad } from "./load.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));

const { values } = parseArgs({
  options: {
    scenarios: { type: "string", default: "1x10000,50x400,200x50" },
    runs: { type: "string", default: "3" },
    "slow-runs": { type: "string", default: "1" },
    "child-ehash": { type: "string" },
    skip: { type: "string", default: "" },
  },
});
const RUNS = Number(values.runs);
// The V8 flags the agent runs with (Dockerfile, chart): a small young generation keeps the
// per-scan garbage from inflating RSS; the live set of a 40k-socket scan is ~15 MB.
export const RESIDENT_NODE_FLAGS = ["--max-semi-space-size=2", "--max-old-space-size=128"];
const SLOW_RUNS = Number(values["slow-runs"]);
const skip = new Set(values.skip.split(",").filter(Boolean));

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8" });
}

interface Timing {
  medianS: number;
  runsS: number[];
  peakRssMB?: number;
}

/** Wall time (and peak RSS via GNU time) of a shell command, median of `runs`. */
function time(command: string, runs: number): Timing {
  const runsS: number[] = [];
  let peak = 0;
  for (let i = 0; i < runs; i++) {
    const r = spawnSync("/usr/bin/time", ["-f", "%e %M", "bash", "-c", `${command} > /dev/null`], {
      encoding: "utf8",
      maxBuffer: 1 << 30,
    });
    const last = r.stderr.trim().split("\n").pop() ?? "";
    const [secs, kb] = last.split(" ").map(Number);
    if (r.status !== 0 || secs === undefined || Number.isNaN(secs))
      throw new Error(`${command} failed: ${r.stderr.slice(-500)}`);
    runsS.push(secs);
    peak = Math.max(peak, (kb ?? 0) / 1024);
  }
  const sorted = [...runsS].sort((a, b) => a - b);
  return { medianS: sorted[Math.floor(sorted.length / 2)] as number, runsS, peakRssMB: Math.round(peak) };
}

/** One pid per network namespace on the whole host: what socklens reads, for the floor. */
function onePidPerNamespace(): number[] {
  const seen = new Map<string, number>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const ns = readlinkSync(`/proc/${e}/ns/net`);
      if (!seen.has(ns)) seen.set(ns, Number(e));
    } catch {
      // exited or not ours to read
    }
  }
  return [...seen.values()];
}

function countSockets(): number {
  const out = execFileSync(
    "node",
    [join(REPO, "bin", "socklens.js"), "scan", "--summary", "-o", "json", "--proto", "tcp,udp"],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  );
  return (JSON.parse(out) as { total: number }[]).reduce((n, r) => n + r.total, 0);
}

interface ScenarioResult {
  scenario: string;
  namespaces: number;
  connections: number;
  sockets: number;
  childEhash: number;
  results: Record<
    string,
    Timing | { steadyMedianS: number; firstS: number; peakRssMB: number | null; rssMB: number[] }
  >;
  ratios: Record<string, number>;
}

async function scenario(spec: string, loadgen: string, childEhash: number): Promise<ScenarioResult> {
  const [n, c] = spec.split("x").map(Number) as [number, number];
  console.error(`\n== ${spec}: ${n} namespaces × ${c} connections (tcp_child_ehash_entries=${childEhash})`);
  const load = await startLoad(n, c, loadgen);
  try {
    const sockets = countSockets();
    console.error(`   ${sockets} tcp+udp sockets on the host`);
    const pids = onePidPerNamespace();
    const results: ScenarioResult["results"] = {};
    const run = (label: string, cmd: string, runs: number) => {
      if (skip.has(label)) return;
      const t = time(cmd, runs);
      results[label] = t;
      console.error(
        `   ${label.padEnd(22)} ${t.medianS.toFixed(2)} s (runs ${t.runsS.join(", ")}), peak ${t.peakRssMB} MB`,
      );
    };
    run(
      "floor (cat)",
      `for p in ${pids.join(" ")}; do cat /proc/$p/net/tcp /proc/$p/net/tcp6 /proc/$p/net/udp /proc/$p/net/udp6; done`,
      RUNS,
    );
    run("socklens scan", `node ${join(REPO, "bin", "socklens.js")} scan -o ndjson 2>/dev/null`, RUNS);
    run("netstat -tanp", "netstat -tanp", RUNS);
    run("lsof -nPi", "lsof -nPi || true", SLOW_RUNS); // exits 1 when it cannot read pid 1
    run(
      "ss -tanp loop",
      `ss -tanp; for ns in ${load.names.join(" ")}; do ip netns exec $ns ss -tanp; done`,
      SLOW_RUNS,
    );
    if (!skip.has("resident")) {
      const out = sh(process.execPath, [...RESIDENT_NODE_FLAGS, join(REPO, "bench", "resident.mjs"), "10"]);
      const r = JSON.parse(out) as { timesMs: number[]; rssMB: number[]; peakRssMB: number | null };
      const steady = [...r.timesMs.slice(1)].sort((a, b) => a - b);
      results.resident = {
        firstS: (r.timesMs[0] ?? 0) / 1000,
        steadyMedianS: (steady[Math.floor(steady.length / 2)] ?? 0) / 1000,
        peakRssMB: r.peakRssMB,
        rssMB: r.rssMB,
      };
      console.error(
        `   resident (10 scans)    steady ${results.resident.steadyMedianS.toFixed(2)} s, first ${results.resident.firstS.toFixed(2)} s, peak ${r.peakRssMB} MB, rss ${r.rssMB.join(",")}`,
      );
    }
    const floor = (results["floor (cat)"] as Timing | undefined)?.medianS;
    const ratios: Record<string, number> = {};
    if (floor) {
      for (const [k, v] of Object.entries(results)) {
        const t = "medianS" in v ? v.medianS : v.steadyMedianS;
        ratios[k] = Math.round((t / floor) * 100) / 100;
      }
    }
    return { scenario: spec, namespaces: n, connections: c, sockets, childEhash, results, ratios };
  } finally {
    await load.stop();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the benchmark needs root (ip netns)");
  if (!existsSync(join(REPO, "dist", "cli", "main.js"))) throw new Error("run `npm run build` first");
  const stale = sh("ip", ["netns", "list"])
    .split("\n")
    .filter((l) => l.startsWith(`${PREFIX}-`));
  if (stale.length)
    throw new Error(`namespaces left from an earlier run: ${stale.join(", ")} (ip netns del them)`);
  const loadgen = buildLoadgen();
  const sysctl = "/proc/sys/net/ipv4/tcp_child_ehash_entries";
  const original = readFileSync(sysctl, "utf8").trim();
  const out: ScenarioResult[] = [];
  try {
    for (const spec of values.scenarios.split(",")) out.push(await scenario(spec, loadgen, Number(original)));
    if (values["child-ehash"]) {
      // Namespaces created after this get their own hash table of this size instead of sharing the host's.
      writeFileSync(sysctl, values["child-ehash"]);
      for (const spec of values.scenarios.split(",")) {
        if (spec.startsWith("1x")) continue;
        out.push(await scenario(spec, loadgen, Number(values["child-ehash"])));
      }
    }
  } finally {
    writeFileSync(sysctl, original);
  }
  const machine = {
    cpus: cpus().length,
    model: cpus()[0]?.model,
    memGiB: Math.round(totalmem() / 2 ** 30),
    kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
    tcpEhashEntries: readFileSync("/proc/sys/net/ipv4/tcp_ehash_entries", "utf8").trim(),
    node: process.version,
    date: new Date().toISOString(),
  };
  mkdirSync(join(REPO, "bench", "results"), { recursive: true });
  writeFileSync(
    join(REPO, "bench", "results", "latest.json"),
    `${JSON.stringify({ machine, scenarios: out }, null, 2)}\n`,
  );
  console.log(
    JSON.stringify(
      {
        machine,
        scenarios: out.map((s) => ({
          scenario: s.scenario,
          childEhash: s.childEhash,
          sockets: s.sockets,
          ratios: s.ratios,
        })),
      },
      null,
      2,
    ),
  );
}

await main();
