import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseInetTable, parseUnixTable } from "./procnet.js";

const TCP_HEADER =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     ";
const TCP6_HEADER =
  "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
const UDP_HEADER =
  "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            ";

describe("parseInetTable: good lines", () => {
  it.each([
    {
      name: "IPv4 listener with trailing spaces",
      table: "tcp" as const,
      line: "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 571 1 0000000048cadab2 100 0 0 10 0                       ",
      want: {
        localAddress: "0.0.0.0",
        localPort: 8080,
        remoteAddress: "0.0.0.0",
        remotePort: 0,
        state: "LISTEN",
        uid: 1000,
        inode: 571,
      },
    },
    {
      name: "IPv4 established with queues and a keepalive timer",
      table: "tcp" as const,
      line: "   1: 0100007F:9C40 0100007F:1F90 01 0000000A:00000003 02:000005DC 00000000     0        0 98765 1 0000000000000000 20 4 30 10 -1",
      want: {
        state: "ESTABLISHED",
        localPort: 40000,
        remotePort: 8080,
        txQueue: 10,
        rxQueue: 3,
        timer: { kind: "keepalive", expiresInMs: 15000 },
      },
    },
    {
      name: "TIME_WAIT has inode 0 and the timewait timer",
      table: "tcp" as const,
      line: "   2: 020200C0:A0E6 507100CB:01BB 06 00000000:00000000 03:00000517 00000000     0        0 0 3 0000000000000000",
      want: {
        state: "TIME_WAIT",
        inode: 0,
        localAddress: "192.0.2.2",
        remoteAddress: "203.0.113.80",
        timer: { kind: "timewait", expiresInMs: 13030 },
      },
    },
    {
      name: "maximum inode value (2^32-1) and maximum port",
      table: "tcp" as const,
      line: "   3: 0100007F:FFFF 00000000:0000 0A 00000000:00000000 00:00000000 00000000 4294967294        0 4294967295 1 0000000000000000 100 0 0 10 0",
      want: { localPort: 65535, inode: 4294967295, uid: 4294967294 },
    },
    {
      name: "IPv6 all zeros listener",
      table: "tcp6" as const,
      line: "   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 17046 1 0000000000000000 100 0 0 10 0",
      want: { family: "inet6", localAddress: "::", localPort: 22, state: "LISTEN" },
    },
    {
      name: "IPv4-mapped IPv6 peer folds to IPv4",
      table: "tcp6" as const,
      line: "   1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 17050 1 0000000000000000 20 4 30 10 -1",
      want: { family: "inet6", localAddress: "127.0.0.1", remoteAddress: "127.0.0.1", remotePort: 54321 },
    },
    {
      name: "link-local fe80:: with a port",
      table: "tcp6" as const,
      line: "   2: 000080FE00000000FF005002AB0000FE:0050 000080FE000000000000000001000000:C000 01 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 20 4 30 10 -1",
      want: { localAddress: "fe80::250:ff:fe00:ab", remoteAddress: "fe80::1" },
    },
    {
      name: "UDP unconnected",
      table: "udp" as const,
      line: "  412: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 15312 2 0000000000000000 0",
      want: { protocol: "udp", state: "UNCONN", localPort: 68 },
    },
    {
      name: "UDP connected",
      table: "udp6" as const,
      line: "  100: 00000000000000000000000001000000:C350 00000000000000000000000001000000:0035 01 00000000:00000000 00:00000000 00000000     0        0 15313 2 0000000000000000 0",
      want: { protocol: "udp", family: "inet6", state: "ESTABLISHED", localAddress: "::1", remotePort: 53 },
    },
    {
      name: "raw socket: the port column is the IP protocol",
      table: "raw" as const,
      line: "    1: 00000000:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2222 2 0000000000000000 0",
      want: { protocol: "raw", localPort: 1, state: "UNCONN" },
    },
  ])("$name", ({ table, line, want }) => {
    const header = table.endsWith("6") ? TCP6_HEADER : table === "tcp" ? TCP_HEADER : UDP_HEADER;
    const r = parseInetTable(`${header}\n${line}\n`, table);
    expect(r.malformed).toEqual([]);
    expect(r.records).toHaveLength(1);
    expect(r.records[0]).toMatchObject(want);
  });
});

