/**
 * Report text as segments: our template words are `plain`, anything that came from a host or a
 * cluster (process names, command lines, addresses, names, reasons) is `data` or `code`. The
 * renderers escape each kind for their medium (terminal: src/core/escape.ts; Markdown:
 * markdown.ts), so a template never has to remember to. Pure.
 */
export type Segment = { plain: string } | { data: string } | { code: string };

export type Text = Segment[];

export const plain = (text: string): Segment => ({ plain: text });
export const data = (text: string): Segment => ({ data: text });
export const code = (text: string): Segment => ({ code: text });

/** "a", "a and b", "a, b and c". */
export function joinList(items: Text[]): Text {
  const out: Text = [];
  items.forEach((item, i) => {
    if (i > 0) out.push(plain(i === items.length - 1 ? " and " : ", "));
    out.push(...item);
  });
  return out;
}

/**
 * The raw text (JSON output: consumers get the exact bytes, JSON.stringify escapes controls);
 * a command line keeps the backticks that mark it in the other media.
 */
export function rawText(t: Text): string {
  return t.map((s) => ("plain" in s ? s.plain : "data" in s ? s.data : `\`${s.code}\``)).join("");
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "14:02" (UTC): short, and the same on every machine. */
export function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

/** "2026-11-20". */
export function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** "the last hour", "the last 3 hours", "the last 2 days". */
export function lastWindow(ms: number): string {
  const hours = Math.max(1, Math.ceil(ms / 3_600_000));
  if (hours === 1) return "the last hour";
  if (hours <= 48) return `the last ${hours} hours`;
  return `the last ${Math.ceil(hours / 24)} days`;
}

/** An address and port as people write them: 198.51.100.7:443, [2001:db8::1]:443. */
export function hostPort(address: string, port: number | undefined): string {
  const host = address.includes(":") ? `[${address}]` : address;
  return port === undefined ? host : `${host}:${port}`;
}
