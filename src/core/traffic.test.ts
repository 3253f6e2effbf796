import { describe, expect, it } from "vitest";
import { makeSocket } from "../../test/support/socket.js";
import { ListenerIndex } from "./direction.js";
import type { Socket } from "./socket.js";
import { baselinePeers, classifyTraffic, isListening, isLoopback } from "./traffic.js";

const sock = makeSocket;

describe("isListening", () => {
  it.each<[string, Partial<Socket>, boolean]>([
    ["TCP LISTEN", { protocol: "tcp", state: "LISTEN", localPort: 80 }, true],
    ["TCP ESTABLISHED", { protocol: "tcp", state: "ESTABLISHED", localPort: 80 }, false],
    ["UDP bound, unconnected", { protocol: "udp", state: "UNCONN", localPort: 53 }, true],
    ["UDP on port 0 (not bound)", { protocol: "udp", state: "UNCONN", localPort: 0 }, false],
    ["UDP connected", { protocol: "udp", state: "ESTABLISHED", localPort: 5353 }, false],
    ["raw, unconnected", { protocol: "raw", state: "UNCONN", localPort: 1 }, true],
    ["unix stream LISTEN", { protocol: "unix", family: "unix", state: "LISTEN" }, true],
    ["unix dgram UNCONN", { protocol: "unix", family: "unix", state: "UNCONN" }, false],
  ])("%s → %s", (_, p, expected) => {
    expect(isListening(sock(p))).toBe(expected);
  });
});

describe("isLoopback", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.255.0.9", true],
    ["::1", true],
    ["10.0.0.1", false],
    ["::", false],
    ["fd00::1", false],
  ])("%s → %s", (a, expected) => {
    expect(isLoopback(a)).toBe(expected);
  });
});

describe("classifyTraffic", () => {
  const web = sock({ localPort: 8080, process: "web", pid: 10 });
  const webTwin = sock({ localPort: 8080, process: "web", pid: 11, inode: 2 });
  const accepted = (port: number, inode: number) =>
    sock({
      localAddress: "10.0.0.5",
      localPort: 8080,
      remoteAddress: "10.0.0.9",
      remotePort: port,
      state: "ESTABLISHED",
      inode,
    });
  const toDb = sock({
    localAddress: "10.0.0.5",
    localPort: 40000,
    remoteAddress: "10.0.0.7",
    remotePort: 5432,
    state: "TIME_WAIT",
    inode: 9,
  });
  const loop = sock({
    localAddress: "127.0.0.1",
    localPort: 41000,
    remoteAddress: "127.0.0.1",
    remotePort: 9000,
    state: "ESTABLISHED",
    inode: 10,
  });
  const dns = sock({ protocol: "udp", localPort: 53, state: "UNCONN", inode: 11 });
  const unix = sock({
    protocol: "unix",
    family: "unix",
    state: "LISTEN",
    localAddress: "/run/x.sock",
    inode: 12,
  });

  const t = classifyTraffic([web, webTwin, accepted(51000, 3), accepted(51001, 4), toDb, loop, dns, unix]);

  it("groups listeners by protocol, address, port and process", () => {
    expect(t.listeners.map((l) => [l.protocol, l.address, l.port, l.process, l.count])).toEqual([
      ["TCP", "0.0.0.0", 8080, "web", 2],
      ["UDP", "0.0.0.0", 53, undefined, 1],
    ]);
    expect(t.listening).toBe(3);
  });

  it("groups peers by direction, protocol, address and service port; loopback is flagged", () => {
    expect(t.peers.map((p) => [p.direction, p.protocol, p.address, p.port, p.count, p.loopback])).toEqual([
      ["ingress", "tcp", "10.0.0.9", 8080, 2, false],
      ["egress", "tcp", "10.0.0.7", 5432, 1, false],
      ["egress", "tcp", "127.0.0.1", 9000, 1, true],
    ]);
    expect(baselinePeers(t).map((p) => [p.address, p.transport])).toEqual([
      ["10.0.0.9", "TCP"],
      ["10.0.0.7", "TCP"],
    ]);
  });

  it("counts TCP states only", () => {
    expect(t.tcpStates).toEqual({ LISTEN: 2, ESTABLISHED: 3, TIME_WAIT: 1 });
  });

  it("judges direction with the index it is given (a scope that is a slice of a snapshot)", () => {
    const alone = classifyTraffic([accepted(51000, 3)]);
    expect(alone.peers[0]?.direction).toBe("egress");
    const slice = classifyTraffic([accepted(51000, 3)], new ListenerIndex([web]));
    expect(slice.peers[0]?.direction).toBe("ingress");
  });
});
