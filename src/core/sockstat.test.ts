import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseSockstat, tableMayHaveSockets } from "./sockstat.js";

const v4only = parseSockstat(`sockets: used 816
TCP: inuse 812 orphan 0 tw 0 alloc 40601 mem 495
UDP: inuse 1 mem 0
UDPLITE: inuse 0
RAW: inuse 0
FRAG: inuse 0 memory 0
TCP6: inuse 0
UDP6: inuse 0
UDPLITE6: inuse 0
RAW6: inuse 0
FRAG6: inuse 0 memory 0
`);

describe("tableMayHaveSockets", () => {
  it.each([
    ["tcp", true],
    ["tcp6", false],
    ["udp", true],
    ["udp6", false],
    ["raw", false],
    ["raw6", false],
  ] as const)("v4-only namespace: %s → %s", (table, want) => {
    expect(tableMayHaveSockets(table, v4only)).toBe(want);
  });

  it("TIME_WAIT sockets are counted for both families, so tw > 0 reads both tables", () => {
    const tw = parseSockstat("TCP: inuse 0 orphan 0 tw 3 alloc 0 mem 0\nTCP6: inuse 0\n");
    expect(tableMayHaveSockets("tcp", tw)).toBe(true);
    expect(tableMayHaveSockets("tcp6", tw)).toBe(true);
  });

  it("reads the table when counters are missing or unreadable", () => {
    expect(tableMayHaveSockets("tcp6", undefined)).toBe(true);
    expect(tableMayHaveSockets("tcp6", parseSockstat("TCP: inuse 0 tw 0\n"))).toBe(true);
    expect(tableMayHaveSockets("udp", parseSockstat("garbage"))).toBe(true);
  });

  it("a line named __proto__ is no group and leaves the result's prototype alone", () => {
    const c = parseSockstat("__proto__: TCP 5\nTCP: inuse 0 __proto__ 1 tw 0\n");
    expect(Object.getPrototypeOf(c)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(c.TCP)).toBe(Object.prototype);
    expect(c).toEqual({ TCP: { inuse: 0, tw: 0 } });
    expect(tableMayHaveSockets("tcp", c)).toBe(false);
  });

  it("never throws (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => void tableMayHaveSockets("tcp", parseSockstat(s))),
    );
  });
});
