/**
 * `socklens learn` on a workload in a test network namespace, then a new listener and a new
 * outbound connection in it: `socklens check` must exit 1 and name both, with explanations.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FindingRecord } from "../../src/core/baseline/finding-record.js";
import { hostTestsUnavailable, runCli, Sandbox } from "./sandbox.js";

const unavailable = hostTestsUnavailable("learn-check.test.ts");

describe.skipIf(unavailable !== null)("learn, then check", () => {
  const box = new Sandbox();
  const dir = mkdtempSync(join(tmpdir(), "socklens-learn-"));
  const baselineFile = join(dir, "baseline.yaml");
  let app: string;

  beforeAll(async () => {
    app = box.netns("app");
    const db = box.netns("db");
    box.veth(app, db, ["10.232.0.1", "10.232.0.2"], ["fd00:5c:8::1", "fd00:5c:8::2"]);
    await box.workload(db, {
      title: "slwl-db",
      listen: [
        { proto: "tcp", host: "0.0.0.0", port: 5432 },
        { proto: "tcp", host: "0.0.0.0", port: 6379 },
      ],
    });
    await box.workload(app, {
      title: "slwl-app",
      listen: [{ proto: "tcp", host: "0.0.0.0", port: 8080 }],
      connect: [{ proto: "tcp", host: "10.232.0.2", port: 5432 }],
    });
  });
  afterAll(async () => {
    await box.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("learns a baseline that allows exactly what the workload does", () => {
    const r = runCli([
      "learn",
      "--netns",
      app,
      "--duration",
      "2s",
      "--interval",
      "1s",
      "-o",
      baselineFile,
      "--name",
      "app",
      "--namespace",
      "shop",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(baselineFile, "utf8");
    expect(text).toMatch(/^# Learned by socklens learn on /);
    expect(text).toContain("port: 8080");
    expect(text).toContain("cidr: 10.232.0.2/32");
    expect(runCli(["validate", baselineFile]).code).toBe(0);
    const clean = runCli(["check", "--baseline", baselineFile, "--netns", app]);
    expect(clean.code, clean.stdout).toBe(0);
    expect(clean.stdout).toContain("0 finding(s)");
    // The namespace is named by its `ip netns` name (matched by inode), not only its inode.
    expect(clean.stdout).toMatch(new RegExp(`scope netns \\d+ \\(${app}\\)`));
  });

  it("names a new listener and a new outbound connection, and exits 1", async () => {
    await box.workload(app, {
      title: "slwl-intruder",
      listen: [{ proto: "tcp", host: "0.0.0.0", port: 4444 }],
      connect: [{ proto: "tcp", host: "10.232.0.2", port: 6379 }],
    });
    const r = runCli(["check", "--baseline", baselineFile, "--netns", app, "-o", "json"]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const out = JSON.parse(r.stdout) as { results: { findings: FindingRecord[] }[] };
    const findings = out.results.flatMap((x) => x.findings);
    expect(findings.map((f) => f.rule).sort()).toEqual(["UnexpectedEgress", "UnexpectedListener"]);
    const listener = findings.find((f) => f.rule === "UnexpectedListener");
    expect(listener?.message).toMatch(
      /opened an unexpected listener on 0\.0\.0\.0:4444\/TCP \(process slwl-intruder, pid \d+\); baseline shop\/app allows 8080\/TCP on 0\.0\.0\.0 by slwl-app only$/,
    );
    const egress = findings.find((f) => f.rule === "UnexpectedEgress");
    expect(egress?.message).toMatch(
      /connected to 10\.232\.0\.2:6379\/TCP \(process slwl-intruder, pid \d+\), ESTABLISHED; baseline shop\/app allows egress to 10\.232\.0\.2\/32 on 5432\/TCP only$/,
    );

    const table = runCli(["check", "--baseline", baselineFile, "--netns", app]);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/HIGH\s+UnexpectedListener/);
    expect(table.stdout).toMatch(/MEDIUM\s+UnexpectedEgress/);
  });

  it("prints one finding record per line with -o ndjson, with the values its message names", () => {
    const r = runCli(["check", "--baseline", baselineFile, "--netns", app, "-o", "ndjson"]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const rec of records) expect(Object.values(rec)).not.toContain(null);
    // Both come from the intruder's process: the same who and where.
    const intruder = {
      baseline: "shop/app",
      scope: expect.stringContaining("netns"),
      process: "slwl-intruder",
      pid: expect.any(Number),
      protocol: "TCP",
      count: 1,
      netns: expect.any(Number),
    };
    const listener = records.find((x) => x.rule === "UnexpectedListener");
    expect(listener).toEqual({
      ...intruder,
      rule: "UnexpectedListener",
      severity: "high",
      message: expect.stringContaining("opened an unexpected listener on 0.0.0.0:4444/TCP"),
      localAddress: "0.0.0.0",
      localPort: 4444,
      state: "LISTEN",
      // The pattern socklens ack takes: the listener's own address and port, and its process.
      key: "UnexpectedListener/0.0.0.0/4444/slwl-intruder",
    });
    expect(listener?.message).toContain(`pid ${listener?.pid}`);
    expect(records.find((x) => x.rule === "UnexpectedEgress")).toEqual({
      ...intruder,
      rule: "UnexpectedEgress",
      severity: "medium",
      // 6379 is a well-known port: no Non-Standard Port technique.
      message: expect.stringContaining(
        `connected to 10.232.0.2:6379/TCP (process slwl-intruder, pid ${listener?.pid})`,
      ),
      direction: "egress",
      peerAddress: "10.232.0.2",
      peerPort: 6379,
      state: "ESTABLISHED",
      key: "UnexpectedEgress/10.232.0.2/6379/slwl-intruder",
    });
  });

  it("rejects an invalid baseline with exit 2 and file:line:col", () => {
    const bad = join(dir, "bad.yaml");
    const text = readFileSync(baselineFile, "utf8").replace("mode: Alert", "mode: Enforce");
    writeFileSync(bad, text);
    const r = runCli(["check", "--baseline", bad, "--netns", app]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`${bad.replaceAll("/", "\\/")}:\\d+:\\d+: spec\\.mode: got "Enforce"`),
    );
  });
});
