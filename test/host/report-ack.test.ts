/**
 * `socklens report` and `socklens ack` on real namespaces, through bin/socklens.js (issue 10,
 * items 3 and 4, host path):
 *
 * - beacon: a process named "updater" opens a short connection to 198.51.100.7:443 every 1 s;
 * - app: listens on 8080 (allowed) and 4444 (not allowed by the baseline), and runs `ss -E`
 *   for a few seconds (a discovery tool).
 *
 * One real `watch -o ndjson` records what happens; `report` turns the stream into paragraphs;
 * `ack` writes the beacon's key into the baseline file; a second `watch` then counts the beacon
 * as suppressed instead of firing it. `check` shows an acknowledgement expiring: suppressed
 * first, firing again once its time has passed.
 *
 * SOCKLENS_RECORD_REPORT_FIXTURE=1 also writes the first stream to
 * test/fixtures/report/watch-host.ndjson, the recording the unit golden tests read.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FindingRecord } from "../../src/core/baseline/finding-record.js";
import { hostTestsUnavailable, ip, REPO, runCli, Sandbox } from "./sandbox.js";

const unavailable = hostTestsUnavailable("report-ack.test.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type WatchLine = FindingRecord & { event: string; time: string };

function baselineYaml(reviewedAt: string): string {
  return `# The app's baseline, as a team would keep it in git.
apiVersion: socklens.io/v1alpha1
kind: NetworkBaseline
metadata:
  name: web
  namespace: shop
  annotations:
    socklens.io/reviewed-at: "${reviewedAt}"
spec:
  podSelector: {matchLabels: {app: web}}   # every scope, on a host
  listeners:
    - {port: 8080, protocol: TCP}
`;
}

/** Run watch for `seconds` over the namespaces; resolves with its stdout lines. */
function watch(
  netns: string[],
  seconds: number,
  extra: string[],
): Promise<{ code: number | null; lines: string[]; stderr: string }> {
  const child = spawn(
    process.execPath,
    [
      join(REPO, "bin", "socklens.js"),
      "watch",
      "--netns",
      netns.join(","),
      "--interval",
      "1s",
      "--duration",
      `${seconds}s`,
      "-o",
      "ndjson",
      ...extra,
    ],
    { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    err += d;
  });
  return new Promise((resolve) =>
    child.once("exit", (code) => resolve({ code, lines: out.split("\n").filter(Boolean), stderr: err })),
  );
}

