/**
 * Fuzzing the collector and every output built on it (issue 11, item 10).
 *
 * Start from a real /proc tree (test/fixtures/fuzz-seed, captured by scripts/fuzz-seed.ts),
 * mutate it deterministically (fast-check with a fixed seed; test/unit/fuzz-tree.ts says how:
 * contents, file types, links, sizes) and run, in-process, on every tree: collectSockets,
 * collectNetInfo, listProcesses, the socket table (plain, wide, summary), NDJSON and snapshot
 * JSON, a check against a trivial baseline with its table and finding records, and learn
 * (the baseline it writes must pass validate). Asserted on each tree: nothing throws, every
 * table has one line per record (no line a value injected), no ESC byte in any table, no
 * global object is changed, no tree takes long (a FIFO that blocks a read is detected by a
 * helper that unblocks it after FIFO_GRACE_MS). Then a few trees through the real CLI
 * (bin/socklens.js scan|snapshot|learn|check with HOST_PROC=tree): exit 0, 1 or 2, no stack
 * trace. Crashers found so far are in test/fixtures/fuzz-crashers/ and replayed every run.
 *
 * FUZZ_TREES, FUZZ_BUDGET_MS and FUZZ_SEED override the number of trees, the time budget and
 * the seed (a long local run: FUZZ_TREES=50000 FUZZ_BUDGET_MS=1200000 npx vitest run --project
 * unit test/unit/fuzz-proc.test.ts); FUZZ_PROFILE=1 prints the time per mutation kind. A
 * failure names the tree and seed, drops the patches that do not matter, and saves the rest to
 * a file: say in its `found` line what it was and move it to test/fixtures/fuzz-crashers/.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Document } from "yaml";
import { NetworkBaseline } from "../../src/api/v1alpha1/networkbaseline.js";
import { validateBaselines } from "../../src/api/validate.js";
import { compileBaseline } from "../../src/core/baseline/compile.js";
import { evaluate } from "../../src/core/baseline/evaluate.js";
import { findingRecord } from "../../src/core/baseline/finding-record.js";
import { Learner } from "../../src/core/baseline/learn.js";
import { DEFAULT_EPHEMERAL_RANGE } from "../../src/core/baseline/limits.js";
import { offlineResolver } from "../../src/core/baseline/resolver.js";
import { diffSnapshots } from "../../src/core/diff.js";
import { renderSocketTable, renderSummary, renderTable, summarize } from "../../src/core/render.js";
import { SNAPSHOT_KIND, SNAPSHOT_VERSION, snapshotProblem } from "../../src/core/snapshot.js";
import { collectSockets } from "../../src/procfs/collect.js";
import { ProcRootError } from "../../src/procfs/diagnostics.js";
import { fileLimitsOfBusyProcesses } from "../../src/procfs/limits.js";
import { collectNetInfo } from "../../src/procfs/netinfo.js";
import { listProcesses } from "../../src/procfs/processes.js";
import {
  applyPatches,
  concretize,
  describePatches,
  loadSeed,
  type Mutation,
  materialize,
  mutationsArb,
  type Patch,
  restore,
  type Seed,
  type SpecialFiles,
} from "./fuzz-tree.js";

const REPO = join(import.meta.dirname, "..", "..");
const SEED_DIR = join(REPO, "test", "fixtures", "fuzz-seed");
const CRASHERS = join(REPO, "test", "fixtures", "fuzz-crashers");
const TREES = Number(process.env.FUZZ_TREES ?? 2000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261124);
const CLI_RUNS = 20;
/**
 * FUZZ_BUDGET_MS (a long local run only): the in-process trees stop after this long even if
 * fewer than TREES ran (the sequence is the same, only shorter; the count is printed). By
 * default every tree runs: on an idle 2-core machine 2,000 trees take about 25 s, and a count
 * that depended on the machine's load would make the test flaky (it did, at load 23).
 */
const BUDGET_MS = process.env.FUZZ_BUDGET_MS ? Number(process.env.FUZZ_BUDGET_MS) : Infinity;
/** A read blocked on a FIFO is released after this long; a tree that took longer was blocked. */
const FIFO_GRACE_MS = 3000;
/** No tree may take this long (a runaway: a quadratic parse, an endless read). */
const TREE_LIMIT_MS = 5000;

