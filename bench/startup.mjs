#!/usr/bin/env node
/**
 * CLI start-up and the quiet-host scan against the tools it replaces (issue 13 item 2), in one
 * run: `node -e 0`, `socklens --version`, `socklens scan` (table, the default), `ss -tanp`,
 * `netstat -tanp`. Each command runs `--runs` times (default 20) interleaved, so a change in
 * machine load hits all alike; prints median and mean wall time and CPU time (user + sys,
 * from the child's rusage), the ratios the targets use, and the load average before and after.
 *
 *   scripts/node.sh node bench/startup.mjs [--runs 20] [--json FILE]
 *
 * Needs `npm run build` first (the CLI runs from dist/ through bin/socklens.js).
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const REPO = join(import.meta.dirname, "..");
const { values } = parseArgs({
  options: { runs: { type: "string", default: "20" }, json: { type: "string" } },
});
const runs = Number(values.runs);
const bin = join(REPO, "bin", "socklens.js");
const commands = {
  "node -e 0": [process.execPath, "-e", "0"],
  "socklens --version": [process.execPath, bin, "--version"],
  "socklens scan": [process.execPath, bin, "scan"],
  "ss -tanp": ["ss", "-tanp"],
  "netstat -tanp": ["netstat", "-tanp"],
};

/** Wall and CPU seconds of one run (CPU from GNU time's %U + %S, the child's own rusage). */
function once([cmd, ...args]) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%U %S", cmd, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "ignore", "pipe"],
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  const [u, s] = r.stderr.trim().split("\n").at(-1).split(" ").map(Number);
  return { wall, cpu: u + s };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

const loadBefore = loadavg();
// One warm-up each: the compile cache and the page cache, as on a machine that ran it before.
for (const c of Object.values(commands)) once(c);
const samples = Object.fromEntries(Object.keys(commands).map((k) => [k, { wall: [], cpu: [] }]));
for (let i = 0; i < runs; i++)
  for (const [k, c] of Object.entries(commands)) {
    const r = once(c);
    samples[k].wall.push(r.wall);
    samples[k].cpu.push(r.cpu);
  }
const loadAfter = loadavg();

const figures = Object.fromEntries(
  Object.entries(samples).map(([k, s]) => [
    k,
    { wallMedian: median(s.wall), wallMean: mean(s.wall), cpuMedian: median(s.cpu) },
  ]),
);
const ms = (x) => `${(x * 1000).toFixed(0)} ms`;
console.log(
  `${runs} runs each, interleaved; Node ${process.version}; load ${loadBefore.map((x) => x.toFixed(2)).join(" ")} → ${loadAfter.map((x) => x.toFixed(2)).join(" ")}`,
);
console.log("| command | wall (median) | wall (mean) | CPU (median) |\n| --- | --- | --- | --- |");
for (const [k, f] of Object.entries(figures))
  console.log(`| \`${k}\` | ${ms(f.wallMedian)} | ${ms(f.wallMean)} | ${ms(f.cpuMedian)} |`);
const ratio = (a, b) => (figures[a].wallMedian / figures[b].wallMedian).toFixed(2);
const ratios = {
  "--version / node -e 0 (target ≤ 1.3)": ratio("socklens --version", "node -e 0"),
  "scan / ss -tanp (target ≤ 5)": ratio("socklens scan", "ss -tanp"),
  "scan / netstat -tanp": ratio("socklens scan", "netstat -tanp"),
  "node -e 0 / ss -tanp (the runtime's own floor)": ratio("node -e 0", "ss -tanp"),
};
for (const [k, v] of Object.entries(ratios)) console.log(`${k}: ${v}×`);
if (values.json)
  writeFileSync(
    values.json,
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, runs, loadBefore, loadAfter, figures, ratios }, null, 2)}\n`,
  );
