/**
 * Markdown escaping for text that came from a host or a cluster. escapeText (src/core/escape.ts)
 * first makes control, format and line-break characters visible, so nothing can start a new
 * block; then every character CommonMark gives a meaning inline is backslash-escaped, so a
 * process called `*[x](http://evil)*` prints as those characters, never as a link or emphasis.
 * Code spans take a backtick fence longer than any run inside. Pure.
 */
import { escapeText } from "../escape.js";

// CommonMark's ASCII punctuation that can be backslash-escaped and may mean something inline
// or at a line start: emphasis, links, images, code, HTML, headings, lists, tables, quotes.
const MD_SPECIAL = /[\\`*_{}[\]()<>#+\-.!|~&"']/g;

export function escapeMarkdown(text: string): string {
  return escapeText(text).replace(MD_SPECIAL, (c) => `\\${c}`);
}

/** An inline code span holding the text literally (after escapeText: one line, no controls). */
export function codeSpan(text: string): string {
  const t = escapeText(text);
  let longest = 0;
  for (const run of t.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const fence = "`".repeat(longest + 1);
  // A span starting or ending with a backtick (or all spaces) needs a space inside the fence.
  const pad = t.startsWith("`") || t.endsWith("`") || t.trim() === "" ? " " : "";
  return `${fence}${pad}${t}${pad}${fence}`;
}