let work: string;
let proc: string;
let seed: Seed;
let special: SpecialFiles;
const stats = {
  trees: 0,
  patches: 0,
  sockets: 0,
  unreadable: 0,
  malformed: 0,
  ambiguous: 0,
  findings: 0,
  slowestMs: 0,
  slowest: "",
  cliRuns: 0,
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "socklens-fuzz-"));
  seed = loadSeed(join(SEED_DIR, "proc"));
  proc = join(work, "proc");
  materialize(join(SEED_DIR, "proc"), proc, [], {} as SpecialFiles);
  // Masters for the special files; patches hard-link them (the FIFO needs mkfifo(1) once).
  const fifo = join(work, "fifo");
  execFileSync("mkfifo", [fifo]);
  const sockPath = join(work, "socket.master");
  const server = createServer();
  await new Promise<void>((r) => server.listen(sockPath, r));
  linkSync(sockPath, join(work, "socket"));
  await new Promise((r) => server.close(r));
  special = { fifo, socket: join(work, "socket") };
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
  console.log(
    `fuzz-proc: ${stats.trees} mutated trees (${stats.patches} patches) and ${crashers().length} crashers; ` +
      `${stats.sockets} sockets, ${stats.unreadable} unreadable entries, ${stats.malformed} malformed lines, ` +
      `${stats.ambiguous} ambiguous unix records, ${stats.findings} findings; slowest tree ` +
      `${stats.slowestMs.toFixed(0)} ms (${stats.slowest.slice(0, 120)}…); ${stats.cliRuns} CLI runs`,
  );
});

const PATHS = () => ({ proc, runNetns: join(work, "no-run-netns"), passwd: join(SEED_DIR, "passwd") });

/** A baseline that checks a little of everything: a listener, an egress rule, thresholds. */
const TRIVIAL = compileBaseline(
  NetworkBaseline.parse({
    apiVersion: "socklens.io/v1alpha1",
    kind: "NetworkBaseline",
    metadata: { name: "fuzz", namespace: "default" },
    spec: {
      podSelector: {},
      listeners: [{ port: 8080, protocol: "TCP" }],
      egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/8" } }], ports: [{ port: 443, protocol: "TCP" }] }],
      thresholds: { tcpStates: { CLOSE_WAIT: 5, SYN_SENT: 1 }, established: 10, listeners: 3 },
    },
  }),
);
const NOW = new Date("2026-11-24T00:00:00Z");

const TRIVIAL_YAML = `apiVersion: socklens.io/v1alpha1
kind: NetworkBaseline
metadata:
  name: fuzz
  namespace: default
spec:
  podSelector: {}
  listeners:
    - port: 8080
      protocol: TCP
  egress:
    - to:
        - ipBlock:
            cidr: 10.0.0.0/8
      ports:
        - port: 443
          protocol: TCP
  thresholds:
    tcpStates:
      CLOSE_WAIT: 5
      SYN_SENT: 1
    established: 10
    listeners: 3
`;

/** A table of `records` rows under one header line: no value added a line or reached the terminal. */
function expectTable(text: string, records: number, what: string): void {
  expect(text.split("\n").length, `${what}: lines`).toBe(records + 1);
  expect(text.includes("\x1b"), `${what}: ESC byte`).toBe(false);
}

/** FUZZ_PROFILE=1: time spent in trees with each operation (to keep the budget where bugs are). */
const opMs = new Map<string, [number, number]>();

/**
 * What a parser could reach through a key like "__proto__" or "constructor", kept to compare and
 * restore; with the functions to do it captured first (a tree may have overwritten Object.keys).
 */
const { ownKeys } = Reflect;
const { getOwnPropertyDescriptor, defineProperty, hasOwn } = Object;
const GLOBALS: [string, object][] = [
  ["Object", Object],
  ["Object.prototype", Object.prototype],
  ["Array.prototype", Array.prototype],
];
const globalsBefore = GLOBALS.map(
  ([, o]) => new Map(ownKeys(o).map((k) => [k, getOwnPropertyDescriptor(o, k) as PropertyDescriptor])),
);

