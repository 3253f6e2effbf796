/**
 * How `socklens check` judges what `socklens learn` learned (issue 8, "Host"): on real network
 * namespaces, through the real CLI.
 *
 * - A musl-style resolver (a new unconnected UDP socket bound to port 0 per query) is a client,
 *   not a listener: nothing ephemeral is learned, and new queries are zero findings.
 * - A pool that grows from 5 to 40 connections to a known peer is within limits: zero findings.
 * - A known peer goes dark (blackholed) and its client storms it with 30 SYNs; a server leaks 30
 *   connections in CLOSE_WAIT: against baselines learned while those states were absent, one
 *   TcpStateThreshold finding each, naming the process, pid, port and peer.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { FindingRecord } from "../../src/core/baseline/finding-record.js";
import { hostTestsUnavailable, ip, runCli, Sandbox, type Workload } from "./sandbox.js";

const unavailable = hostTestsUnavailable("judgement.test.ts");

/** Linux's default net.ipv4.ip_local_port_range, which every new namespace starts with. */
const EPHEMERAL: [number, number] = [32768, 60999];
const TCP_STATE = { ESTABLISHED: "01", SYN_SENT: "02", CLOSE_WAIT: "08" } as const;

/** Rows of /proc/<pid>/net/{tcp,udp}: the sockets of that process's namespace. */
function procNet(pid: number, file: "tcp" | "udp"): { localPort: number; state: string }[] {
  return readFileSync(`/proc/${pid}/net/${file}`, "utf8")
    .split("\n")
    .slice(1)
    .filter((l) => l.trim())
    .map((l) => {
      const f = l.trim().split(/\s+/);
      return {
        localPort: Number.parseInt((f[1] as string).split(":")[1] as string, 16),
        state: f[3] as string,
      };
    });
}

function tcpCount(pid: number, state: keyof typeof TCP_STATE): number {
  return procNet(pid, "tcp").filter((s) => s.state === TCP_STATE[state]).length;
}