describe.skipIf(unavailable !== null)("report and ack on a host", () => {
  const box = new Sandbox();
  const dir = mkdtempSync(join(tmpdir(), "socklens-report-"));
  const baseline = join(dir, "web.yaml");
  const tools: ChildProcess[] = [];
  let beaconNs = "";
  let appNs = "";
  let first: WatchLine[] = [];
  let stream = "";

  beforeAll(async () => {
    const world = box.netns("world");
    beaconNs = box.netns("beacon");
    appNs = box.netns("app");
    box.veth(beaconNs, world, ["10.236.1.1", "10.236.1.2"], ["fd00:5c:f1::1", "fd00:5c:f1::2"]);
    ip("-n", world, "addr", "add", "198.51.100.7/32", "dev", "lo");
    ip("-n", beaconNs, "route", "add", "198.51.100.0/24", "via", "10.236.1.2");
    await box.workload(world, { title: "slwl-c2", listen: [{ proto: "tcp", host: "0.0.0.0", port: 443 }] });
    await box.workload(appNs, {
      title: "slwl-web",
      listen: [
        { proto: "tcp", host: "0.0.0.0", port: 8080 },
        { proto: "tcp", host: "0.0.0.0", port: 4444 },
      ],
    });
    // Reviewed a day ago: everything this run sees is new since then.
    writeFileSync(
      baseline,
      baselineYaml(new Date(Date.now() - 86_400_000).toISOString().replace(/\.\d+Z$/, "Z")),
    );
    await box.workload(beaconNs, {
      title: "slwl-updater",
      comm: "updater",
      short: { host: "198.51.100.7", port: 443, everyMs: 1000, holdMs: 100 },
    });
    const run = watch([beaconNs, appNs].map(String), 18, ["--baseline", baseline]);
    await sleep(2000);
    const ss = spawn("ip", ["netns", "exec", appNs, "ss", "-E"], { stdio: "ignore" });
    tools.push(ss);
    await sleep(4000);
    ss.kill("SIGTERM");
    const r = await run;
    expect(r.code, r.stderr).toBe(1);
    first = r.lines.map((l) => JSON.parse(l) as WatchLine);
    stream = r.lines.join("\n");
    writeFileSync(join(dir, "watch.ndjson"), `${stream}\n`);
    if (process.env.SOCKLENS_RECORD_REPORT_FIXTURE === "1") {
      copyFileSync(join(dir, "watch.ndjson"), join(REPO, "test", "fixtures", "report", "watch-host.ndjson"));
      copyFileSync(baseline, join(REPO, "test", "fixtures", "report", "web.yaml"));
    }
  }, 60_000);

  // Awaited: the sandbox removes its namespaces asynchronously, after its processes exit
  // (not awaiting it left sltest…-app/-world/-beacon behind on every run).
  afterAll(async () => {
    for (const t of tools) t.kill("SIGKILL");
    await box.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const started = (rule: string) => first.filter((e) => e.event === "start" && e.rule === rule);

  it("watch recorded the beacon, the discovery tool and the unexpected listener, each with its key", () => {
    expect(
      started("Beaconing").map((e) => e.key),
      stream,
    ).toEqual(["Beaconing/198.51.100.7/443/*"]);
    expect(
      started("NetworkDiscoveryTool").map((e) => e.key),
      stream,
    ).toContain("NetworkDiscoveryTool/*/*/ss");
    expect(
      started("UnexpectedListener").map((e) => e.key),
      stream,
    ).toEqual(["UnexpectedListener/0.0.0.0/4444/slwl-web"]);
  });

  it("report: one paragraph per scope, ranked, naming what happened; md and json agree", () => {
    const r = runCli(["report", join(dir, "watch.ndjson"), "--baseline", baseline]);
    expect(r.code, r.stderr).toBe(1);
    const paragraphs = r.stdout.split("\n").filter((l) => l.startsWith("netns "));
    expect(paragraphs, r.stdout).toHaveLength(2);
    const beacon = paragraphs.find((p) => p.includes(`(${beaconNs})`)) ?? "";
    // The beacon's process is named only when a scan caught one of its connections open.
    expect(beacon).toMatch(/a regular beacon to 198\.51\.100\.7:443( from process updater)? \(/);
    expect(beacon).toMatch(/every 1(\.0)? s\)/);
    expect(beacon).toContain("new since the baseline was reviewed on");
    expect(beacon).toMatch(/Check the origin of (updater|the process) first\./);
    const app = paragraphs.find((p) => p.includes(`(${appNs})`)) ?? "";
    expect(app).toContain("`ss -E` run at");
    expect(app).toContain("a new listener on 0.0.0.0:4444/TCP");
    expect(r.stdout).toContain("Beaconing/198.51.100.7/443/*");
    const json = JSON.parse(
      runCli(["report", join(dir, "watch.ndjson"), "--baseline", baseline, "-o", "json"]).stdout,
    ) as {
      totals: { findings: number; new: number };
      workloads: { summary: string; findings: { key: string }[] }[];
    };
    expect(json.totals.findings).toBe(json.workloads.reduce((n, w) => n + w.findings.length, 0));
    expect(json.totals.new).toBe(json.totals.findings);
    const md = runCli(["report", join(dir, "watch.ndjson"), "--baseline", baseline, "-o", "md"]).stdout;
    expect(md.split("\n").filter((l) => l.startsWith("## "))).toHaveLength(2);
    expect(md).toContain("`Beaconing/198.51.100.7/443/*`");
  });

  it("ack writes the beacon's exception into the file; it validates; a second watch counts the beacon as suppressed", async () => {
    const before = readFileSync(baseline, "utf8");
    const key = started("Beaconing")[0]?.key ?? "";
    const r = runCli([
      "ack",
      key,
      "--baseline",
      baseline,
      "--reason",
      "vendor updater, TICKET-7",
      "--by",
      "alice",
      "--expires",
      "30d",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("acknowledged Beaconing/198.51.100.7/443/*");
    const after = readFileSync(baseline, "utf8");
    // The rest is kept: the header comment, the inline comment, the listeners.
    expect(after).toContain("# The app's baseline, as a team would keep it in git.");
    expect(after).toContain("# every scope, on a host");
    expect(after.startsWith(before.split("spec:")[0] as string)).toBe(true);
    expect(after).toMatch(
      /exceptions:\n {4}- rule: Beaconing\n {6}address: 198\.51\.100\.7\n {6}port: 443\n {6}reason: vendor updater, TICKET-7\n/,
    );
    expect(runCli(["validate", baseline]).code).toBe(0);

    const second = await watch([beaconNs, appNs], 14, ["--baseline", baseline, "--show-suppressed"]);
    const lines = second.lines.map(
      (l) => JSON.parse(l) as WatchLine & { suppressed?: { reason: string }; findings?: number },
    );
    const beacon = lines.filter((e) => e.event === "start" && e.rule === "Beaconing");
    expect(beacon.length, second.lines.join("\n")).toBeGreaterThan(0);
    // Every Beaconing start is a suppressed one, with the reason; none fires.
    expect(beacon.every((e) => e.suppressed?.reason === "vendor updater, TICKET-7")).toBe(true);
    const summary = lines.find((e) => e.event === "summary") as unknown as {
      suppressed: number;
      byRule: Record<string, number>;
    };
    expect(summary.suppressed).toBeGreaterThanOrEqual(1);
    expect(summary.byRule.Beaconing).toBeUndefined();
    // The report of that stream counts it as suppressed and does not rank it.
    writeFileSync(join(dir, "second.ndjson"), `${second.lines.join("\n")}\n`);
    const rep = runCli(["report", join(dir, "second.ndjson"), "--baseline", baseline]);
    expect(rep.stdout).not.toContain("regular beacon");
    expect(rep.stdout).toMatch(/acknowledged findings? suppressed/);
    const shown = runCli(["report", join(dir, "second.ndjson"), "--baseline", baseline, "--show-suppressed"]);
    expect(shown.stdout).toContain("suppressed Beaconing/198.51.100.7/443/*: vendor updater, TICKET-7");
  }, 60_000);

  it("check: an acknowledged listener is counted as suppressed until its acknowledgement expires, then fires again", async () => {
    const key = "UnexpectedListener/0.0.0.0/4444/slwl-web";
    const ack = runCli([
      "ack",
      key,
      "--baseline",
      baseline,
      "--reason",
      "debug port, until the fix ships",
      "--expires",
      "20s",
    ]);
    expect(ack.code, ack.stderr).toBe(0);
    const during = runCli(["check", "--baseline", baseline, "--netns", appNs]);
    expect(during.stdout, during.stderr).toContain(
      "1 suppressed by exceptions (--show-suppressed lists them)",
    );
    expect(during.stdout).not.toContain("4444/TCP");
    const listed = runCli(["check", "--baseline", baseline, "--netns", appNs, "--show-suppressed"]);
    expect(listed.stdout).toContain("suppressed by exception (debug port, until the fix ships, until ");
    // Past the expiry (with a margin): the same listener fires again.
    const expires = Date.parse(/until (\S+)\)/.exec(ack.stdout)?.[1] ?? "");
    await sleep(Math.max(0, expires - Date.now()) + 1500);
    const later = runCli(["check", "--baseline", baseline, "--netns", appNs]);
    expect(later.code).toBe(1);
    expect(later.stdout).toContain("0.0.0.0:4444/TCP");
    expect(later.stdout).toContain("0 suppressed by exceptions");
  }, 60_000);

  it("report DIR: snapshots replayed in time order through the baseline; a listener seen in both is one finding", () => {
    const snaps = join(dir, "snaps");
    mkdirSync(snaps);
    for (const n of [1, 2]) {
      const r = runCli(["snapshot", "-o", join(snaps, `s${n}.json`)]);
      expect(r.code, r.stderr).toBe(0);
    }
    // A fresh copy of the baseline without the acknowledgements the tests above wrote.
    const plain = join(dir, "plain.yaml");
    writeFileSync(plain, baselineYaml("2026-01-01T00:00:00Z"));
    const r = runCli(["report", snaps, "--baseline", plain, "-o", "json"]);
    expect(r.code, r.stderr).toBe(1);
    const json = JSON.parse(r.stdout) as {
      workloads: { title: string; findings: { key: string; occurrences: number }[] }[];
    };
    const app = json.workloads.find((w) => w.title.includes(`(${appNs})`));
    const listener = app?.findings.find((f) => f.key === "UnexpectedListener/0.0.0.0/4444/slwl-web");
    expect(listener, r.stdout).toMatchObject({ occurrences: 1 });
  });

  it("ack refuses what would not validate or cannot match, and leaves the file alone", () => {
    const before = readFileSync(baseline, "utf8");
    for (const args of [
      ["ack", "Beaconing/x.x.x.x/443/updater", "--baseline", baseline, "--reason", "masked"],
      ["ack", "NoSuchRule/*/*/*", "--baseline", baseline, "--reason", "r"],
      ["ack", "Beaconing/not-an-ip/443/*", "--baseline", baseline, "--reason", "r"],
      ["ack", "Beaconing/198.51.100.7/443/updater", "--baseline", baseline],
      [
        "ack",
        "Beaconing/198.51.100.7/443/updater",
        "--baseline",
        baseline,
        "--reason",
        "r",
        "--expires",
        "2001-01-01T00:00:00Z",
      ],
    ]) {
      const r = runCli(args);
      expect(r.code, `${args.join(" ")}: ${r.stdout}`).toBe(2);
      expect(r.stderr.split("\n").filter(Boolean).length, r.stderr).toBeLessThanOrEqual(3);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(readFileSync(baseline, "utf8")).toBe(before);
  });
});