/** What a tree changed in the globals (put back, so the next trees and `minimize` run sane). */
function globalsChanged(): string[] {
  const changed: string[] = [];
  GLOBALS.forEach(([name, o], i) => {
    const before = globalsBefore[i] as Map<PropertyKey, PropertyDescriptor>;
    for (const k of ownKeys(o)) {
      const was = before.get(k);
      const is = getOwnPropertyDescriptor(o, k);
      if (was && is && was.value === is.value && was.get === is.get && was.set === is.set) continue;
      changed.push(`${name}.${String(k)}`);
      if (was) defineProperty(o, k, was);
      else delete (o as Record<PropertyKey, unknown>)[k];
    }
    for (const [k, was] of before)
      if (!hasOwn(o, k)) {
        changed.push(`${name}.${String(k)} (deleted)`);
        defineProperty(o, k, was);
      }
  });
  return changed;
}

/** Everything the suite runs on one tree, with the assertions. */
async function exercise(): Promise<void> {
  const paths = PATHS();
  const scan = await collectSockets({ paths });
  const sockets = scan.sockets;
  stats.sockets += sockets.length;
  stats.unreadable += scan.diagnostics.unreadable;
  stats.malformed += scan.diagnostics.malformedLines;
  stats.ambiguous += scan.diagnostics.ambiguousUnixSockets;

  // scan: table, wide, summary, NDJSON.
  expectTable(renderSocketTable(sockets), sockets.length, "scan table");
  expectTable(renderSocketTable(sockets, { wide: true }), sockets.length, "scan -o wide");
  const summary = summarize(sockets);
  expectTable(renderSummary(summary), summary.length, "scan --summary");
  for (const s of sockets) expect(JSON.stringify(s)).not.toContain("\n");

  // snapshot: valid JSON of the right shape, and no difference with itself.
  const snapshot = JSON.parse(
    JSON.stringify({
      kind: SNAPSHOT_KIND,
      version: SNAPSHOT_VERSION,
      metadata: {
        hostname: "fuzz",
        kernel: "fuzz",
        bootId: "fuzz",
        user: "fuzz",
        timestamp: NOW.toISOString(),
        collectorVersion: "fuzz",
        role: "host",
      },
      namespaces: scan.namespaces,
      sockets,
    }),
  );
  expect(snapshotProblem(snapshot)).toBeNull();
  const self = diffSnapshots(snapshot.sockets, snapshot.sockets);
  expect(self.listenersAdded.length + self.peersAdded.length + self.bindChanged.length).toBe(0);

  // check: a trivial baseline, its table and its finding records.
  const result = evaluate(
    TRIVIAL,
    { scope: "fuzz", sockets, fileLimits: fileLimitsOfBusyProcesses(paths, sockets) },
    offlineResolver([]),
    NOW,
  );
  stats.findings += result.findings.length;
  const rows = result.findings.map((f) => [f.severity.toUpperCase(), f.rule, f.message]);
  expectTable(renderTable(["Severity", "Rule", "Explanation"], rows), rows.length, "check table");
  for (const f of result.findings) expect(JSON.stringify(findingRecord(f))).not.toContain("\n");

  // learn: what it writes passes validate.
  const learner = new Learner();
  learner.observe(sockets, undefined, { ephemeralPorts: DEFAULT_EPHEMERAL_RANGE });
  const learned = new Document(learner.baseline({ name: "learned", namespace: "default" })).toString({
    lineWidth: 0,
  });
  const validated = validateBaselines(learned, "learned.yaml");
  expect(
    validated.problems.map((p) => `${p.path}: ${p.message}`.slice(0, 300)),
    "learned baseline passes validate",
  ).toEqual([]);

  // interfaces, routes, stats.
  const net = await collectNetInfo({ paths });
  const ifaces = net.namespaces.flatMap((n) =>
    n.interfaces.map((i) => [String(n.netns), i.name, String(i.rxBytes)]),
  );
  expectTable(renderTable(["Netns", "Iface", "RX-Bytes"], ifaces), ifaces.length, "interfaces table");
  const routes = net.namespaces.flatMap((n) =>
    n.routes.map((r) => [`${r.destination}/${r.prefixLength}`, r.gateway, r.interface, r.flags.join("")]),
  );
  expectTable(
    renderTable(["Destination", "Gateway", "Iface", "Flags"], routes),
    routes.length,
    "routes table",
  );
  JSON.stringify(net);

  // The processes walk of watch and the agent's memory.
  const procs = listProcesses(paths);
  const procRows = procs.map((p) => [String(p.pid), p.comm, p.cmdline, p.parent ?? "-"]);
  expectTable(
    renderTable(["PID", "Comm", "Cmdline", "Parent"], procRows),
    procRows.length,
    "processes table",
  );
}

