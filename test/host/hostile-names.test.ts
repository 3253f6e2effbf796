/**
 * A real process whose name, command line and network namespace name carry a newline, a
 * fake row and an ESC colour sequence (issue 11, item 1). Every place such text leaves for
 * a human — scan table, wide, --summary, check, diff, the Event note and the OTel log body
 * built from the finding — must show it escaped, once: no added line, no control byte.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FindingRecord } from "../../src/core/baseline/finding-record.js";
import type { EvaluationResult, Finding } from "../../src/core/baseline/types.js";
import type { SnapshotDiff } from "../../src/core/diff.js";
import type { StateSummaryRow } from "../../src/core/render.js";
import type { Socket } from "../../src/core/socket.js";
import { eventNoteSent, logRecordSent } from "../unit/report-capture.js";
import { hostTestsUnavailable, runCli, Sandbox } from "./sandbox.js";

const unavailable = hostTestsUnavailable("hostile-names.test.ts");

// The command line can be long; comm keeps 15 bytes, so its name packs ESC and newline early.
const CMDLINE = "x\ntcp 6.6.6.6:22 0.0.0.0:* LISTEN\u001b[31m\u202e";
const COMM = "\u001b[31mx\ntcp 6.6";
const COMM_ESCAPED = "\\x1b[31mx\\ntcp 6.6";

/** Text safe for a terminal: no control character but the line breaks, no bidi override. */
function expectSafe(text: string): void {
  for (const line of text.split("\n")) expect(line).not.toMatch(/[\p{Cc}\u202a-\u202e\u2066-\u2069]/u);
  // The fake row only ever appears after an escaped newline, inside its cell.
  for (const line of text.split("\n")) if (line.includes("tcp 6.6")) expect(line).toMatch(/\\ntcp 6\.6/);
}

const lines = (text: string) => text.replace(/\n$/, "").split("\n");

