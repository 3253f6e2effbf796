/**
 * Golden files for `socklens report` (issue 10, item 3), run in-process through reportCommand:
 *
 * - watch-host.ndjson: a real `socklens watch -o ndjson` stream, recorded by
 *   test/host/report-ack.test.ts (SOCKLENS_RECORD_REPORT_FIXTURE=1) on real namespaces: a
 *   beacon, `ss -E`, an unexpected listener; web.yaml is the baseline it ran with.
 * - web-acked.yaml: that baseline after a review (beacon acknowledged, discovery tool
 *   confirmed, an expired acknowledgement of the listener), over the same stream.
 * - hostile.ndjson: SYNTHETIC (hand-written; no real process can be made to carry all of it
 *   at once): Markdown, HTML, bidi, newline and ESC in process names, command lines, workload
 *   names and peer identities, and lines that are not findings.
 *
 * UPDATE_GOLDEN=1 rewrites the files in test/fixtures/report/golden/; review the diff.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { reportCommand } from "../../src/cli/report.js";
import { captureIO } from "./capture.js";

const DIR = join(import.meta.dirname, "..", "fixtures", "report");
const GOLDEN = join(DIR, "golden");

async function report(args: string[], env: NodeJS.ProcessEnv = {}) {
  const c = captureIO(env);
  const code = await reportCommand(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

function golden(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(file)) {
    if (process.env.UPDATE_GOLDEN !== "1" && process.env.CI)
      throw new Error(`golden file ${name} is missing`);
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, actual);
  }
  expect(actual).toBe(readFileSync(file, "utf8"));
}

/** Control characters (newline aside), DEL and the bidi override that reached the output. */
function controls(text: string): string[] {
  return [...text].filter((ch) => {
    const c = ch.codePointAt(0) as number;
    return (c < 0x20 && c !== 0x0a) || c === 0x7f || c === 0x202e;
  });
}

const stream = join(DIR, "watch-host.ndjson");
const hostile = join(DIR, "hostile.ndjson");