/**
 * While a tree has a FIFO, a helper opens it for writing after FIFO_GRACE_MS, again and again:
 * reads that blocked on it return then (and the tree is reported as blocked), instead of
 * hanging the run.
 */
function fifoRelease(patches: readonly Patch[]): ChildProcess | undefined {
  if (!patches.some((p) => "fifo" in p)) return undefined;
  // Every open for writing waits for a reader, then lets it read to the end at once.
  // timeout(1): gone after a minute even if this process dies without stopping it.
  const child = spawn(
    "timeout",
    ["60", "sh", "-c", `sleep ${FIFO_GRACE_MS / 1000}; while :; do : > "$0"; done`, special.fifo],
    {
      detached: true,
      stdio: "ignore",
    },
  );
  child.unref();
  return child;
}

function stop(child: ChildProcess | undefined): void {
  if (child?.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** The work tree is one: trees take turns (the tests of this file run concurrently). */
let turn: Promise<unknown> = Promise.resolve();

/** Apply, exercise, restore. Returns what went wrong, if anything. */
function runTree(patches: readonly Patch[]): Promise<string | undefined> {
  const run = turn.then(() => runTreeNow(patches));
  turn = run.catch(() => {});
  return run;
}

async function runTreeNow(patches: readonly Patch[]): Promise<string | undefined> {
  const release = fifoRelease(patches);
  const touched = applyPatches(proc, patches, special, seed);
  const started = performance.now();
  let failure: string | undefined;
  try {
    await exercise();
  } catch (err) {
    failure = (err as Error).stack ?? String(err);
  } finally {
    // No parser wrote to Object or a shared prototype (a group named "__proto__" or "constructor").
    const changed = globalsChanged();
    if (changed.length > 0)
      failure = `changed globals: ${changed.slice(0, 10).join(", ")}${failure ? `; then: ${failure}` : ""}`;
    stop(release);
    restore(proc, seed, touched);
  }
  const ms = performance.now() - started;
  if (release && ms >= FIFO_GRACE_MS) failure ??= `a read blocked on a FIFO (${ms.toFixed(0)} ms)`;
  if (ms > TREE_LIMIT_MS) failure ??= `took ${ms.toFixed(0)} ms (the limit is ${TREE_LIMIT_MS} ms)`;
  if (ms > stats.slowestMs) {
    stats.slowestMs = ms;
    stats.slowest = describePatches(patches).slice(0, 200);
  }
  return failure;
}

/**
 * The fewest of `patches` that still fail (each dropped in turn while the rest fail). Saved to a
 * file in the temp dir, ready to be moved to test/fixtures/fuzz-crashers/ with a `found` line.
 */
async function minimize(patches: readonly Patch[], label: string): Promise<never> {
  let kept = [...patches];
  let failure = (await runTree(kept)) as string;
  for (let i = kept.length - 1; i >= 0 && kept.length > 1; i--) {
    const fewer = kept.filter((_, j) => j !== i);
    const f = await runTree(fewer);
    if (f !== undefined) {
      kept = fewer;
      failure = f;
    }
  }
  const file = join(tmpdir(), `socklens-fuzz-crasher-${SEED}-${Date.now()}.json`);
  writeFileSync(file, `${JSON.stringify({ found: label, patches: kept }, null, 2)}\n`);
  throw new Error(`${label}: ${failure}\npatches (saved to ${file}): ${describePatches(kept)}`);
}

interface Crasher {
  found: string;
  patches: Patch[];
}

function crashers(): [string, Crasher][] {
  if (!existsSync(CRASHERS)) return [];
  return readdirSync(CRASHERS)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => [f, JSON.parse(readFileSync(join(CRASHERS, f), "utf8")) as Crasher]);
}

// The in-process trees keep this thread busy; the CLI runs are other processes: run both at once.
describe.concurrent("fuzzed /proc trees", () => {
  it("the seed tree itself: every kind of socket, attributed", async () => {
    // The committed tree itself, read-only (the work tree may hold another test's patches).
    const r = await collectSockets({ paths: { ...PATHS(), proc: join(SEED_DIR, "proc") } });
    const kinds = new Set(r.sockets.map((s) => `${s.protocol}${s.family === "inet6" ? "6" : ""} ${s.state}`));
    for (const k of [
      "tcp LISTEN",
      "tcp ESTABLISHED",
      "tcp TIME_WAIT",
      "tcp SYN_SENT",
      "udp UNCONN",
      "udp6 UNCONN",
    ])
      expect(kinds).toContain(k);
    expect(r.sockets.some((s) => s.protocol === "unix" && s.state === "LISTEN")).toBe(true);
    expect(r.sockets.some((s) => (s.processes?.length ?? 0) > 1)).toBe(true);
    expect(r.sockets.some((s) => s.pod !== undefined)).toBe(true);
    expect(r.namespaces).toHaveLength(2);
    expect(r.diagnostics.unreadable + r.diagnostics.malformedLines).toBe(0);
    expect(await runTree([])).toBeUndefined();
  });

  it.each(crashers())(
    "crasher %s still passes",
    async (name, c) => {
      const failure = await runTree(c.patches);
      expect(failure, `crasher ${name} (${c.found}): ${describePatches(c.patches)}`).toBeUndefined();
    },
    60_000,
  );

  it(
    `${TREES} mutated trees: nothing throws, no injected line, no ESC, no runaway`,
    async () => {
      const started = performance.now();
      let n = 0;
      // No shrinking by fast-check (a slow tree shrunk a thousand times is a slow test):
      // `minimize` drops the patches that do not matter instead.
      await fc.assert(
        fc.asyncProperty(mutationsArb(), async (mutations: Mutation[]) => {
          // Past the budget the remaining runs return at once (fast-check's own time limit
          // would abandon the tree in flight, patched).
          if (performance.now() - started > BUDGET_MS) return;
          const patches = concretize(seed, mutations);
          stats.trees++;
          stats.patches += patches.length;
          const t0 = performance.now();
          if ((await runTree(patches)) !== undefined)
            await minimize(patches, `tree ${n} of FUZZ_SEED=${SEED}`);
          for (const op of new Set(mutations.map((m) => m.op))) {
            const [ms, trees] = opMs.get(op) ?? [0, 0];
            opMs.set(op, [ms + performance.now() - t0, trees + 1]);
          }
          n++;
        }),
        { seed: SEED, numRuns: TREES, endOnFailure: true },
      );
      if (process.env.FUZZ_PROFILE)
        console.log(
          [...opMs]
            .sort((a, b) => b[1][0] - a[1][0])
            .map(
              ([op, [ms, k]]) =>
                `${op}: ${k} trees, ${(ms / 1000).toFixed(1)} s, ${(ms / k).toFixed(1)} ms/tree`,
            )
            .join("\n"),
        );
      const s = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`fuzz-proc: ${n} of ${TREES} trees in ${s} s${n < TREES ? " (time budget reached)" : ""}`);
      // Every tree runs unless a budget was asked for (a long local run): no count that
      // depends on how busy the machine is.
      if (BUDGET_MS === Infinity) expect(n).toBe(TREES);
      // The work tree is the seed again.
      expect([...loadSeed(proc)]).toEqual([...seed]);
    },
    // Generous: a test that fails because the machine is busy is a flaky test, not a finding.
    Math.min(BUDGET_MS, 15 * 60_000) + 60_000,
  );

  it(`${CLI_RUNS} trees through bin/socklens.js: exit 0, 1 or 2, no stack trace`, async () => {
    if (!existsSync(join(REPO, "dist", "cli", "main.js")))
      throw new Error("dist/ is missing: run `npm run build` first (scripts/test.sh does)");
    const started = performance.now();
    const baseline = join(work, "baseline.yaml");
    writeFileSync(baseline, TRIVIAL_YAML);
    // Trees of their own stream, each with at least one change of file type.
    const samples = fc.sample(
      mutationsArb().filter((ms) => ms.some((m) => m.op.startsWith("to-") || m.op === "remove")),
      { seed: SEED + 1, numRuns: CLI_RUNS },
    );
    const commands = [
      ["scan"],
      ["scan", "-o", "wide"],
      ["snapshot", "-o", "-"],
      ["learn", "--duration", "0s"],
      ["check", "--baseline", baseline],
    ];
    const runs = samples.map((mutations, i) => {
      const patches = concretize(seed, mutations);
      const tree = join(work, `cli-${i}`);
      mkdirSync(tree);
      materialize(join(SEED_DIR, "proc"), join(tree, "proc"), patches, special);
      return { i, patches, tree, args: commands[i % commands.length] as string[] };
    });
    // One at a time: the other core runs the in-process trees meanwhile.
    const results: { i: number; code: number | null; stdout: string; stderr: string; ms: number }[] = [];
    for (const run of runs) results.push({ i: run.i, ...(await cli(run)) });
    for (const r of results.sort((a, b) => a.i - b.i)) {
      const run = runs[r.i] as (typeof runs)[number];
      const what = `socklens ${run.args.join(" ")} on tree ${r.i}: ${describePatches(run.patches).slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`;
      expect([0, 1, 2], what).toContain(r.code);
      expect(r.stderr, what).not.toMatch(/^\s+at /m);
      expect(r.stderr, what).not.toMatch(/\b(Type|Range|Reference|Syntax)?Error\b/);
      expect(r.stdout.includes("\x1b"), what).toBe(false);
      if (run.args[0] === "snapshot") expect(snapshotProblem(JSON.parse(r.stdout)), what).toBeNull();
      if (run.args[0] === "learn")
        expect(validateBaselines(r.stdout, "learned.yaml").problems, what).toEqual([]);
      if (run.args[0] === "scan") {
        // One row per socket: the same count the in-process collector finds in that tree.
        const inProcess = await collectSockets({
          paths: {
            proc: join(run.tree, "proc"),
            runNetns: join(work, "no-run-netns"),
            passwd: join(work, "none"),
          },
        });
        expect(r.stdout.trimEnd().split("\n").length, what).toBe(inProcess.sockets.length + 1);
      }
      stats.cliRuns++;
    }
    console.log(
      `fuzz-proc: ${results.length} CLI runs in ${((performance.now() - started) / 1000).toFixed(1)} s (slowest ${Math.max(...results.map((r) => r.ms)).toFixed(0)} ms)`,
    );
  }, 120_000);
});

