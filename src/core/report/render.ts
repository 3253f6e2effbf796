/**
 * The report in three media: text (terminal, the default), Markdown (a ticket, a chat, a PR)
 * and JSON (machines; strings raw, as everywhere in socklens's JSON). Each escapes what came
 * from outside for its own medium: escapeText for the terminal, escapeMarkdown/codeSpan for
 * Markdown (docs/report.md). Deterministic: no clock, no locale. Pure.
 */
import { escapeText } from "../escape.js";
import type { Report, ReportItem, WorkloadReport } from "./build.js";
import { codeSpan, escapeMarkdown } from "./markdown.js";
import { clock, plural, rawText, type Text } from "./text.js";

export interface RenderOptions {
  showSuppressed: boolean;
}

function terminal(t: Text): string {
  return t
    .map((s) => ("plain" in s ? s.plain : "data" in s ? escapeText(s.data) : `\`${escapeText(s.code)}\``))
    .join("");
}

function markdown(t: Text): string {
  return t
    .map((s) => ("plain" in s ? s.plain : "data" in s ? escapeMarkdown(s.data) : codeSpan(s.code)))
    .join("");
}

function headline(r: Report): string {
  const t = r.totals;
  const parts = [
    plural(t.workloads, "workload"),
    `${plural(t.findings, "finding")}${t.new ? ` (${t.new} new)` : ""}`,
    `${t.suppressed} suppressed`,
  ];
  if (t.confirmed) parts.push(`${t.confirmed} confirmed`);
  if (t.expiredAcks) parts.push(`${plural(t.expiredAcks, "expired acknowledgement")}`);
  const window =
    r.from && r.to ? `, ${r.from.replace(/\.000Z$/, "Z")} – ${r.to.replace(/\.000Z$/, "Z")}` : "";
  return `socklens report: ${parts.join(", ")}${window}`;
}

function seen(i: ReportItem): string {
  if (i.firstSeen === undefined) return "";
  const last =
    i.lastSeen !== undefined && clock(i.lastSeen) !== clock(i.firstSeen) ? `–${clock(i.lastSeen)}` : "";
  return `${clock(i.firstSeen)}${last}`;
}

function marks(i: ReportItem): string[] {
  const m: string[] = [];
  if (i.isNew) m.push("new");
  if (i.confirmed) m.push("confirmed incident");
  if (i.expiredAck) m.push("ack expired");
  if (i.active) m.push("active");
  if (i.occurrences > 1) m.push(`${i.occurrences}×`);
  return m;
}

function visible(w: WorkloadReport, o: RenderOptions): boolean {
  return w.items.length > 0 || o.showSuppressed;
}

export function renderReportText(r: Report, o: RenderOptions): string {
  const lines = [headline(r), ""];
  const shown = r.workloads.filter((w) => visible(w, o));
  if (shown.length === 0) lines.push("Nothing to report.", "");
  for (const w of shown) {
    lines.push(terminal(w.paragraph));
    for (const i of w.items)
      lines.push(
        `  ${i.severity.toUpperCase().padEnd(6)} ${escapeText(i.record.key)}${seen(i) ? `  ${seen(i)}` : ""}${marks(i).length ? `  (${marks(i).join(", ")})` : ""}`,
      );
    if (o.showSuppressed)
      for (const i of w.suppressed)
        lines.push(
          `  suppressed ${escapeText(i.record.key)}: ${escapeText(i.suppressed?.reason ?? "")}${i.suppressed?.expires ? ` (until ${escapeText(i.suppressed.expires)})` : ""}`,
        );
    lines.push("");
  }
  if (r.totals.suppressed && !o.showSuppressed)
    lines.push(
      `${plural(r.totals.suppressed, "acknowledged finding")} suppressed; --show-suppressed lists them.`,
    );
  return `${lines.join("\n").replace(/\n+$/, "")}\n`;
}

export function renderReportMarkdown(r: Report, o: RenderOptions): string {
  const lines = [`# ${escapeMarkdown(headline(r))}`, ""];
  const shown = r.workloads.filter((w) => visible(w, o));
  if (shown.length === 0) lines.push("Nothing to report.", "");
  for (const w of shown) {
    lines.push(`## ${escapeMarkdown(w.title)}`, "", markdown(w.paragraph), "");
    const rows = [...w.items, ...(o.showSuppressed ? w.suppressed : [])];
    if (rows.length) {
      lines.push("| severity | finding key | seen (UTC) | notes |", "| --- | --- | --- | --- |");
      for (const i of rows) {
        const notes = i.suppressed
          ? `suppressed: ${escapeMarkdown(i.suppressed.reason)}${i.suppressed.expires ? ` (until ${escapeMarkdown(i.suppressed.expires)})` : ""}`
          : escapeMarkdown(marks(i).join(", "));
        lines.push(`| ${i.severity} | ${codeSpan(i.record.key)} | ${seen(i)} | ${notes} |`);
      }
      lines.push("");
    }
  }
  if (r.totals.suppressed && !o.showSuppressed)
    lines.push(
      `${plural(r.totals.suppressed, "acknowledged finding")} suppressed; \`--show-suppressed\` lists them.`,
      "",
    );
  return `${lines.join("\n").replace(/\n+$/, "")}\n`;
}

function itemJson(i: ReportItem) {
  return {
    ...i.record,
    severity: i.severity,
    ...(i.record.severity !== i.severity ? { reportedSeverity: i.record.severity } : {}),
    ...(i.firstSeen !== undefined ? { firstSeen: new Date(i.firstSeen).toISOString() } : {}),
    ...(i.lastSeen !== undefined ? { lastSeen: new Date(i.lastSeen).toISOString() } : {}),
    occurrences: i.occurrences,
    active: i.active,
    ...(i.isNew !== undefined ? { new: i.isNew } : {}),
    ...(i.confirmed ? { confirmed: i.confirmed } : {}),
    ...(i.suppressed ? { suppressed: i.suppressed } : {}),
    ...(i.expiredAck ? { expiredAck: i.expiredAck } : {}),
  };
}

export function renderReportJson(r: Report, o: RenderOptions): string {
  const out = {
    generatedAt: r.generatedAt,
    ...(r.from ? { from: r.from, to: r.to } : {}),
    totals: r.totals,
    workloads: r.workloads
      .filter((w) => visible(w, o))
      .map((w) => ({
        id: w.id,
        title: w.title,
        ...(w.namespace ? { namespace: w.namespace } : {}),
        baselines: w.baselines,
        summary: rawText(w.paragraph),
        findings: w.items.map(itemJson),
        suppressed: o.showSuppressed ? w.suppressed.map(itemJson) : w.suppressed.length,
      })),
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}
