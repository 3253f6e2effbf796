/**
 * In the host's own namespace, the TCP sockets socklens reports agree with `ss -tanp` taken
 * at the same moment. Sockets that changed between the reads (a TIME_WAIT expiring, a new
 * connection) are allowed for: ss runs before and after the scan, and only sockets present
 * in both ss runs must be in the scan; the scan may only hold sockets seen by either run.
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "../../src/core/socket.js";
import { formatAddress, parseIp } from "../../src/net/address.js";
import { hostTestsUnavailable, netnsInode, runCli, Sandbox } from "./sandbox.js";

const unavailable = hostTestsUnavailable("ss-agreement.test.ts");

interface SsSocket {
  key: string;
  pids: number[];
}

// ss spells some states differently from the kernel.
const SS_STATES: Record<string, string> = {
  ESTAB: "ESTABLISHED",
  "TIME-WAIT": "TIME_WAIT",
  "CLOSE-WAIT": "CLOSE_WAIT",
  "SYN-SENT": "SYN_SENT",
  "SYN-RECV": "SYN_RECV",
  "FIN-WAIT-1": "FIN_WAIT1",
  "FIN-WAIT-2": "FIN_WAIT2",
  "LAST-ACK": "LAST_ACK",
  UNCONN: "CLOSE",
};

function splitEndpoint(text: string): [string, number] {
  const colon = text.lastIndexOf(":");
  let addr = text.slice(0, colon).replace(/^\[|\]$/g, "");
  addr = addr.replace(/%.*$/, "");
  if (addr === "*") addr = "0.0.0.0";
  const bytes = parseIp(addr);
  const port = text.slice(colon + 1);
  return [bytes ? formatAddress(bytes) : addr, port === "*" ? 0 : Number(port)];
}

function ssTcp(): Map<string, SsSocket> {
  const out = new Map<string, SsSocket>();
  const text = execFileSync("ss", ["-tanpH"], { encoding: "utf8" });
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const f = line.trim().split(/\s+/);
    const state = SS_STATES[f[0] ?? ""] ?? f[0];
    const [la, lp] = splitEndpoint(f[3] ?? "");
    const [ra, rp] = splitEndpoint(f[4] ?? "");
    const key = `${state} ${la}:${lp} ${ra}:${rp}`;
    const pids = [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    out.set(key, { key, pids: [...new Set(pids)].sort((a, b) => a - b) });
  }
  return out;
}

const keyOf = (s: Socket) => `${s.state} ${s.localAddress}:${s.localPort} ${s.remoteAddress}:${s.remotePort}`;

describe.skipIf(unavailable !== null)("agreement with ss -tanp in the host namespace", () => {
  const box = new Sandbox();

  beforeAll(async () => {
    // Some traffic of our own on loopback, so the comparison is never about an empty table.
    const server = await box.workload(null, {
      title: "slwl-ss-srv",
      listen: [
        { proto: "tcp", host: "127.0.0.1", port: 0 },
        { proto: "tcp", host: "::1", port: 0 },
      ],
    });
    const [v4, v6] = server.sockets;
    await box.workload(null, {
      title: "slwl-ss-cli",
      connect: [
        { proto: "tcp", host: "127.0.0.1", port: v4?.localPort ?? 0 },
        { proto: "tcp", host: "127.0.0.1", port: v4?.localPort ?? 0 },
        { proto: "tcp", host: "::1", port: v6?.localPort ?? 0 },
      ],
    });
  });
  afterAll(() => box.cleanup());

  it("reports the same TCP sockets and owning pids", () => {
    const before = ssTcp();
    const r = runCli(["scan", "-o", "ndjson", "--proto", "tcp", "--netns", String(netnsInode("self"))]);
    const after = ssTcp();
    expect(r.code, r.stderr).toBe(0);
    const ours = new Map(
      r.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Socket)
        .map((s) => [keyOf(s), s]),
    );
    const stable = [...before.keys()].filter((k) => after.has(k));
    expect(stable.length).toBeGreaterThanOrEqual(7); // our 2 listeners + 3 connections × 2 ends
    const missing = stable.filter((k) => !ours.has(k));
    expect(missing, "in ss before and after, but not in socklens").toEqual([]);
    const extra = [...ours.keys()].filter((k) => !before.has(k) && !after.has(k));
    expect(extra, "in socklens, but in neither ss run").toEqual([]);
    for (const k of stable) {
      const ss = after.get(k) as SsSocket;
      const s = ours.get(k) as Socket;
      const pids = s.processes ? s.processes.map((p) => p.pid) : s.pid === undefined ? [] : [s.pid];
      expect(pids, k).toEqual(ss.pids);
    }
  });
});