describe("socklens report: golden files over recorded streams", () => {
  for (const format of ["text", "md", "json"] as const)
    it(`the recorded host stream, reviewed before it: ${format}`, async () => {
      const r = await report([stream, "--baseline", join(DIR, "web.yaml"), "-o", format]);
      expect(r.code, r.err).toBe(1);
      golden(`watch-host.${format === "text" ? "txt" : format}`, r.out);
    });

  it("the same stream after the review: suppressed, confirmed, expired (text, --show-suppressed)", async () => {
    const quiet = await report([stream, "--baseline", join(DIR, "web-acked.yaml")]);
    golden("watch-host-acked.txt", quiet.out);
    // The beacon is acknowledged: counted, not ranked; the discovery tool ranks first as high.
    expect(quiet.out).not.toContain("regular beacon");
    expect(quiet.out).toContain("1 acknowledged finding suppressed; --show-suppressed lists them.");
    expect(quiet.out).toMatch(/\n {2}HIGH {3}NetworkDiscoveryTool\/\*\/\*\/ss .*confirmed incident/);
    expect(quiet.out).toContain("ack expired");
    const shown = await report([
      stream,
      "--baseline",
      join(DIR, "web-acked.yaml"),
      "--show-suppressed",
      "-o",
      "md",
    ]);
    golden("watch-host-acked.md", shown.out);
    expect(shown.out).toContain("suppressed: vendor updater \\(TICKET\\-7\\)");
  });

  it("is the same report every time (deterministic), and --now moves the window words only", async () => {
    const a = await report([stream, "--baseline", join(DIR, "web.yaml")]);
    const b = await report([stream, "--baseline", join(DIR, "web.yaml")]);
    expect(a.out).toBe(b.out);
    const later = await report([
      stream,
      "--baseline",
      join(DIR, "web.yaml"),
      "--now",
      "2026-11-24T05:00:00Z",
    ]);
    expect(later.out).toContain("in the last 4 hours");
    expect(
      later.out.replace("the last 4 hours", "the last hour").replaceAll("the last 4 hours", "the last hour"),
    ).toBe(a.out);
    // --since before the recording: nothing left to report.
    const none = await report([stream, "--since", "1h", "--now", "2026-11-25T05:00:00Z"]);
    expect(none.code).toBe(0);
    expect(none.out).toContain("Nothing to report.");
  });

  it("without a baseline nothing is judged new, and the text says so", async () => {
    const r = await report([stream]);
    expect(r.out).toContain("No baseline describes this workload, so nothing here is judged new.");
    expect(r.out).not.toMatch(/\(new/);
  });
});

describe("socklens report: attacker-controlled text (SYNTHETIC stream)", () => {
  it("text: one line per paragraph and finding, no control character, bad lines named on stderr", async () => {
    const r = await report([hostile]);
    golden("hostile.txt", r.out);
    expect(controls(r.out)).toEqual([]);
    // Headline, blank, two workloads of paragraph + findings (+ blank): nothing added.
    expect(
      r.out
        .split("\n")
        .filter((l) => l.startsWith("db\\n## injected (shop): ") || l.startsWith("web (shop): ")),
    ).toHaveLength(2);
    expect(r.err).toContain(":4: not a finding: not JSON");
    expect(r.err).toContain(':5: not a finding: "severity" "extreme" is not info, low, medium or high');
  });

  it("md: no link, emphasis, HTML or heading comes from the data", async () => {
    const r = await report([hostile, "-o", "md"]);
    golden("hostile.md", r.out);
    expect(controls(r.out)).toEqual([]);
    // Our headings only: the report's and one per workload.
    expect(r.out.split("\n").filter((l) => l.startsWith("#"))).toEqual([
      expect.stringMatching(/^# socklens report/),
      "## web \\(shop\\)",
      "## db\\\\n\\#\\# injected \\(shop\\)",
    ]);
    expect(r.out).not.toContain("](http");
    expect(r.out).not.toContain("<script>");
    expect(r.out).not.toContain("<b>");
    expect(r.out).toContain("Check who ran \\*\\[x\\]\\(http://e\\.vil\\)\\* and how they got in first.");
    // The command line is one code span whose fence is longer than the backticks inside.
    expect(r.out).toContain("``nmap -sS `10.0.0.0/24` | cat\\n# head\\x1b[31m``");
  });

  it("json: the raw strings, exactly", async () => {
    const r = await report([hostile, "-o", "json"]);
    const json = JSON.parse(r.out) as {
      workloads: { title: string; findings: { process?: string; cmdline?: string }[] }[];
    };
    expect(json.workloads.map((w) => w.title)).toEqual(["web (shop)", "db\n## injected (shop)"]);
    expect(json.workloads[0]?.findings.map((f) => f.process)).toEqual([
      "*[x](http://e.vil)*",
      "up\u202edater<script>",
    ]);
  });

  it("--mask (and SOCKLENS_MASK) hides addresses in every format, keys included", async () => {
    for (const format of ["text", "md", "json"]) {
      const flag = await report([
        stream,
        "--baseline",
        join(DIR, "web.yaml"),
        "-o",
        format,
        "--mask",
        "198.51.100.0/24",
      ]);
      const env = await report([stream, "-o", format], { SOCKLENS_MASK: "198.51.100.0/24,0.0.0.0/32" });
      for (const out of [flag.out, env.out]) {
        expect(out).not.toContain("198.51.100.7");
        expect(out).not.toContain("198\\.51\\.100\\.7");
        expect(out).toContain("x.x.x.x".replaceAll(".", format === "md" ? "\\." : "."));
      }
      expect(env.out).not.toContain("0.0.0.0:4444");
    }
  });

  it("refuses input that holds no finding, and bad flags, with one clear line", async () => {
    const c = captureIO();
    await expect(reportCommand([join(DIR, "web.yaml")], c.io)).rejects.toThrow(/no finding records/);
    await expect(reportCommand([stream, "-o", "html"], c.io)).rejects.toThrow(/not one of text, md, json/);
    await expect(reportCommand([stream, "--now", "yesterday"], c.io)).rejects.toThrow(/--now/);
    await expect(reportCommand([], c.io)).rejects.toThrow(/needs one input/);
  });
});
