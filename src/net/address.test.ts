import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToProcHex, decodeProcAddress, formatAddress, parseIp, procHexToBytes } from "./address.js";

describe("decodeProcAddress (x86_64 little-endian words)", () => {
  it.each([
    ["0100007F", "127.0.0.1"],
    ["00000000", "0.0.0.0"],
    ["0101A8C0", "192.168.1.1"],
    ["FFFFFFFF", "255.255.255.255"],
    ["00000000000000000000000000000000", "::"],
    ["00000000000000000000000001000000", "::1"],
    // ::ffff:127.0.0.1 as the kernel prints it in tcp6: folded to IPv4.
    ["0000000000000000FFFF00000100007F", "127.0.0.1"],
    ["0000000000000000FFFF00000A01A8C0", "192.168.1.10"],
    // fe80::1 (link-local; the table has no scope id column)
    ["000080FE000000000000000001000000", "fe80::1"],
    // 2001:db8::1 — zeros in the middle compress once.
    ["B80D0120000000000000000001000000", "2001:db8::1"],
    ["b80d0120", "32.1.13.184"],
  ])("%s → %s", (hex, expected) => {
    expect(decodeProcAddress(hex)).toBe(expected);
  });

  it.each(["", "0100007", "0100007G", "0100007F00", "x".repeat(32)])("rejects %j", (hex) => {
    expect(decodeProcAddress(hex)).toBeNull();
  });

  it.each([
    ["2001:db8:0:1::1", [0x2001, 0xdb8, 0, 1, 0, 0, 0, 1]],
    ["2001:db8::1:0:0:1", [0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]],
    ["2001:0:0:1::1", [0x2001, 0, 0, 1, 0, 0, 0, 1]],
    ["1:2:3:4:5:6:7:8", [1, 2, 3, 4, 5, 6, 7, 8]],
    ["1::", [1, 0, 0, 0, 0, 0, 0, 0]],
    ["1:0:2:3:4:5:6:7", [1, 0, 2, 3, 4, 5, 6, 7]],
  ])("RFC 5952 canonical form %s", (text, groups) => {
    const bytes = new Uint8Array(16);
    groups.forEach((g, i) => {
      bytes[i * 2] = g >> 8;
      bytes[i * 2 + 1] = g & 0xff;
    });
    expect(formatAddress(bytes)).toBe(text);
  });
});

describe("address round trips (property)", () => {
  const bytes4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
  const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 });

  it("kernel hex → bytes → kernel hex is the identity", () => {
    fc.assert(
      fc.property(fc.oneof(bytes4, bytes16), (b) => {
        const hex = bytesToProcHex(b);
        expect(procHexToBytes(hex)).toEqual(b);
        expect(bytesToProcHex(procHexToBytes(hex) as Uint8Array)).toBe(hex);
      }),
    );
  });

  it("formatted text parses back to the same address", () => {
    fc.assert(
      fc.property(fc.oneof(bytes4, bytes16), (b) => {
        const text = formatAddress(b);
        const back = parseIp(text);
        // A v4-mapped address folds to IPv4 text: compare what it means.
        const expected = b.length === 16 && text.includes(".") ? b.subarray(12) : b;
        expect(back).toEqual(new Uint8Array(expected));
      }),
    );
  });

  it("agrees with Node's own IPv6 formatting via URL", () => {
    fc.assert(
      fc.property(bytes16, (b) => {
        const text = formatAddress(b);
        if (text.includes(".")) return;
        expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
      }),
    );
  });

  it("never throws on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        decodeProcAddress(s);
        parseIp(s);
      }),
    );
  });
});
