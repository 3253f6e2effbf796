/**
 * `socklens watch` and its memory (issue 9, "Host"): the real CLI, spawned as
 * `watch --netns A,B,… --interval 1s --duration 46s -o ndjson`, over workloads in network
 * namespaces this file makes. Every scenario has a namespace of its own (a scope of its own),
 * and all of them run at once during one watch run; the tests read its "start" events.
 *
 * "world" stands for everything outside: a namespace holding 198.51.100.7 (TEST-NET-2, the
 * beacon's command-and-control server on :443), a database on :5432, a web server on :80, the
 * clients of the CLOSE_WAIT servers, and a blackhole for 203.0.113.0/24 (TEST-NET-3). Each
 * scenario's namespace reaches it over a veth pair of its own, 10.234.<n>.1 ↔ 10.234.<n>.2.
 *
 * - beacon: a short connection to 198.51.100.7:443 every 1 s for 20 s → one Beaconing.
 * - growth: +10 established connections a second for 30 s → one ConnectionGrowth;
 *   step: 5 → 300 once, then held → nothing.
 * - leak: 30 CLOSE_WAIT held through the whole run (≥ 46 s) → one CloseWaitLeak naming process
 *   and port; drain: two bursts of 30 CLOSE_WAIT, each closed 3 s later → nothing.
 * - syn: 20 connects to a blackholed peer, in SYN_SENT through the run → one FailedHandshakes.
 * - disco: `ss -E` (lives until killed) and `netstat -c` (continuous), overlapping, run with
 *   `ip netns exec` next to an app → one NetworkDiscoveryTool each, with pid and command line;
 *   bare: `ss -E` in a namespace with no socket at all → one too.
 * - storm: 300 short connections at once, then 200 more at 10/s, all to one peer (500 in
 *   TIME_WAIT, far from the 28232 ephemeral ports) → nothing.
 * - lane1, lane2: no assertion, a log line for the docs: how many `ss -E` living 50 ms … 2 s
 *   were caught at --interval 1s.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FindingRecord } from "../../src/core/baseline/finding-record.js";
import { hostTestsUnavailable, ip, REPO, Sandbox, type Workload } from "./sandbox.js";

const unavailable = hostTestsUnavailable("watch.test.ts");

function netstatMissing(): string | null {
  try {
    execFileSync("netstat", ["--version"], { stdio: "ignore" });
    return null;
  } catch {
    return "netstat is not installed (`apt-get install net-tools` provides it)";
  }
}
const noNetstat = unavailable === null ? netstatMissing() : null;
if (noNetstat) console.warn(`SKIPPED the netstat case of watch.test.ts: ${noNetstat}`);

const WATCH_SECONDS = 46;
const BEACON = { address: "198.51.100.7", port: 443 };
const BLACKHOLE = { address: "203.0.113.9", port: 7000 };
/** One namespace per scenario; "bare" gets no veth and no workload. */
const SCOPES = [
  "beacon",
  "growth",
  "step",
  "leak",
  "drain",
  "syn",
  "disco",
  "bare",
  "storm",
  "lane1",
  "lane2",
];
/** How long each `ss -E` of the catch-rate lanes lives (ms), per lane, 4 rounds. */
const LANES: [string, number[]][] = [
  ["lane1", [50, 200, 500]],
  ["lane2", [1000, 2000]],
];
const TCP_STATE = { ESTABLISHED: "01", SYN_SENT: "02", TIME_WAIT: "06", CLOSE_WAIT: "08" } as const;

/** watch -o ndjson prints the documented finding record (src/core/baseline/finding-record.ts). */
type WatchEvent = FindingRecord & { event: "start" | "end"; time: string; durationMs?: number };
interface Summary {
  event: "summary";
  seconds: number;
  findings: number;
  byRule: Record<string, number>;
  active: number;
}

