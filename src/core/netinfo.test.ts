import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keyCounters, parseCounterPairs, parseIPv6Routes, parseNetDev, parseRoutes } from "./netinfo.js";

describe("parseNetDev", () => {
  it("reads counters and skips a malformed line", () => {
    const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
  eth0: 9000 70 1 2 0 0 0 0 5000 40 3 4 0 0 0 0
  bad: 1 2 3
`;
    const r = parseNetDev(text, "/proc/1/net/dev");
    expect(r.records).toEqual([
      {
        name: "lo",
        rxBytes: 3193,
        rxPackets: 29,
        rxErrors: 0,
        rxDropped: 0,
        txBytes: 3193,
        txPackets: 29,
        txErrors: 0,
        txDropped: 0,
      },
      {
        name: "eth0",
        rxBytes: 9000,
        rxPackets: 70,
        rxErrors: 1,
        rxDropped: 2,
        txBytes: 5000,
        txPackets: 40,
        txErrors: 3,
        txDropped: 4,
      },
    ]);
    expect(r.malformed).toMatchObject([{ file: "/proc/1/net/dev", line: 5 }]);
  });
});

describe("routes", () => {
  it("IPv4 routes are little-endian hex", () => {
    const text = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
`;
    expect(parseRoutes(text).records).toEqual([
      {
        family: "inet",
        destination: "0.0.0.0",
        prefixLength: 0,
        gateway: "192.0.2.1",
        interface: "eth0",
        metric: 100,
        flags: ["U", "G"],
      },
      {
        family: "inet",
        destination: "192.0.2.0",
        prefixLength: 24,
        gateway: "0.0.0.0",
        interface: "eth0",
        metric: 0,
        flags: ["U"],
      },
    ]);
  });
  it("IPv6 routes are network-order hex", () => {
    const text = `fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0
`;
    expect(parseIPv6Routes(text).records).toEqual([
      {
        family: "inet6",
        destination: "fd00::",
        prefixLength: 64,
        gateway: "::",
        interface: "eth0",
        metric: 256,
        flags: ["U"],
      },
      {
        family: "inet6",
        destination: "::",
        prefixLength: 0,
        gateway: "fd00::1",
        interface: "eth0",
        metric: 1024,
        flags: ["U", "G"],
      },
    ]);
  });
});

describe("protocol counters", () => {
  it("pairs header and value lines and picks the key counters", () => {
    const snmp = `Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
Tcp: 1 200 120000 -1 50 20 3 4 5 1000 900 17 0 8 0
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 10 0 2 10 1 0 0 0 0
`;
    const netstat = `TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPTimeouts
TcpExt: 0 6 7 9
`;
    const c = { ...parseCounterPairs(snmp).records[0], ...parseCounterPairs(netstat).records[0] };
    expect(keyCounters(c)).toEqual({
      tcpRetransSegs: 17,
      tcpOutRsts: 8,
      tcpEstabResets: 4,
      tcpAttemptFails: 3,
      tcpCurrEstab: 5,
      tcpListenOverflows: 6,
      tcpListenDrops: 7,
      tcpTimeouts: 9,
      udpInErrors: 2,
      udpRcvbufErrors: 1,
    });
  });
  it("reports a group whose value count does not match", () => {
    const r = parseCounterPairs("Tcp: A B C\nTcp: 1 2\n", "/proc/net/snmp");
    expect(r.malformed).toMatchObject([{ file: "/proc/net/snmp", line: 2 }]);
  });
  // Found by test/unit/fuzz-proc.test.ts (test/fixtures/fuzz-crashers/*-group-*.json): a group
  // named "constructor" wrote its counters onto Object, one named "__proto__" onto Object.prototype.
  it("group and counter names never reach Object or Object.prototype", () => {
    const objectKeys = Object.keys;
    const r = parseCounterPairs(
      "constructor: keys InMsgs\nconstructor: 1 2\n__proto__: polluted\n__proto__: 7\nTcp: __proto__ toString A\nTcp: 1 2 3\n",
      "/proc/net/snmp",
    );
    expect(Object.keys).toBe(objectKeys);
    expect(Object.hasOwn(Object, "InMsgs")).toBe(false);
    expect(Object.hasOwn(Object.prototype, "polluted")).toBe(false);
    const counters = r.records[0] as Record<string, Record<string, number>>;
    expect(Object.getPrototypeOf(counters.Tcp)).toBe(Object.prototype);
    expect(counters.Tcp).toEqual({ toString: 2, A: 3 });
    expect(Object.hasOwn(counters, "constructor") && counters.constructor).toEqual({ keys: 1, InMsgs: 2 });
    expect(r.malformed).toMatchObject([{ line: 3, reason: "group name __proto__" }]);
    expect(keyCounters(counters)).toEqual({});
  });

  it("never throw (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        parseNetDev(s);
        parseRoutes(s);
        parseIPv6Routes(s);
        parseCounterPairs(s);
      }),
    );
  });
});