describe.skipIf(unavailable !== null)("hostile names in every text output", () => {
  const box = new Sandbox();
  const dir = mkdtempSync(join(tmpdir(), "socklens-hostile-names-"));
  let ns: string;
  let inode: string;
  let pid: number;
  const before = join(dir, "before.json");
  const after = join(dir, "after.json");
  const baseline = join(dir, "baseline.yaml");

  beforeAll(async () => {
    // ip netns accepts any name without "/": this one is hostile too.
    ns = box.netns("n\u001b[2J\nfake");
    inode = String(box.nsInode(ns));
    expect(runCli(["snapshot", "-o", before]).code).toBe(0);
    const w = await box.workload(ns, {
      title: CMDLINE,
      comm: COMM,
      listen: [
        { proto: "tcp", host: "0.0.0.0", port: 7070 },
        { proto: "tcp", host: "0.0.0.0", port: 7071 },
      ],
    });
    pid = w.pid;
    expect(runCli(["snapshot", "-o", after]).code).toBe(0);
    writeFileSync(
      baseline,
      [
        "apiVersion: socklens.io/v1alpha1",
        "kind: NetworkBaseline",
        "metadata: {name: web, namespace: shop}",
        "spec:",
        "  podSelector: {}",
        "  listeners: [{port: 9999}]",
        '  exceptions: [{rule: UnexpectedListener, port: 7071, reason: "known \\u001b[1m"}]',
        "",
      ].join("\n"),
    );
  });
  afterAll(async () => {
    await box.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const records = (): Socket[] =>
    lines(runCli(["scan", "-a", "--netns", inode, "-o", "ndjson"]).stdout).map(
      (l) => JSON.parse(l) as Socket,
    );

  it("the process really carries the names (the kernel keeps them raw)", () => {
    const mine = records().filter((s) => s.pid === pid);
    expect(mine.length).toBe(2);
    expect(mine[0]?.process).toBe(COMM);
    expect(mine[0]?.cmdline).toContain(CMDLINE);
    expect(mine[0]?.netnsName).toBe(ns);
  });

  it.each([
    ["table", []],
    ["wide", ["-o", "wide"]],
  ])("scan %s: one line per socket, names escaped", (_name, flags) => {
    const r = runCli(["scan", "-a", "--netns", inode, ...flags]);
    expect(r.code, r.stderr).toBe(0);
    expectSafe(r.stdout + r.stderr);
    expect(lines(r.stdout)).toHaveLength(records().length + 1);
    expect(r.stdout).toContain(`${pid}/${COMM_ESCAPED}`);
    if (flags.length) expect(r.stdout).toContain("x\\ntcp 6.6.6.6:22 0.0.0.0:* LISTEN\\x1b[31m\\u202e");
  });

  it("scan --summary: one line per row, the netns name escaped", () => {
    const r = runCli(["scan", "-a", "--netns", inode, "--summary"]);
    expectSafe(r.stdout + r.stderr);
    const json = JSON.parse(
      runCli(["scan", "-a", "--netns", inode, "--summary", "-o", "json"]).stdout,
    ) as StateSummaryRow[];
    expect(lines(r.stdout)).toHaveLength(json.length + 1);
    expect(r.stdout).toContain(`${inode}(${ns.replace("\u001b", "\\x1b").replace("\n", "\\n")})`);
  });

  it("check: a finding and a suppressed finding name the process escaped; nothing added", () => {
    const r = runCli(["check", "--baseline", baseline, "--netns", inode, "--show-suppressed"]);
    expect(r.code, r.stderr).toBe(1);
    expectSafe(r.stdout + r.stderr);
    const json = JSON.parse(
      runCli(["check", "--baseline", baseline, "--netns", inode, "-o", "json"]).stdout,
    ) as {
      results: EvaluationResult[];
    };
    const findings = json.results.flatMap((x) => x.findings);
    const suppressed = json.results.flatMap((x) => x.suppressed);
    // check -o json prints the documented finding record (src/core/baseline/finding-record.ts).
    expect(findings.map((f) => (f as unknown as FindingRecord).localPort)).toEqual([7070]);
    expect(suppressed).toHaveLength(1);
    // Header and findings, one line per suppressed finding, the summary.
    expect(lines(r.stdout)).toHaveLength(1 + findings.length + suppressed.length + 1);
    expect(r.stdout).toContain(`(process ${COMM_ESCAPED}, pid ${pid})`);
    expect(r.stdout).toContain("suppressed by exception (known \\x1b[1m)");
  });

  it("diff: the new listeners name the process escaped; the layout is the JSON's", () => {
    const r = runCli(["diff", before, after]);
    expect(r.code, r.stderr).toBe(1);
    expectSafe(r.stdout + r.stderr);
    const d = JSON.parse(runCli(["diff", before, after, "-o", "json"]).stdout) as SnapshotDiff;
    const sections = [
      d.listenersAdded.length + d.listenersRemoved.length,
      d.bindChanged.length,
      d.peersAdded.length + d.peersRemoved.length,
      d.stateCounts.length,
    ].filter((n) => n > 0);
    // "before:", "after:", then per section a blank line, its title, its header and its rows.
    expect(lines(r.stdout)).toHaveLength(2 + sections.reduce((n, rows) => n + 3 + rows, 0));
    const mine = lines(r.stdout).filter((l) => l.includes(":7070"));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toContain(COMM_ESCAPED);
  });

  describe("the Event note and the OTel log body built from the real finding", () => {
    let finding: Finding;
    beforeAll(() => {
      const json = JSON.parse(
        runCli(["check", "--baseline", baseline, "--netns", inode, "-o", "json"]).stdout,
      ) as {
        results: EvaluationResult[];
      };
      finding = json.results.flatMap((x) => x.findings)[0] as Finding;
      expect(finding.message).toContain(COMM);
    });

    it("Event note: one line, escaped once", async () => {
      const { note } = await eventNoteSent(finding);
      expectSafe(note);
      expect(lines(note)).toHaveLength(1);
      expect(note).toContain(`(process ${COMM_ESCAPED}, pid ${pid})`);
    });

    it("OTel log body: one line, escaped once", async () => {
      const body = (await logRecordSent(finding))?.body.stringValue ?? "";
      expectSafe(body);
      expect(lines(body)).toHaveLength(1);
      expect(body).toContain(`(process ${COMM_ESCAPED}, pid ${pid})`);
    });
  });
});