/** Run the built CLI on a tree, killed after 20 s (a blocked read is a failure, not a hang). */
function cli(run: {
  tree: string;
  args: string[];
}): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, "bin", "socklens.js"), ...run.args], {
      cwd: run.tree,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOST_PROC: join(run.tree, "proc"),
        HOST_RUN_NETNS: join(run.tree, "no-run-netns"),
        HOST_PASSWD: join(run.tree, "none"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (t: string) => {
      stdout += t;
    });
    child.stderr.setEncoding("utf8").on("data", (t: string) => {
      stderr += t;
    });
    const timer = setTimeout(() => {
      stderr += "\n(killed after 20 s: blocked?)";
      child.kill("SIGKILL");
    }, 20_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

// ProcRootError is the one error the collector may throw: when the root itself cannot be listed.
describe("the proc root itself", () => {
  it("an unlistable root is ProcRootError, for every collector entry point that lists it", async () => {
    const paths = {
      proc: join(tmpdir(), "socklens-no-such-proc"),
      runNetns: "/nonexistent",
      passwd: "/nonexistent",
    };
    await expect(collectSockets({ paths })).rejects.toBeInstanceOf(ProcRootError);
    await expect(collectNetInfo({ paths })).rejects.toBeInstanceOf(ProcRootError);
    expect(listProcesses(paths)).toEqual([]);
  });
});
