import { describe, expect, it } from "vitest";
import { matchesFilter, normalizeStateName } from "./filter.js";
import type { Socket } from "./socket.js";

const base: Socket = {
  protocol: "tcp",
  family: "inet",
  localAddress: "127.0.0.1",
  localPort: 8080,
  remoteAddress: "127.0.0.1",
  remotePort: 40000,
  state: "ESTABLISHED",
  inode: 5,
  netns: 100,
  pid: 42,
  processes: [
    { pid: 42, process: "web" },
    { pid: 43, process: "web" },
  ],
  container: { id: "abcdef0123".padEnd(64, "0"), runtime: "containerd" },
  pod: { uid: "0f3c8d2e-6a1b-4c5d-9e8f-7a6b5c4d3e2f" },
};

describe("matchesFilter", () => {
  it.each([
    [{}, true],
    [{ listening: true }, false],
    [{ states: new Set(["ESTABLISHED"]) }, true],
    [{ states: new Set(["CLOSE_WAIT"]) }, false],
    [{ protocols: new Set(["udp" as const]) }, false],
    [{ pids: new Set([43]) }, true],
    [{ pids: new Set([44]) }, false],
    [{ netns: new Set([100]) }, true],
    [{ netns: new Set([101]) }, false],
    [{ container: "abcdef" }, true],
    [{ container: "bcdef0" }, false],
    [{ podUid: "0f3c8d2e-6a1b-4c5d-9e8f-7a6b5c4d3e2f" }, true],
    [{ ports: new Set([40000]) }, true],
    [{ ports: new Set([22]) }, false],
  ])("%o → %s", (filter, expected) => {
    expect(matchesFilter(base, filter)).toBe(expected);
  });

  it("--listening includes unconnected UDP but not unconnected unix sockets", () => {
    expect(matchesFilter({ ...base, protocol: "udp", state: "UNCONN" }, { listening: true })).toBe(true);
    expect(matchesFilter({ ...base, protocol: "unix", state: "UNCONN" }, { listening: true })).toBe(false);
  });

  it.each([
    ["close-wait", "CLOSE_WAIT"],
    ["estab", "ESTABLISHED"],
    ["Listen", "LISTEN"],
    ["time_wait", "TIME_WAIT"],
  ])("state %s → %s", (input, want) => expect(normalizeStateName(input)).toBe(want));
});
