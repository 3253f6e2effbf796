import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { listedInodes, parseUnixTable, settleUnixCandidates } from "./unixtable.js";

const HEADER = "Num       RefCount Protocol Flags    Type St Inode Path";
// As the kernel prints them (kptr_restrict=0: hashed pointers).
const PATHLESS = "00000000caa5d4ef: 00000003 00000000 00000000 0001 03 37335";
const FORGER = "000000006965b8a0: 00000002 00000000 00010000 0001 01 37539 @x";
const LONG_NAME = "00000000f231cc7d: 00000002 00000000 00010000 0001 01 37334 /run/systemd/journal/stdout";
const SHORT_INODE = "0000000054080a5d: 00000003 00000000 00000000 0001 03   511";
const forged = (num: string, inode: string, path = "/run/FORGED.sock") =>
  `${num}: 00000002 00000000 00010000 0001 01 ${inode} ${path}`;

const table = (...lines: string[]) => `${HEADER}\n${lines.join("\n")}\n`;

describe("parseUnixTable: a name cannot forge a record", () => {
  it.each([
    [
      "a zero pointer where this reader sees hashed ones",
      table(SHORT_INODE, FORGER, forged("0000000000000000", "31337")),
    ],
    [
      "the inode of a socket the table already lists",
      table(PATHLESS, FORGER, forged("00000000deadbeef", "37335")),
    ],
    [
      "a nonzero pointer the table already lists",
      table(PATHLESS, FORGER, forged("00000000caa5d4ef", "31337")),
    ],
    [
      "an inode not right-aligned in five columns",
      table(PATHLESS, FORGER, forged("00000000deadbeef", "4242")),
    ],
    ["a 32-bit pointer in a 64-bit table", table(PATHLESS, FORGER, forged("deadbeef", "31337"))],
    [
      "a Protocol the kernel never prints",
      table(PATHLESS, FORGER, forged("00000000deadbeef", "31337").replace(" 00000000 ", " 00000001 ")),
    ],
    ["text that is no record at all", table(PATHLESS, FORGER, "and more of the name")],
  ])("%s: the line is the rest of the name before it", (_name, text) => {
    const r = parseUnixTable(text);
    expect(r.malformed).toEqual([]);
    expect(r.candidates).toEqual([]);
    expect(r.continuations).toBe(1);
    expect(r.records.map((s) => s.inode)).not.toContain(31337);
    const x = r.records.find((s) => s.inode === 37539);
    expect(x?.path).toBe(`@x\n${text.split("\n")[3]}`);
    expect(x?.ambiguous).toBeUndefined();
  });

  it("a line that fits the kernel's format exactly, where a name could have put it, is kept and marked ambiguous with the name before it", () => {
    const r = parseUnixTable(table(PATHLESS, FORGER, forged("00000000deadbeef", "31337")));
    expect(r.continuations).toBe(0);
    expect(r.records.map((s) => [s.inode, s.path, s.ambiguous])).toEqual([
      [37335, undefined, undefined],
      [37539, "@x", true],
      [31337, "/run/FORGED.sock", true],
    ]);
    expect(r.candidates.map((c) => [c.previous.inode, c.record.inode])).toEqual([[37539, 31337]]);
  });

  it("under kptr_restrict (every pointer zero) a zero pointer proves nothing: ambiguous", () => {
    const zero = (line: string) => `0000000000000000${line.slice(16)}`;
    const r = parseUnixTable(table(zero(PATHLESS), zero(FORGER), forged("0000000000000000", "31337")));
    expect(r.records.find((s) => s.inode === 31337)?.ambiguous).toBe(true);
  });

  it("a record after a name too long to hold it is certain: never ambiguous", () => {
    const r = parseUnixTable(
      table(LONG_NAME, forged("00000000deadbeef", "31337", "/run/systemd/journal/stdout")),
    );
    expect(r.candidates).toEqual([]);
    expect(r.records.map((s) => s.ambiguous)).toEqual([undefined, undefined]);
  });

  it("a real record after a short name is as uncertain as a forged one: the text alone cannot tell", () => {
    const r = parseUnixTable(table(PATHLESS, FORGER, SHORT_INODE));
    expect(r.candidates.map((c) => c.record.inode)).toEqual([511]);
  });

  it("a record after a socket without a name is certain", () => {
    const r = parseUnixTable(table(PATHLESS, forged("0000000000000000", "31337")));
    expect(r.records.map((s) => [s.inode, s.ambiguous])).toEqual([
      [37335, undefined],
      [31337, undefined],
    ]);
  });

  it("a name of several lines comes back whole, empty lines included", () => {
    const r = parseUnixTable(
      table(PATHLESS, FORGER, "", "b c", PATHLESS.replace("caa5d4ef", "caa5d4f0").replace("37335", "37336")),
    );
    expect(r.records.find((s) => s.inode === 37539)?.path).toBe("@x\n\nb c");
    expect(r.records.map((s) => s.inode)).toEqual([37335, 37539, 37336]);
  });

  it("reads names as UTF-8 from the bytes (latin1 text)", () => {
    const bytes = Buffer.from(`${PATHLESS.slice(0, -5)}37335 @café ☃`, "utf8").toString("latin1");
    expect(parseUnixTable(table(bytes)).records[0]?.path).toBe("@café ☃");
  });

  it("keeps a name's spaces as printed", () => {
    const r = parseUnixTable(table(`${SHORT_INODE} /tmp/my dir/ sock `));
    expect(r.records[0]?.path).toBe("/tmp/my dir/ sock ");
  });

  it("an inode no JS number holds exactly is no record (found by the fuzz test)", () => {
    const r = parseUnixTable(
      table(PATHLESS, PATHLESS.replace("37335", "99999999999999999999")),
      "/proc/9/net/unix",
    );
    expect(r.records.map((s) => s.inode)).toEqual([37335]);
    expect(r.malformed).toMatchObject([{ file: "/proc/9/net/unix", line: 3 }]);
  });

  it("a name longer than the kernel's 108 bytes is no record (found by the fuzz test)", () => {
    const r = parseUnixTable(table(PATHLESS, `${LONG_NAME}${"/x".repeat(1 << 20)}`), "/proc/9/net/unix");
    expect(r.records.map((s) => s.inode)).toEqual([37335]);
    expect(r.malformed).toMatchObject([{ file: "/proc/9/net/unix", line: 3 }]);
    const exact = `/${"y".repeat(107)}`;
    expect(
      parseUnixTable(table(PATHLESS, `${LONG_NAME.replace(/ \/run.*/, "")} ${exact}`)).records[1]?.path,
    ).toBe(exact);
  });

  it("a garbage line where no name can reach is malformed, as before", () => {
    const r = parseUnixTable(table(PATHLESS, "0000: 0002 garbage"), "/proc/9/net/unix");
    expect(r.malformed).toMatchObject([{ file: "/proc/9/net/unix", line: 3 }]);
  });

  it("never makes an unmarked record out of a name (property)", () => {
    // Any record-shaped text a process can put after a newline in its name.
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
    const forgedLine = fc
      .tuple(
        fc.oneof(fc.constant("0000000000000000"), hex(16), hex(8)),
        fc.stringMatching(/^[0-9A-F]{8}$/),
        fc.constantFrom("00000000", "00010000"),
        fc.constantFrom("0001", "0002", "0005"),
        fc.constantFrom("01", "02", "03", "04"),
        fc.integer({ min: 1, max: 99_999_999 }),
        fc.constantFrom("", " /run/FORGED.sock", " @f"),
      )
      .map(([num, ref, flags, type, st, inode, path]) => ({
        inode: 100_000_000 + inode,
        line: `${num}: ${ref} 00000000 ${flags} ${type} ${st} ${String(100_000_000 + inode).padStart(5)}${path}`,
      }));
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(PATHLESS, SHORT_INODE, LONG_NAME), { maxLength: 4 }),
        fc.stringMatching(/^@[a-z]{0,20}$/),
        forgedLine,
        (before, name, f) => {
          const real = `00000000a1b2c3d4: 00000002 00000000 00010000 0001 01 55555 ${name}\n${f.line}`;
          if (name.length + 1 + f.line.length > 108) return true; // the kernel could not print it
          const r = parseUnixTable(table(...before, real, SHORT_INODE));
          const fake = r.records.find((s) => s.inode === f.inode);
          return fake === undefined || fake.ambiguous === true;
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("settleUnixCandidates", () => {
  const parse = () => parseUnixTable(table(PATHLESS, FORGER, forged("00000000deadbeef", "31337")));
  const none = () => false;

  it("an inode another table lists proves a name: merged back, the record dropped", () => {
    const r = parse();
    const drop = settleUnixCandidates(r.candidates, {
      held: () => true,
      listedElsewhere: (i) => i === 31337,
    });
    expect([...drop].map((s) => s.inode)).toEqual([31337]);
    const x = r.records.find((s) => s.inode === 37539);
    expect(x?.path).toBe(`@x\n${forged("00000000deadbeef", "31337")}`);
    expect(x?.ambiguous).toBeUndefined();
  });

  it("an inode a process holds and no table lists is a real socket: both marks cleared", () => {
    const r = parse();
    expect(settleUnixCandidates(r.candidates, { held: (i) => i === 31337, listedElsewhere: none }).size).toBe(
      0,
    );
    expect(r.records.filter((s) => s.ambiguous)).toEqual([]);
  });

  it("an inode nobody holds stays ambiguous", () => {
    const r = parse();
    settleUnixCandidates(r.candidates, { held: none, listedElsewhere: none });
    expect(r.records.filter((s) => s.ambiguous).map((s) => s.inode)).toEqual([37539, 31337]);
  });

  it("two candidates claiming one held inode both stay ambiguous", () => {
    const second = "000000001111aaaa: 00000002 00000000 00010000 0001 01 37540 @y";
    const r = parseUnixTable(
      table(
        PATHLESS,
        FORGER,
        forged("00000000deadbeef", "31337"),
        PATHLESS.replace("caa5d4ef", "caa5d4f0").replace("37335", "37336"),
        second,
        forged("00000000beefdead", "31337"),
      ),
    );
    expect(r.candidates.filter((c) => c.record.inode === 31337)).toHaveLength(2);
    settleUnixCandidates(r.candidates, { held: () => true, listedElsewhere: none });
    expect(r.records.filter((s) => s.inode === 31337).map((s) => s.ambiguous)).toEqual([true, true]);
  });
});

describe("listedInodes", () => {
  it("reads the inode column of inet-shaped tables and the last column of netlink/packet", () => {
    const udp =
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
      "  274: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 18043 2 0000000000000000 0\n";
    const netlink =
      "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n" +
      "0000000000000000 0   1          00000113 0        0        0     2        0        15603\n";
    expect([...listedInodes(udp, "inet")]).toEqual([18043]);
    expect([...listedInodes(netlink, "last")]).toEqual([15603]);
  });
});
