/**
 * Escaping of text that came from another process or from the cluster (process names and
 * command lines, unix socket paths, user and host names, netns names, label values) for the
 * media people read: terminal and table output, Kubernetes Event notes, OpenTelemetry log
 * bodies. A value another process chose is data, never layout: a newline in a process name
 * must not add a row, an ESC must not reach the terminal.
 *
 * The rule is "escape once, at the boundary": records and finding messages carry the raw
 * text, and the code that writes a medium escapes it there (src/core/render.ts for tables,
 * the CLI for its other lines, src/kube/events.ts for notes, src/telemetry/otel.ts for log
 * bodies). JSON and NDJSON output, snapshots, API objects and OTel attributes stay raw:
 * JSON.stringify already writes every C0 control (newline, ESC) as an escape, so a value
 * cannot add a line or reach a terminal as a control sequence, and consumers get the exact
 * bytes. See docs/output.md.
 *
 * The encoding follows `ss` and systemd: unambiguous and reversible. A backslash is written
 * `\\`; \n, \r and \t keep their short names; other characters below U+0100 are `\xHH`,
 * the rest `\uHHHH` (or `\u{HHHHH}` beyond the BMP).
 */

// What is escaped: backslash, control characters (C0, DEL, C1: Cc), format characters (Cf:
// bidi embeddings/overrides/isolates U+202A–U+202E and U+2066–U+2069, LRM/RLM, zero-width
// characters, soft hyphen, BOM, tag characters), line and paragraph separators (Zl, Zp: some
// viewers break lines there) and lone surrogates (Cs: not text at all).
const UNSAFE = /[\\\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
const UNSAFE_ALL = /[\\\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
const NON_PRINTABLE_ALL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
const NON_PRINTABLE_BUT_NEWLINE_ALL = /[^\P{Cc}\n]|[\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

const SHORT: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeChar(c: string): string {
  const short = SHORT[c];
  if (short) return short;
  const cp = c.codePointAt(0) ?? 0;
  const hex = cp.toString(16);
  if (cp < 0x100) return `\\x${hex.padStart(2, "0")}`;
  if (cp < 0x10000) return `\\u${hex.padStart(4, "0")}`;
  return `\\u{${hex}}`;
}

/**
 * A raw value (or a sentence built from raw values, like a finding's message) made safe for
 * a terminal, a table cell, an Event note or a log body: one line, no control or bidi
 * characters, backslashes doubled so the escaping cannot be confused with the value.
 */
export function escapeText(text: string): string {
  // Nearly every value is plain: answer without allocating.
  if (!UNSAFE.test(text)) return text;
  return text.replace(UNSAFE_ALL, escapeChar);
}

/**
 * For text that already quotes the values it embeds as JSON (validation problems, error
 * messages that say `got "…"`): escapes what JSON.stringify leaves raw (DEL, C1, bidi and
 * other format characters) and any control character, but leaves backslashes alone, so the
 * JSON-quoted parts are not escaped a second time. `escapeNonPrintable(escapeText(x))` is
 * `escapeText(x)`. With `keepNewlines`, "\n" stays a line break (for messages we compose of
 * several lines ourselves).
 */
export function escapeNonPrintable(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text.replace(options.keepNewlines ? NON_PRINTABLE_BUT_NEWLINE_ALL : NON_PRINTABLE_ALL, escapeChar);
}
