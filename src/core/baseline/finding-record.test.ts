import { describe, expect, it } from "vitest";
import { makeSocket } from "../../../test/support/socket.js";
import { NetworkBaseline } from "../../api/v1alpha1/networkbaseline.js";
import { compileBaseline } from "./compile.js";
import { evaluate } from "./evaluate.js";
import { type FindingRecord, findingRecord, suppressedRecord } from "./finding-record.js";
import { offlineResolver } from "./resolver.js";
import type { Finding } from "./types.js";

const NS = 4026532100;
const base = { baseline: "shop/web", scope: "pod shop/web-7d9" };

describe("findingRecord: a finding as one flat, stable record", () => {
  it.each<[string, Finding, FindingRecord]>([
    [
      "a listener: our address and port, the process",
      {
        ...base,
        rule: "UnexpectedListener",
        severity: "high",
        message: "pod shop/web-7d9 opened an unexpected listener on 0.0.0.0:4444/TCP …",
        socket: {
          protocol: "tcp",
          localAddress: "0.0.0.0",
          localPort: 4444,
          remoteAddress: "0.0.0.0",
          remotePort: 0,
          state: "LISTEN",
          pid: 812,
          process: "nc",
          netns: NS,
        },
        count: 1,
      },
      {
        ...base,
        rule: "UnexpectedListener",
        severity: "high",
        message: "pod shop/web-7d9 opened an unexpected listener on 0.0.0.0:4444/TCP …",
        process: "nc",
        pid: 812,
        protocol: "TCP",
        localAddress: "0.0.0.0",
        localPort: 4444,
        state: "LISTEN",
        count: 1,
        netns: NS,
        key: "UnexpectedListener/0.0.0.0/4444/nc",
      },
    ],
    [
      "egress: the peer's address, port and identity, MITRE; no ephemeral local port",
      {
        ...base,
        rule: "UnexpectedEgress",
        severity: "medium",
        mitre: { id: "T1571", name: "Non-Standard Port" },
        message: "pod shop/web-7d9 connected to 10.244.2.7:6379/TCP (pod shop/db-0) …",
        socket: {
          protocol: "tcp",
          localAddress: "10.244.1.5",
          localPort: 40123,
          remoteAddress: "10.244.2.7",
          remotePort: 6379,
          state: "TIME_WAIT",
          netns: NS,
        },
        peer: {
          direction: "egress",
          address: "10.244.2.7",
          port: 6379,
          protocol: "TCP",
          identity: "pod shop/db-0",
        },
        count: 41,
      },
      {
        ...base,
        rule: "UnexpectedEgress",
        severity: "medium",
        mitre: { id: "T1571", name: "Non-Standard Port" },
        message: "pod shop/web-7d9 connected to 10.244.2.7:6379/TCP (pod shop/db-0) …",
        protocol: "TCP",
        direction: "egress",
        peerAddress: "10.244.2.7",
        peerPort: 6379,
        peerIdentity: "pod shop/db-0",
        state: "TIME_WAIT",
        count: 41,
        netns: NS,
        key: "UnexpectedEgress/10.244.2.7/6379/*",
      },
    ],
    [
      "ingress: our port, the peer's address; no ephemeral peer port",
      {
        ...base,
        rule: "UnexpectedIngress",
        severity: "medium",
        message: "pod shop/web-7d9 accepted a connection from 10.0.3.4 on port 8080/TCP …",
        socket: {
          protocol: "tcp",
          localAddress: "10.244.1.5",
          localPort: 8080,
          remoteAddress: "10.0.3.4",
          remotePort: 51515,
          state: "ESTABLISHED",
          pid: 812,
          process: "web",
          netns: NS,
        },
        peer: { direction: "ingress", address: "10.0.3.4", port: 8080, protocol: "TCP" },
        count: 2,
      },
      {
        ...base,
        rule: "UnexpectedIngress",
        severity: "medium",
        message: "pod shop/web-7d9 accepted a connection from 10.0.3.4 on port 8080/TCP …",
        process: "web",
        pid: 812,
        protocol: "TCP",
        localAddress: "10.244.1.5",
        localPort: 8080,
        direction: "ingress",
        peerAddress: "10.0.3.4",
        state: "ESTABLISHED",
        count: 2,
        netns: NS,
        key: "UnexpectedIngress/10.0.3.4/8080/web",
      },
    ],
    [
      "a threshold: state, count and limit, nothing invented",
      {
        ...base,
        rule: "TcpStateThreshold",
        severity: "low",
        message: "pod shop/web-7d9 has 81 TCP sockets in CLOSE_WAIT; …",
        count: 81,
        limit: 20,
        state: "CLOSE_WAIT",
      },
      {
        ...base,
        rule: "TcpStateThreshold",
        severity: "low",
        message: "pod shop/web-7d9 has 81 TCP sockets in CLOSE_WAIT; …",
        state: "CLOSE_WAIT",
        count: 81,
        limit: 20,
        key: "TcpStateThreshold/*/*/*",
      },
    ],
    [
      "a threshold with an example socket: its holder, not its (maybe ephemeral) local port",
      {
        ...base,
        rule: "TcpStateThreshold",
        severity: "low",
        message: "pod shop/web-7d9 has 30 TCP sockets in CLOSE_WAIT on :7070 (process app, pid 812), …",
        socket: {
          protocol: "tcp",
          localAddress: "10.244.1.5",
          localPort: 7070,
          remoteAddress: "10.0.3.4",
          remotePort: 50123,
          state: "CLOSE_WAIT",
          pid: 812,
          process: "app",
          netns: NS,
        },
        count: 30,
        limit: 20,
        state: "CLOSE_WAIT",
      },
      {
        ...base,
        rule: "TcpStateThreshold",
        severity: "low",
        message: "pod shop/web-7d9 has 30 TCP sockets in CLOSE_WAIT on :7070 (process app, pid 812), …",
        process: "app",
        pid: 812,
        protocol: "TCP",
        state: "CLOSE_WAIT",
        count: 30,
        limit: 20,
        netns: NS,
        key: "TcpStateThreshold/*/*/app",
      },
    ],
    [
      "a detector's finding about a process: its pid, name and command line",
      {
        ...base,
        rule: "NetworkDiscoveryTool",
        severity: "high",
        message: "pod shop/web-7d9 runs nmap (pid 4242) …",
        holder: { pid: 4242, process: "nmap", cmdline: "nmap -sS 10.0.0.0/24" },
        count: 1,
      },
      {
        ...base,
        rule: "NetworkDiscoveryTool",
        severity: "high",
        message: "pod shop/web-7d9 runs nmap (pid 4242) …",
        process: "nmap",
        pid: 4242,
        cmdline: "nmap -sS 10.0.0.0/24",
        count: 1,
        key: "NetworkDiscoveryTool/*/*/nmap",
      },
    ],
  ])("%s", (_, finding, expected) => {
    const record = findingRecord(finding);
    expect(record).toEqual(expected);
    // Absent, not undefined or null: the JSON line has exactly these keys.
    expect(Object.keys(record).sort()).toEqual(Object.keys(expected).sort());
  });

  it("adds the pod and workload the caller knows, and the suppression", () => {
    const finding: Finding = {
      ...base,
      rule: "EstablishedThreshold",
      severity: "low",
      message: "…",
      count: 2001,
      limit: 2000,
    };
    const context = {
      pod: { namespace: "shop", name: "web-7d9", uid: "u-1" },
      workload: { kind: "Deployment", name: "web" },
    };
    expect(findingRecord(finding, context)).toMatchObject(context);
    expect(suppressedRecord({ finding, reason: "load test", expires: "2026-12-01T00:00:00Z" })).toMatchObject(
      {
        rule: "EstablishedThreshold",
        suppressed: { reason: "load test", expires: "2026-12-01T00:00:00Z" },
      },
    );
    expect(suppressedRecord({ finding, reason: "known" }).suppressed).toEqual({ reason: "known" });
  });

  it("maps every finding the matcher raises, carrying its message and the values in it", () => {
    const b = compileBaseline(
      NetworkBaseline.parse({
        apiVersion: "socklens.io/v1alpha1",
        kind: "NetworkBaseline",
        metadata: { name: "web", namespace: "shop" },
        spec: {
          podSelector: {},
          listeners: [{ port: 8080 }],
          egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/8" } }], ports: [{ port: 5432 }] }],
          ingress: [{ from: [{ podSelector: {} }] }],
          thresholds: { tcpStates: { CLOSE_WAIT: 1 } },
        },
      }),
    );
    const sock = (p: Parameters<typeof makeSocket>[0]) =>
      makeSocket({ localAddress: "10.244.1.5", netns: NS, pid: 812, process: "web", ...p });
    const result = evaluate(
      b,
      {
        scope: "netns 4026532100",
        sockets: [
          sock({ localAddress: "0.0.0.0", localPort: 4444, state: "LISTEN" }),
          sock({ localPort: 8080, localAddress: "0.0.0.0", state: "LISTEN" }),
          sock({ localPort: 41000, remoteAddress: "192.0.2.9", remotePort: 9999, state: "ESTABLISHED" }),
          sock({ localPort: 8080, remoteAddress: "10.1.2.3", remotePort: 50000, state: "CLOSE_WAIT" }),
          sock({ localPort: 8080, remoteAddress: "10.1.2.3", remotePort: 50001, state: "CLOSE_WAIT" }),
        ],
      },
      offlineResolver([]),
    );
    const rules = result.findings.map((f) => f.rule).sort();
    expect(rules).toEqual([
      "CannotEvaluateOffline",
      "TcpStateThreshold",
      "UnexpectedEgress",
      "UnexpectedListener",
    ]);
    for (const f of result.findings) {
      const r = JSON.parse(JSON.stringify(findingRecord(f))) as Record<string, unknown>;
      expect(Object.values(r)).not.toContain(null);
      expect(r).toMatchObject({ rule: f.rule, severity: f.severity, message: f.message, count: f.count });
      if (typeof r.peerAddress === "string") expect(f.message).toContain(r.peerAddress);
      if (r.rule === "UnexpectedListener")
        expect(r).toMatchObject({ localPort: 4444, process: "web", pid: 812 });
      if (r.rule === "UnexpectedEgress")
        expect(r).toMatchObject({ direction: "egress", peerAddress: "192.0.2.9", peerPort: 9999 });
    }
  });
});
