import { describe, expect, it } from "vitest";
import { makeSocket } from "../../../test/support/socket.js";
import type { Socket } from "../socket.js";
import { detect } from "./detectors.js";
import { type ProcessSighting, type ScopeScan, Tracker } from "./tracker.js";

const T0 = Date.parse("2026-11-23T12:00:00Z");
const SCOPE = "netns 4026532555 (app)";
const conn = (p: Partial<Socket>): Socket =>
  makeSocket({
    localAddress: "10.9.0.2",
    remoteAddress: "10.9.0.9",
    remotePort: 443,
    state: "ESTABLISHED",
    ...p,
  });

/** Run scans at `every` ms from T0 and return the findings of the last one. */
function run(
  scans: ((i: number) => Partial<ScopeScan>)[] | ((i: number) => Partial<ScopeScan>),
  n: number,
  every = 1000,
) {
  const tracker = new Tracker();
  const make =
    typeof scans === "function" ? scans : (i: number) => (scans[i] as (i: number) => Partial<ScopeScan>)(i);
  for (let i = 0; i < n; i++) tracker.observe(T0 + i * every, [{ scope: SCOPE, sockets: [], ...make(i) }]);
  const m = tracker.scope(SCOPE);
  return m ? detect(m, T0 + (n - 1) * every) : [];
}

/** A connection closed `agoMs` before the scan, as the kernel shows it: TIME_WAIT with its timer. */
const timeWait = (localPort: number, agoMs: number, remoteAddress = "198.51.100.7") =>
  conn({
    localPort,
    remoteAddress,
    state: "TIME_WAIT",
    timer: { kind: "timewait", expiresInMs: 60_000 - agoMs },
  });

describe("Beaconing", () => {
  it("a connection every second to one outside peer, seen through TIME_WAIT: one finding with period and jitter", () => {
    // Each scan shows every connection of the last minute in TIME_WAIT, like the kernel does.
    const f = run(
      (i) => ({
        sockets: Array.from({ length: i + 1 }, (_, k) => timeWait(40000 + k, (i - k) * 1000 + 130)),
      }),
      20,
    );
    expect(f.map((x) => x.rule)).toEqual(["Beaconing"]);
    expect(f[0]?.message).toMatch(
      /opened 20 connections to 198\.51\.100\.7:443\/TCP at a steady 1\.0 s interval \(jitter 0%\) over 19 s/,
    );
    expect(f[0]?.mitre?.id).toBe("T1071");
  });

  it("irregular connections (jitter) are not a beacon", () => {
    const gaps = [300, 2100, 700, 1900, 400, 2600, 900, 1500, 350, 2200, 650, 1800];
    const times = [0];
    for (const g of gaps) times.push((times.at(-1) as number) + g);
    const end = times.at(-1) as number;
    const f = run(() => ({ sockets: times.map((t, k) => timeWait(40000 + k, end - t)) }), 2, 100);
    expect(f.filter((x) => x.rule === "Beaconing")).toEqual([]);
  });

  it("internal peers (a Service polled every second) are not judged", () => {
    const tracker = new Tracker();
    for (let i = 0; i < 20; i++)
      tracker.observe(T0 + i * 1000, [
        {
          scope: SCOPE,
          sockets: Array.from({ length: i + 1 }, (_, k) => timeWait(40000 + k, (i - k) * 1000, "10.96.0.20")),
        },
      ]);
    const m = tracker.scope(SCOPE);
    expect(m && detect(m, T0 + 19_000, { isInternal: (a) => a.startsWith("10.96.") })).toEqual([]);
  });
});

describe("ConnectionGrowth", () => {
  const established = (n: number) =>
    Array.from({ length: n }, (_, k) => conn({ localPort: 30000 + k, pid: 77, process: "app" }));
  it("a steady climb from 10 to 310 in 30 s, with a forecast to the known limit", () => {
    const tracker = new Tracker();
    for (let i = 0; i <= 30; i++)
      tracker.observe(T0 + i * 1000, [{ scope: SCOPE, sockets: established(10 + i * 10) }]);
    const m = tracker.scope(SCOPE);
    const f = m ? detect(m, T0 + 30_000, { limits: { ESTABLISHED: 1024 } }) : [];
    expect(f.map((x) => x.rule)).toEqual(["ConnectionGrowth"]);
    expect(f[0]?.message).toContain(
      "(process app, pid 77): established connections grew from 10 to 310 in 30 s (about 10/s)",
    );
    expect(f[0]?.message).toContain("the limit 1024 is reached in about 71 s");
  });

  it("without a given limit, forecasts to the growing process's open-file limit", () => {
    const tracker = new Tracker();
    for (let i = 0; i <= 30; i++)
      tracker.observe(T0 + i * 1000, [{ scope: SCOPE, sockets: established(10 + i * 10) }]);
    const m = tracker.scope(SCOPE);
    const f = m ? detect(m, T0 + 30_000, { fileLimits: new Map([[77, 1024]]) }) : [];
    expect(f[0]?.message).toContain("; at this rate the open-file limit 1024 is reached in about 71 s");
  });

  it("a step scale-out that then holds is not growth", () => {
    const f = run((i) => ({ sockets: established(i < 10 ? 5 : 300) }), 31);
    expect(f).toEqual([]);
  });
});