describe("parseInetTable: bad lines are counted, not thrown", () => {
  it.each([
    ["truncated line", "   0: 0100007F:1F90 00000000:0000 0A 00000000:0000"],
    [
      "address without port",
      "   0: 0100007F 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1",
    ],
    [
      "non-hex address",
      "   0: 0100007Z:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1",
    ],
    [
      "IPv6 address in the IPv4 table",
      "   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1",
    ],
    [
      "inode not a number",
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 abc 1",
    ],
    [
      "port too long",
      "   0: 0100007F:1F9000 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1",
    ],
    // Found by test/unit/fuzz-proc.test.ts: numbers no kernel prints, which became imprecise
    // floats that the snapshot format rejects (test/fixtures/fuzz-crashers/*-digits.json).
    [
      "queues longer than %08X",
      "   0: 0100007F:1F90 00000000:0000 0A 18446744073709551616:00000000 00:00000000 00000000 0 0 1 1",
    ],
    [
      "uid beyond 2^53",
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 9007199254740993 0 1 1",
    ],
    [
      "inode of 20 digits",
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 99999999999999999999 1",
    ],
  ])("%s", (_name, line) => {
    const r = parseInetTable(
      `${TCP_HEADER}\n${line}\n   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 7 1\n`,
      "tcp",
      "/proc/1/net/tcp",
    );
    expect(r.records.map((s) => s.inode)).toEqual([7]);
    expect(r.malformed).toHaveLength(1);
    expect(r.malformed[0]).toMatchObject({ file: "/proc/1/net/tcp", line: 2, text: line });
    expect(r.malformed[0]?.reason).toMatch(/\w/);
  });

  it("a header-only file has no sockets and no errors", () => {
    expect(parseInetTable(`${TCP_HEADER}\n`, "tcp")).toEqual({ records: [], malformed: [] });
    expect(parseInetTable("", "tcp")).toEqual({ records: [], malformed: [] });
  });

  it("retransmits and timers longer than the kernel prints them are left out, the socket kept", () => {
    const r = parseInetTable(
      `${TCP_HEADER}\n   0: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 01:${"F".repeat(300)} ${"F".repeat(20)} 0 0 9 1\n`,
      "tcp",
    );
    expect(r.records[0]).toMatchObject({ inode: 9, state: "ESTABLISHED" });
    expect(r.records[0]?.timer).toBeUndefined();
    expect(r.records[0]?.retransmits).toBeUndefined();
  });

  it("an unknown state keeps the socket and names the code", () => {
    const r = parseInetTable(
      `${TCP_HEADER}\n   0: 0100007F:1F90 00000000:0000 1F 00000000:00000000 00:00000000 00000000 0 0 9 1\n`,
      "tcp",
    );
    expect(r.records[0]?.state).toBe("UNKNOWN_1F");
  });
});

describe("parseUnixTable", () => {
  const header = "Num       RefCount Protocol Flags    Type St Inode Path";
  it.each([
    [
      "listening stream with a path",
      "0000000057e3bb57: 00000002 00000000 00010000 0001 01 20345 /run/containerd/containerd.sock",
      { state: "LISTEN", unixType: "stream", path: "/run/containerd/containerd.sock", inode: 20345 },
    ],
    [
      "connected stream without a path",
      "00000000b6c3be8e: 00000003 00000000 00000000 0001 03  1123",
      { state: "ESTABLISHED", inode: 1123 },
    ],
    [
      "abstract datagram",
      "0000000000000000: 00000002 00000000 00000000 0002 01 17710 @/org/freedesktop/systemd1/notify",
      { state: "UNCONN", unixType: "dgram", path: "@/org/freedesktop/systemd1/notify" },
    ],
    [
      "path with spaces",
      "0000000000000000: 00000002 00000000 00010000 0005 01 42 /tmp/my dir/sock et",
      { unixType: "seqpacket", path: "/tmp/my dir/sock et" },
    ],
  ])("%s", (_n, line, want) => {
    const r = parseUnixTable(`${header}\n${line}\n`);
    expect(r.malformed).toEqual([]);
    expect(r.records[0]).toMatchObject({ protocol: "unix", family: "unix", ...want });
    if (!("path" in want)) expect(r.records[0]?.path).toBeUndefined();
  });

  it("counts a malformed line", () => {
    const r = parseUnixTable(`${header}\n0000: 0002 garbage\n`, "/proc/9/net/unix");
    expect(r.records).toEqual([]);
    expect(r.malformed[0]).toMatchObject({ file: "/proc/9/net/unix", line: 2 });
  });
});

describe("parsers never throw (property)", () => {
  const tables = ["tcp", "tcp6", "udp", "udp6", "raw", "raw6"] as const;
  const hexish = fc.string({ unit: fc.constantFrom(..."0123456789ABCDEFabcdef: \t\n-xZ"), maxLength: 300 });
  it("on arbitrary text", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 500 }), hexish),
        fc.constantFrom(...tables),
        (text, table) => {
          const r = parseInetTable(text, table);
          const u = parseUnixTable(text);
          for (const s of [...r.records, ...u.records]) {
            expect(Number.isFinite(s.localPort)).toBe(true);
            expect(Number.isFinite(s.inode)).toBe(true);
          }
        },
      ),
    );
  });
  it("on real lines with one field corrupted", () => {
    const good =
      "   1: 0100007F:9C40 0100007F:1F90 01 0000000A:00000003 02:000005DC 00000000     0        0 98765 1 0000000000000000 20 4 30 10 -1";
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.string({ maxLength: 3 }), (pos, junk) => {
        const line = good.slice(0, pos) + junk + good.slice(pos + 1);
        const r = parseInetTable(`${TCP_HEADER}\n${line}\n`, "tcp");
        expect(r.records.length + r.malformed.length).toBe(1);
      }),
    );
  });
});
