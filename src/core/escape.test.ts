import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeNonPrintable, escapeText } from "./escape.js";

/** The inverse of escapeText, to show the encoding loses nothing and is unambiguous. */
function decode(text: string): string {
  return text.replace(/\\(\\|n|r|t|x[0-9a-f]{2}|u\{[0-9a-f]+\}|u[0-9a-f]{4})/g, (_m, e: string) => {
    if (e === "\\") return "\\";
    if (e === "n") return "\n";
    if (e === "r") return "\r";
    if (e === "t") return "\t";
    const hex = e.startsWith("u{") ? e.slice(2, -1) : e.slice(1);
    return String.fromCodePoint(Number.parseInt(hex, 16));
  });
}

// Anything a terminal or log viewer could act on: C0, DEL, C1, bidi marks, embeddings,
// overrides and isolates, line and paragraph separators. Written out as code points rather
// than Unicode properties, so the test does not restate the code.
function dangerous(text: string): boolean {
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
    if (c === 0x61c || c === 0x200e || c === 0x200f || c === 0x2028 || c === 0x2029) return true;
    if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) return true;
  }
  return false;
}

describe("escapeText", () => {
  it.each([
    ["plain text is returned as is", "nginx: worker", "nginx: worker"],
    ["a newline", "x\ntcp 6.6.6.6:22", "x\\ntcp 6.6.6.6:22"],
    ["ESC of an ANSI colour", "\u001b[31mred", "\\x1b[31mred"],
    ["CR and TAB", "a\rb\tc", "a\\rb\\tc"],
    ["NUL, DEL and a C1 CSI", "\u0000\u007f\u009b", "\\x00\\x7f\\x9b"],
    ["a right-to-left override", "evil\u202egnp.exe", "evil\\u202egnp.exe"],
    ["a bidi isolate and a zero-width space", "\u2066a\u200bb\u2069", "\\u2066a\\u200bb\\u2069"],
    ["line and paragraph separators", "a\u2028b\u2029c", "a\\u2028b\\u2029c"],
    ["a lone surrogate", "a\ud800b", "a\\ud800b"],
    ["a tag character beyond the BMP", "a\u{e0041}", "a\\u{e0041}"],
    ["a backslash, so a literal \\n stays distinguishable", "a\\nb", "a\\\\nb"],
    ["printable Unicode is kept", "café 日本 🚀", "café 日本 🚀"],
  ])("%s", (_name, raw, escaped) => {
    expect(escapeText(raw)).toBe(escaped);
    expect(decode(escapeText(raw))).toBe(raw);
  });

  it("never lets a control, bidi or separator character through, and loses nothing (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const e = escapeText(s);
        return !dangerous(e) && decode(e) === s;
      }),
      { numRuns: 1000 },
    );
    // 1,000 binary strings take ~1 s idle; 14 s were seen at load 23.
  }, 60_000);

  it("is injective: two different values never escape to the same text (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary" }),
        fc.string({ unit: "binary" }),
        (a, b) => a === b || escapeText(a) !== escapeText(b),
      ),
      { numRuns: 1000 },
    );
  });
});

describe("escapeNonPrintable", () => {
  it("escapes what JSON.stringify leaves raw, without doubling JSON's own escapes", () => {
    const quoted = `got ${JSON.stringify("a\nb\u001b\u202e\u0085")}`;
    expect(quoted).toContain("\u202e");
    expect(escapeNonPrintable(quoted)).toBe('got "a\\nb\\u001b\\u202e\\x85"');
  });

  it("keeps our own line breaks when asked, and escapes the rest", () => {
    expect(escapeNonPrintable("bad: x\u001b\n\nusage", { keepNewlines: true })).toBe("bad: x\\x1b\n\nusage");
    expect(escapeNonPrintable("a\nb")).toBe("a\\nb");
  });

  it("leaves escapeText's output unchanged (property): applying both escapes once", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary" }),
        (s) => escapeNonPrintable(escapeText(s)) === escapeText(s) && !dangerous(escapeNonPrintable(s)),
      ),
      { numRuns: 1000 },
    );
  });
});