describe("CloseWaitLeak", () => {
  const closeWait = (n: number) =>
    Array.from({ length: n }, (_, k) =>
      conn({
        localPort: 7070,
        remoteAddress: `10.0.3.${k % 2 ? 4 : 9}`,
        remotePort: 50000 + k,
        state: "CLOSE_WAIT",
        pid: 812,
        process: "app",
      }),
    );
  it("CLOSE_WAIT that stays 40 s: one finding naming process, port and peers", () => {
    const f = run(() => ({ sockets: closeWait(10) }), 41);
    expect(f.map((x) => x.rule)).toEqual(["CloseWaitLeak"]);
    expect(f[0]?.message).toContain(
      "(process app, pid 812) has held 10 TCP sockets in CLOSE_WAIT for 30 s or more (the oldest 40 s) on :7070, with 10.0.3.4 (5), 10.0.3.9 (5)",
    );
  });
  it("a burst that drains is not a leak", () => {
    const f = run((i) => ({ sockets: i < 10 ? closeWait(50) : [] }), 41);
    expect(f).toEqual([]);
  });
});

describe("FailedHandshakes", () => {
  it("SYN_SENT to a silent peer for 5 s", () => {
    const f = run(
      () => ({
        sockets: [
          conn({
            localPort: 41000,
            remoteAddress: "10.9.9.9",
            remotePort: 5432,
            state: "SYN_SENT",
            pid: 5,
            process: "client",
          }),
        ],
      }),
      6,
    );
    expect(f.map((x) => x.rule)).toEqual(["FailedHandshakes"]);
    expect(f[0]?.message).toContain(
      "(process client, pid 5) has 1 connection attempt(s) to 10.9.9.9:5432/TCP stuck in SYN_SENT for 5.0 s",
    );
  });
  it("a handshake that completes within a second is not", () => {
    const f = run(
      (i) => ({ sockets: [conn({ localPort: 41000, state: i === 0 ? "SYN_SENT" : "ESTABLISHED" })] }),
      6,
    );
    expect(f).toEqual([]);
  });
});

describe("NetworkDiscoveryTool", () => {
  const proc = (pid: number, comm: string, cmdline: string): ProcessSighting => ({
    pid,
    comm,
    cmdline,
    ppid: 1,
    parent: "sh",
    uid: 0,
    user: "root",
  });
  it.each([
    ["ss", "ss\0-tanp", "T1049"],
    ["netstat", "netstat\0-an", "T1049"],
    ["nmap", "nmap\0-sS\x0010.0.0.0/24", "T1046"],
    ["nc", "nc\0-zv\x0010.0.0.5\x0022", "T1046"],
  ])("%s is discovery", (comm, cmdline, mitre) => {
    const f = run(() => ({ processes: [proc(42, comm, cmdline)] }), 1);
    expect(f.map((x) => [x.rule, x.mitre?.id, x.holder?.pid])).toEqual([["NetworkDiscoveryTool", mitre, 42]]);
    expect(f[0]?.message).toContain(`ran ${comm} (pid 42, parent sh (pid 1), user root)`);
  });
  it.each([
    ["nc", "nc\0-l\x008080"],
    ["nginx", "nginx: master process"],
  ])("%s is not", (comm, cmdline) => {
    expect(run(() => ({ processes: [proc(42, comm, cmdline)] }), 1)).toEqual([]);
  });
});

describe("the tracker stays bounded", () => {
  it("connections, peers and series are capped however long it runs", () => {
    const tracker = new Tracker({
      ...new Tracker().limits,
      maxConnections: 100,
      maxPeers: 50,
      seriesPoints: 20,
      arrivalsPerPeer: 8,
    });
    for (let i = 0; i < 300; i++)
      tracker.observe(T0 + i * 1000, [
        {
          scope: SCOPE,
          sockets: Array.from({ length: 500 }, (_, k) =>
            timeWait(1024 + ((i * 500 + k) % 60000), 100, `203.0.113.${k % 200}`),
          ),
        },
      ]);
    const m = tracker.scope(SCOPE);
    expect(m?.connections.size).toBeLessThanOrEqual(100);
    expect(m?.peers.size).toBeLessThanOrEqual(50);
    for (const p of m?.peers.values() ?? []) expect(p.arrivals.length).toBeLessThanOrEqual(8);
    for (const s of m?.series.values() ?? []) expect(s.length).toBeLessThanOrEqual(20);
  });
});

describe("finding keys", () => {
  it("two discovery tools at once are two findings, each ending on its own", async () => {
    const { findingKey } = await import("../baseline/evaluate.js");
    const tool = (pid: number, comm: string): ProcessSighting => ({ pid, comm, cmdline: comm });
    const f = run(() => ({ processes: [tool(7, "ss"), tool(8, "netstat")] }), 1);
    expect(f).toHaveLength(2);
    expect(new Set(f.map(findingKey)).size).toBe(2);
  });
});
