import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseSockstat, tableGate, tableMayHaveSockets } from "./sockstat.js";

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

describe("tableGate", () => {
  const snmp = (active: number, passive = 0, fails = 0, resets = 0, estab = 0) => ({
    Tcp: {
      ActiveOpens: active,
      PassiveOpens: passive,
      AttemptFails: fails,
      EstabResets: resets,
      CurrEstab: estab,
    },
  });
  const sockstat = (text: string) => parseSockstat(text);
  const base = sockstat(
    "sockets: used 9\nTCP: inuse 4 orphan 0 tw 2 alloc 40601 mem 495\nUDP: inuse 1 mem 0\nRAW: inuse 0\nTCP6: inuse 1\nUDP6: inuse 0\nRAW6: inuse 0\n",
  );

  it("ignores the host-wide counters (orphan, alloc, mem): they move with any traffic on the host", () => {
    const elsewhere = sockstat(
      "sockets: used 9\nTCP: inuse 4 orphan 7 tw 2 alloc 99999 mem 1\nUDP: inuse 1 mem 88\nRAW: inuse 0\nTCP6: inuse 1\nUDP6: inuse 0\nRAW6: inuse 0\n",
    );
    for (const t of ["tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix"] as const)
      expect(tableGate(t, elsewhere, snmp(5))).toBe(tableGate(t, base, snmp(5)));
  });

  it.each([
    ["a socket hashed or unhashed (inuse)", "TCP: inuse 5 orphan 0 tw 2", snmp(5)],
    ["an IPv6 socket", "TCP6: inuse 2", snmp(5)],
    ["a TIME_WAIT added or expired", "TCP: inuse 4 orphan 0 tw 3", snmp(5)],
    ["a connection opened (while another closed)", "", snmp(6)],
    ["a connection accepted", "", snmp(5, 1)],
    ["a failed connect", "", snmp(5, 0, 1)],
    ["a reset", "", snmp(5, 0, 0, 1)],
    ["an active close (leaves ESTABLISHED)", "", snmp(5, 0, 0, 0, 1)],
  ])("the tcp gate moves on %s", (_, line, counters) => {
    const changed = { ...base, ...sockstat(line) };
    expect(tableGate("tcp", changed, counters)).not.toBe(tableGate("tcp", base, snmp(5)));
    expect(tableGate("tcp6", changed, counters)).not.toBe(tableGate("tcp6", base, snmp(5)));
  });

  it("udp, raw and unix tables key on their own counts only", () => {
    const udp = { ...base, ...sockstat("UDP: inuse 2 mem 0") };
    expect(tableGate("udp", udp, snmp(5))).not.toBe(tableGate("udp", base, snmp(5)));
    expect(tableGate("tcp", udp, snmp(5))).toBe(tableGate("tcp", base, snmp(5)));
    const more = { ...base, ...sockstat("sockets: used 10") };
    expect(tableGate("unix", more, snmp(5))).not.toBe(tableGate("unix", base, snmp(5)));
    expect(tableGate("raw", more, snmp(5))).toBe(tableGate("raw", base, snmp(5)));
    // The unix gate needs no snmp.
    expect(tableGate("unix", base, undefined)).toBe("9");
  });

  it("cannot gate (undefined: read the table) without the counters it needs", () => {
    expect(tableGate("tcp", undefined, snmp(1))).toBeUndefined();
    expect(tableGate("tcp", base, undefined)).toBeUndefined();
    expect(tableGate("tcp", base, { Tcp: { ActiveOpens: 1 } })).toBeUndefined();
    expect(tableGate("udp", sockstat("garbage"), snmp(1))).toBeUndefined();
    // A group named like an Object.prototype member is not a counter.
    expect(tableGate("unix", sockstat("constructor: used 3\n"), undefined)).toBeUndefined();
  });

  it("a kernel without IPv6 (no sockstat6) gates on the IPv4 counts", () => {
    const v4 = sockstat("sockets: used 1\nTCP: inuse 1 orphan 0 tw 0\nUDP: inuse 0\nRAW: inuse 0\n");
    expect(tableGate("tcp", v4, snmp(0))).toBe("1,0,0,0,0,0,0,0");
    expect(tableGate("udp", v4, snmp(0))).toBe("0,0");
  });

  it("never throws (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 300 }), (a, b) => {
        for (const t of ["tcp", "udp6", "raw", "unix"] as const)
          tableGate(t, parseSockstat(a), parseSockstat(b));
      }),
    );
  });
});