/** TCP sockets in one state in the namespace of `pid`, right now (every test address is IPv4). */
function tcpCount(pid: number, state: keyof typeof TCP_STATE): number {
  return readFileSync(`/proc/${pid}/net/tcp`, "utf8")
    .split("\n")
    .slice(1)
    .filter((l) => l.trim().split(/\s+/)[3] === TCP_STATE[state]).length;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe.skipIf(unavailable !== null)("watch: every detector on real namespaces, in one run", () => {
  const box = new Sandbox();
  const tools: ChildProcess[] = [];
  const ns = new Map<string, string>();
  const workloads = new Map<string, Workload>();
  /** Pids of the discovery tools of the disco and bare scenarios. */
  const toolPid = new Map<string, number>();
  /** The catch-rate lanes: each short-lived tool's pid and lifetime (ms). */
  const laneTools = new Map<number, number>();
  /** What the workloads had done, counted in /proc when they were done. */
  const counted = new Map<string, number>();
  let events: WatchEvent[] = [];
  let summary: Summary | undefined;
  let stderr = "";
  let code: number | null = null;

  const netns = (name: string): string => ns.get(name) ?? expect.unreachable(`no namespace ${name}`);
  const wl = (name: string): Workload => workloads.get(name) ?? expect.unreachable(`no workload ${name}`);
  /** Addresses on the veth pair between a scenario's namespace (.1) and world (.2). */
  const addr = (name: string, side: 1 | 2) => `10.234.${10 + SCOPES.indexOf(name)}.${side}`;
  /** Every event (start and end) of one scenario's namespace. */
  const eventsOf = (name: string): WatchEvent[] => events.filter((e) => e.scope.endsWith(`(${netns(name)})`));
  const starts = (name: string): WatchEvent[] => eventsOf(name).filter((e) => e.event === "start");
  /** For failure messages: the scenario's whole ndjson. */
  const show = (name: string) =>
    eventsOf(name)
      .map((e) => JSON.stringify(e))
      .join("\n") || "(no events)";

  /** A tool run in a namespace; `ip netns exec` execs it, so the child's pid is the tool's. */
  function tool(name: string, argv: string[]): ChildProcess {
    const child = spawn("ip", ["netns", "exec", netns(name), ...argv], { stdio: "ignore" });
    tools.push(child);
    return child;
  }
  async function stop(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    await exited;
  }

  beforeAll(async () => {
    if (!existsSync(join(REPO, "dist", "cli", "main.js")))
      throw new Error("dist/ is missing: run `npm run build` before the host tests (scripts/test.sh does)");
    const world = box.netns("world");
    ip("-n", world, "addr", "add", `${BEACON.address}/32`, "dev", "lo");
    ip("-n", world, "route", "add", "blackhole", "203.0.113.0/24");
    for (const name of SCOPES) {
      const n = box.netns(name);
      ns.set(name, n);
      if (name === "bare") continue;
      const [v4a, v4b] = [addr(name, 1), addr(name, 2)];
      const sub = 10 + SCOPES.indexOf(name);
      box.veth(n, world, [v4a, v4b], [`fd00:5c:e${sub}::1`, `fd00:5c:e${sub}::2`]);
      for (const net of ["198.51.100.0/24", "203.0.113.0/24"]) ip("-n", n, "route", "add", net, "via", v4b);
    }

    await box.workload(world, {
      title: "slwl-world",
      listen: [BEACON.port, 5432, 80].map((port) => ({ proto: "tcp" as const, host: "0.0.0.0", port })),
    });
    workloads.set(
      "leak",
      await box.workload(netns("leak"), {
        title: "slwl-leaky",
        listen: [{ proto: "tcp", host: "0.0.0.0", port: 7070, halfOpen: true }],
      }),
    );
    workloads.set(
      "drain",
      await box.workload(netns("drain"), {
        title: "slwl-drainer",
        listen: [{ proto: "tcp", host: "0.0.0.0", port: 7071, halfOpen: true, drainMs: 3000 }],
      }),
    );
    // The clients of both servers: they close; the leaky server never does, from here on.
    workloads.set(
      "callers",
      await box.workload(world, {
        title: "slwl-callers",
        connect: [{ proto: "tcp", host: addr("leak", 1), port: 7070, count: 30, close: true }],
      }),
    );
    workloads.set(
      "growth",
      await box.workload(netns("growth"), {
        title: "slwl-growing",
        connect: [{ proto: "tcp", host: addr("growth", 2), port: 5432, count: 10 }],
      }),
    );
    workloads.set(
      "step",
      await box.workload(netns("step"), {
        title: "slwl-scaling",
        connect: [{ proto: "tcp", host: addr("step", 2), port: 5432, count: 5 }],
      }),
    );
    // The peer is gone: world drops what is sent to it, without a word.
    workloads.set(
      "syn",
      await box.workload(netns("syn"), {
        title: "slwl-dialer",
        dial: [{ host: BLACKHOLE.address, port: BLACKHOLE.port, count: 20 }],
      }),
    );
    workloads.set("storm", await box.workload(netns("storm"), { title: "slwl-stormy" }));
    for (const name of ["disco", "lane1", "lane2"])
      await box.workload(netns(name), {
        title: `slwl-app-${name}`,
        listen: [{ proto: "tcp", host: "0.0.0.0", port: 8080 }],
      });
    await until("30 sockets in CLOSE_WAIT", () => tcpCount(wl("leak").pid, "CLOSE_WAIT") === 30);
    await until("20 sockets in SYN_SENT", () => tcpCount(wl("syn").pid, "SYN_SENT") === 20);
    // Last, so that its 20 s fall inside the run: a short connection (~100 ms) every second.
    workloads.set(
      "beacon",
      await box.workload(netns("beacon"), {
        title: "slwl-updater",
        short: { host: BEACON.address, port: BEACON.port, everyMs: 1000, holdMs: 100, count: 20 },
      }),
    );

    const watch = spawn(
      process.execPath,
      [
        join(REPO, "bin", "socklens.js"),
        "watch",
        "--netns",
        SCOPES.map(netns).join(","),
        "--interval",
        "1s",
        "--duration",
        `${WATCH_SECONDS}s`,
        "-o",
        "ndjson",
      ],
      { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    watch.stdout.on("data", (d) => {
      stdout += d;
    });
    watch.stderr.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((r) => watch.once("exit", (c) => r(c)));
    const t0 = Date.now();
    const at = (ms: number) => sleep(t0 + ms - Date.now());

    await Promise.all([
      // A steady climb: +10 established connections a second, 10 → 310.
      (async () => {
        for (let i = 0; i < 30; i++) {
          await at(2000 + i * 1000);
          await wl("growth").more({
            connect: [{ proto: "tcp", host: addr("growth", 2), port: 5432, count: 10 }],
          });
        }
        counted.set("growth", tcpCount(wl("growth").pid, "ESTABLISHED"));
      })(),
      // A scale-out: 5 → 300 at once, then held.
      (async () => {
        await at(6000);
        await wl("step").more({
          connect: [{ proto: "tcp", host: addr("step", 2), port: 5432, count: 295 }],
        });
        counted.set("step", tcpCount(wl("step").pid, "ESTABLISHED"));
      })(),
      // Two bursts of CLOSE_WAIT that drain within 3 s.
      (async () => {
        for (const t of [5000, 20_000]) {
          await at(t);
          await wl("callers").more({
            connect: [{ proto: "tcp", host: addr("drain", 1), port: 7071, count: 30, close: true }],
          });
          await until("a CLOSE_WAIT burst", () => tcpCount(wl("drain").pid, "CLOSE_WAIT") === 30);
          await until("the burst to drain", () => tcpCount(wl("drain").pid, "CLOSE_WAIT") === 0);
        }
        counted.set("drained", 2);
      })(),
      // A TIME_WAIT storm: 300 at once, then 200 at 10/s, all to one peer.
      (async () => {
        await at(4000);
        await wl("storm").more({ short: { host: addr("storm", 2), port: 80, count: 300 } });
        counted.set("storm", tcpCount(wl("storm").pid, "TIME_WAIT"));
        await wl("storm").more({ short: { host: addr("storm", 2), port: 80, everyMs: 100, count: 200 } });
      })(),
      // ss -E, then netstat -c while it still runs, next to an app; ss -E where nothing is.
      (async () => {
        await at(3000);
        const ss = tool("disco", ["ss", "-E"]);
        const bare = tool("bare", ["ss", "-E"]);
        toolPid.set("ss", ss.pid as number);
        toolPid.set("bare", bare.pid as number);
        let netstat: ChildProcess | undefined;
        if (!noNetstat) {
          await at(5000);
          netstat = tool("disco", ["netstat", "-c", "-tan"]);
          toolPid.set("netstat", netstat.pid as number);
        }
        await at(12_000);
        await Promise.all([stop(ss), stop(bare)]);
        await at(14_000);
        if (netstat) await stop(netstat);
      })(),
      // Catch rates: one `ss -E` at a time per lane, killed after its lifetime, then a pause
      // longer than a scan (so that one tool's finding has ended before the next starts).
      ...LANES.map(async ([name, lifetimes]) => {
        await at(2000);
        for (let round = 0; round < 4; round++)
          for (const ms of lifetimes) {
            const child = tool(name, ["ss", "-E"]);
            laneTools.set(child.pid as number, ms);
            await sleep(ms);
            await stop(child, "SIGKILL");
            await sleep(1500 + Math.random() * 700);
          }
      }),
    ]);
    code = await exited;
    const parsed = stdout
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as WatchEvent | Summary);
    events = parsed.filter((e): e is WatchEvent => e.event !== "summary");
    summary = parsed.find((e): e is Summary => e.event === "summary");

    const caught = new Set(events.filter((e) => e.event === "start").map((e) => e.pid));
    const rates = LANES.flatMap(([, lifetimes]) => lifetimes).map((ms) => {
      const pids = [...laneTools].filter(([, l]) => l === ms).map(([p]) => p);
      return `${ms} ms: ${pids.filter((p) => caught.has(p)).length}/${pids.length}`;
    });
    console.log(`discovery tools caught at --interval 1s, by lifetime: ${rates.join(", ")}`);
  }, 150_000);

  afterAll(async () => {
    await Promise.all(tools.map((t) => stop(t, "SIGKILL")));
    await box.cleanup();
  });

  it("runs for its duration, ends with a summary and exits 1 (findings)", () => {
    expect(code, stderr).toBe(1);
    expect(summary).toMatchObject({
      event: "summary",
      findings: events.filter((e) => e.event === "start").length,
    });
    expect(summary?.seconds).toBeGreaterThanOrEqual(WATCH_SECONDS - 2);
  });

  it("a beacon every 1 s to 198.51.100.7:443: one Beaconing, period 1.0 s, at least 8 connections", () => {
    const found = starts("beacon");
    expect(
      found.map((e) => e.rule),
      show("beacon"),
    ).toEqual(["Beaconing"]);
    const f = found[0] as WatchEvent;
    console.log(`Beaconing: ${f.message}`);
    expect([f.direction, f.peerAddress, f.peerPort, f.protocol]).toEqual([
      "egress",
      BEACON.address,
      BEACON.port,
      "TCP",
    ]);
    expect(f.count).toBeGreaterThanOrEqual(8);
    expect(f.mitre?.id).toBe("T1071");
    expect(f.message).toMatch(
      /opened (\d+) connections to 198\.51\.100\.7:443\/TCP at a steady (0\.9|1\.0|1\.1) s interval \(jitter \d+%\)/,
    );
    expect(f.message).toContain(`opened ${f.count} connections`);
    // Who opened them is known only when a scan caught one open (each lives ~100 ms).
    if (f.pid !== undefined) expect([f.pid, f.process]).toEqual([wl("beacon").pid, "slwl-updater"]);
  });

  it("a steady climb of established connections: one ConnectionGrowth", () => {
    expect(counted.get("growth")).toBe(310);
    const found = starts("growth");
    expect(
      found.map((e) => e.rule),
      show("growth"),
    ).toEqual(["ConnectionGrowth"]);
    const f = found[0] as WatchEvent;
    console.log(`ConnectionGrowth: ${f.message}`);
    expect(f.state).toBe("ESTABLISHED");
    expect(f.message).toContain(
      `(process slwl-growing, pid ${wl("growth").pid}): established connections grew from `,
    );
    expect(f.message).toContain(`to ${addr("growth", 2)}:5432 (`);
  });

  it("a step scale-out (5 → 300) that then holds: no finding", () => {
    expect(counted.get("step")).toBe(300);
    expect(starts("step"), show("step")).toEqual([]);
  });

  it("a CLOSE_WAIT leak that persists: one CloseWaitLeak naming process, pid and port", () => {
    expect(tcpCount(wl("leak").pid, "CLOSE_WAIT")).toBe(30);
    const found = starts("leak");
    expect(
      found.map((e) => e.rule),
      show("leak"),
    ).toEqual(["CloseWaitLeak"]);
    const f = found[0] as WatchEvent;
    console.log(`CloseWaitLeak: ${f.message}`);
    expect(f).toMatchObject({ state: "CLOSE_WAIT", count: 30 });
    expect(f.message).toContain(
      `(process slwl-leaky, pid ${wl("leak").pid}) has held 30 TCP sockets in CLOSE_WAIT for 30 s or more`,
    );
    expect(f.message).toContain(` on :7070, with ${addr("leak", 2)} (30) — `);
  });

  it("CLOSE_WAIT bursts that drain within seconds: no finding", () => {
    expect(counted.get("drained")).toBe(2);
    expect(starts("drain"), show("drain")).toEqual([]);
  });

  it("SYN_SENT to a blackholed peer: one FailedHandshakes naming the peer", () => {
    const found = starts("syn");
    expect(
      found.map((e) => e.rule),
      show("syn"),
    ).toEqual(["FailedHandshakes"]);
    const f = found[0] as WatchEvent;
    console.log(`FailedHandshakes: ${f.message}`);
    expect([f.direction, f.peerAddress, f.peerPort, f.protocol]).toEqual([
      "egress",
      BLACKHOLE.address,
      BLACKHOLE.port,
      "TCP",
    ]);
    expect(f.message).toContain(
      `(process slwl-dialer, pid ${wl("syn").pid}) has 20 connection attempt(s) to 203.0.113.9:7000/TCP stuck in SYN_SENT`,
    );
  });

  it("ss -E and netstat -c run inside a namespace: one NetworkDiscoveryTool each, with pid and command line", () => {
    const found = starts("disco");
    for (const f of found) console.log(`NetworkDiscoveryTool: ${f.message}`);
    const expected = [{ tool: "ss", cmdline: "ss\0-E", shown: "ss -E" }];
    if (noNetstat) console.warn(`SKIPPED the netstat case: ${noNetstat}`);
    else expected.push({ tool: "netstat", cmdline: "netstat\0-c\0-tan", shown: "netstat -c -tan" });
    expect(
      found.map((e) => [e.rule, e.pid]),
      show("disco"),
    ).toEqual(expected.map((t) => ["NetworkDiscoveryTool", toolPid.get(t.tool)]));
    for (const [i, t] of expected.entries()) {
      const f = found[i] as WatchEvent;
      const pid = toolPid.get(t.tool);
      expect(f.mitre?.id).toBe("T1049");
      expect([f.pid, f.process, f.cmdline]).toEqual([pid, t.tool, t.cmdline]);
      expect(f.message).toContain(`ran ${t.tool} (pid ${pid}, parent `);
      expect(f.message).toContain(`, user root): ${t.shown} — `);
    }
  });

  it("ss -E in a namespace with no socket at all: one NetworkDiscoveryTool", () => {
    expect(
      starts("bare").map((e) => [e.rule, e.pid]),
      show("bare"),
    ).toEqual([["NetworkDiscoveryTool", toolPid.get("bare")]]);
  });

  it("a TIME_WAIT storm far from the ephemeral limit: no finding", () => {
    // 300 connections closed by us; now and then a few do not end in TIME_WAIT.
    expect(counted.get("storm")).toBeGreaterThanOrEqual(280);
    expect(starts("storm"), show("storm")).toEqual([]);
  });
});