/** Unconnected UDP sockets on ephemeral ports in the namespace of `pid`, right now. */
function ephemeralUdp(pid: number): number[] {
  return procNet(pid, "udp")
    .filter((s) => s.state === "07" && s.localPort >= EPHEMERAL[0] && s.localPort <= EPHEMERAL[1])
    .map((s) => s.localPort);
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface LearnedBaseline {
  spec: {
    listeners: { port: number; protocol: string; address?: string; process?: string }[];
    egress: { to: { ipBlock?: { cidr: string } }[]; ports: { port: number; protocol: string }[] }[];
    thresholds: { tcpStates: Record<string, number>; established: number };
  };
}

describe.skipIf(unavailable !== null)("judgement: learned baselines on real namespaces", () => {
  const box = new Sandbox();
  const dir = mkdtempSync(join(tmpdir(), "socklens-judgement-"));

  afterAll(async () => {
    await box.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `socklens learn --netns ns` into dir/<name>.yaml; returns the file and the parsed baseline. */
  function learn(ns: string, name: string, duration = "2s"): { file: string; baseline: LearnedBaseline } {
    const file = join(dir, `${name}.yaml`);
    const r = runCli([
      "learn",
      "--netns",
      ns,
      "--duration",
      duration,
      "--interval",
      "1s",
      "-o",
      file,
      "--name",
      name,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(runCli(["validate", file]).code).toBe(0);
    return { file, baseline: parse(readFileSync(file, "utf8")) as LearnedBaseline };
  }

  function check(ns: string, file: string): { code: number; findings: FindingRecord[]; output: string } {
    const r = runCli(["check", "--baseline", file, "--netns", ns, "-o", "json"]);
    const output = r.stdout + r.stderr;
    expect(r.code, output).not.toBe(2);
    const out = JSON.parse(r.stdout) as { results: { findings: FindingRecord[] }[] };
    return { code: r.code, findings: out.results.flatMap((x) => x.findings), output };
  }

  describe("a musl-style resolver: a new UDP socket on port 0 per query", () => {
    let app: string;
    let resolver: Workload;
    let learned: ReturnType<typeof learn>;

    beforeAll(async () => {
      app = box.netns("dns-app");
      const dns = box.netns("dns-srv");
      box.veth(app, dns, ["10.232.21.1", "10.232.21.2"], ["fd00:5c:21::1", "fd00:5c:21::2"]);
      await box.workload(dns, { title: "slwl-dns", listen: [{ proto: "udp", host: "0.0.0.0", port: 53 }] });
      // A fixed UDP listener below the ephemeral range: still a listener.
      await box.workload(app, {
        title: "slwl-mdns",
        listen: [{ proto: "udp", host: "0.0.0.0", port: 5353 }],
      });
      resolver = await box.workload(app, {
        title: "slwl-resolver",
        resolver: { host: "10.232.21.2", port: 53, everyMs: 25, holdMs: 300 },
      });
    });

    it("learns no listener on an ephemeral UDP port, only the fixed one", () => {
      // The resolver's client sockets are there to be (mis)taken for listeners.
      expect(ephemeralUdp(resolver.pid).length).toBeGreaterThan(0);
      learned = learn(app, "resolver", "3s");
      expect(ephemeralUdp(resolver.pid).length).toBeGreaterThan(0);
      const listeners = learned.baseline.spec.listeners;
      expect(
        listeners.filter((l) => l.protocol === "UDP" && l.port >= EPHEMERAL[0] && l.port <= EPHEMERAL[1]),
      ).toEqual([]);
      expect(listeners).toEqual([{ port: 5353, protocol: "UDP", address: "0.0.0.0", process: "slwl-mdns" }]);
    });

    it("checks new queries (new random ports) with zero findings and exit 0", async () => {
      const before = new Set(ephemeralUdp(resolver.pid));
      // Wait until every socket seen now has been replaced by a new query's socket.
      await until("new resolver sockets", () => {
        const now = ephemeralUdp(resolver.pid);
        return now.length > 0 && now.every((p) => !before.has(p));
      });
      for (let i = 0; i < 2; i++) {
        const r = check(app, learned.file);
        expect(r.findings, r.output).toEqual([]);
        expect(r.code).toBe(0);
      }
    });
  });

  it("a pool that grows from 5 to 40 connections to a known peer is not a finding", async () => {
    const app = box.netns("pool-app");
    const db = box.netns("pool-db");
    box.veth(app, db, ["10.232.22.1", "10.232.22.2"], ["fd00:5c:22::1", "fd00:5c:22::2"]);
    await box.workload(db, { title: "slwl-pooldb", listen: [{ proto: "tcp", host: "0.0.0.0", port: 5432 }] });
    const pool = await box.workload(app, {
      title: "slwl-pool",
      connect: [{ proto: "tcp", host: "10.232.22.2", port: 5432, count: 5 }],
    });
    const { file, baseline } = learn(app, "pool");
    expect(baseline.spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: "10.232.22.2/32" } }], ports: [{ port: 5432, protocol: "TCP" }] },
    ]);

    await pool.more({ connect: [{ proto: "tcp", host: "10.232.22.2", port: 5432, count: 35 }] });
    expect(tcpCount(pool.pid, "ESTABLISHED")).toBe(40);
    const r = check(app, file);
    expect(r.findings, r.output).toEqual([]);
    expect(r.code).toBe(0);
  });

  it("a SYN_SENT storm to a peer that went dark: one finding naming process, pid and peer", async () => {
    const app = box.netns("syn-app");
    const peer = box.netns("syn-peer");
    box.veth(app, peer, ["10.232.23.1", "10.232.23.2"], ["fd00:5c:23::1", "fd00:5c:23::2"]);
    // The service lives at 10.232.123.9, routed through the peer namespace.
    ip("-n", peer, "addr", "add", "10.232.123.9/32", "dev", "lo");
    ip("-n", app, "route", "add", "10.232.123.0/24", "via", "10.232.23.2");
    await box.workload(peer, { title: "slwl-svc", listen: [{ proto: "tcp", host: "0.0.0.0", port: 7000 }] });
    const dialer = await box.workload(app, {
      title: "slwl-dialer",
      connect: [{ proto: "tcp", host: "10.232.123.9", port: 7000 }],
    });
    const { file, baseline } = learn(app, "storm");
    expect(baseline.spec.thresholds.tcpStates.SYN_SENT).toBe(20);

    // The service goes dark: its address is gone and the peer namespace drops everything sent
    // to it without a word (a blackhole in the client's own namespace would fail connect(2)
    // at once with EINVAL; here the SYNs leave and are never answered).
    ip("-n", peer, "addr", "del", "10.232.123.9/32", "dev", "lo");
    ip("-n", peer, "route", "add", "blackhole", "10.232.123.0/24");
    await dialer.more({ dial: [{ host: "10.232.123.9", port: 7000, count: 30 }] });
    await until("30 sockets in SYN_SENT", () => tcpCount(dialer.pid, "SYN_SENT") === 30);

    const r = check(app, file);
    expect(r.code, r.output).toBe(1);
    expect(r.findings, r.output).toHaveLength(1);
    const f = r.findings[0] as FindingRecord;
    expect(f).toMatchObject({ rule: "TcpStateThreshold", state: "SYN_SENT", count: 30, limit: 20 });
    expect(f).toMatchObject({ process: "slwl-dialer", pid: dialer.pid });
    console.log(`SYN_SENT finding: ${f.message}`);
    expect(f.message).toMatch(
      new RegExp(
        `has 30 TCP sockets in SYN_SENT \\(process slwl-dialer, pid ${dialer.pid}\\), to 10\\.232\\.123\\.9:7000 \\(30\\); baseline default/storm allows at most 20 — peers are not answering$`,
      ),
    );
  });

  it("a CLOSE_WAIT leak: one finding naming the server, pid, local port and peer with a count", async () => {
    const app = box.netns("leak-app");
    const clients = box.netns("leak-cli");
    box.veth(app, clients, ["10.232.24.1", "10.232.24.2"], ["fd00:5c:24::1", "fd00:5c:24::2"]);
    const server = await box.workload(app, {
      title: "slwl-leaky",
      listen: [{ proto: "tcp", host: "0.0.0.0", port: 7070, halfOpen: true }],
    });
    const client = await box.workload(clients, {
      title: "slwl-caller",
      connect: [{ proto: "tcp", host: "10.232.24.1", port: 7070 }],
    });
    const { file, baseline } = learn(app, "leak");
    expect(baseline.spec.thresholds.tcpStates.CLOSE_WAIT).toBe(20);
    expect(tcpCount(server.pid, "CLOSE_WAIT")).toBe(0);

    // The client closes 30 connections; the server never closes its ends.
    await client.more({
      connect: [{ proto: "tcp", host: "10.232.24.1", port: 7070, count: 30, close: true }],
    });
    await until("30 sockets in CLOSE_WAIT", () => tcpCount(server.pid, "CLOSE_WAIT") === 30);

    const r = check(app, file);
    expect(r.code, r.output).toBe(1);
    expect(r.findings, r.output).toHaveLength(1);
    const f = r.findings[0] as FindingRecord;
    expect(f).toMatchObject({ rule: "TcpStateThreshold", state: "CLOSE_WAIT", count: 30, limit: 20 });
    expect(f).toMatchObject({ process: "slwl-leaky", pid: server.pid });
    console.log(`CLOSE_WAIT finding: ${f.message}`);
    expect(f.message).toMatch(
      new RegExp(
        `has 30 TCP sockets in CLOSE_WAIT on :7070 \\(process slwl-leaky, pid ${server.pid}\\), from 10\\.232\\.24\\.2 \\(30\\); baseline default/leak allows at most 20 — the application is not closing connections its peers closed$`,
      ),
    );
  });
});
