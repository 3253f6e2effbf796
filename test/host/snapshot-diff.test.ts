/** `socklens snapshot` and `socklens diff` on two real snapshots around a new listener. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Snapshot } from "../../src/core/snapshot.js";
import { hostTestsUnavailable, runCli, Sandbox } from "./sandbox.js";

const unavailable = hostTestsUnavailable("snapshot-diff.test.ts");

describe.skipIf(unavailable !== null)("snapshot and diff", () => {
  const box = new Sandbox();
  const dir = mkdtempSync(join(tmpdir(), "socklens-snap-"));
  afterAll(async () => {
    await box.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes a default-named snapshot with metadata", () => {
    const r = runCli(["snapshot", "--role", "db"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[A-Za-z0-9._]+-db-\d{8}T\d{6}Z-socklens\.json$/);
    const snap = JSON.parse(readFileSync(join(dir, files[0] as string), "utf8")) as Snapshot;
    expect(snap.kind).toBe("SocklensSnapshot");
    expect(snap.metadata).toMatchObject({
      role: "db",
      kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
    });
    expect(snap.metadata.bootId).toBe(readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
    expect(snap.metadata.user).toMatch(/\(0\)$/);
    expect(Date.parse(snap.metadata.timestamp)).toBeGreaterThan(Date.now() - 60_000);
    expect(snap.sockets.length).toBeGreaterThan(0);
  });

  it("finds the listener that appeared between two snapshots, and nothing in a self-diff", async () => {
    const ns = box.netns("diff");
    // Something stable in the namespace before and after.
    await box.workload(ns, { title: "slwl-stable", listen: [{ proto: "tcp", host: "0.0.0.0", port: 7000 }] });
    const a = join(dir, "a.json");
    const b = join(dir, "b.json");
    expect(runCli(["snapshot", "-o", a]).code).toBe(0);
    await box.workload(ns, { title: "slwl-new", listen: [{ proto: "tcp", host: "0.0.0.0", port: 4444 }] });
    expect(runCli(["snapshot", "-o", b]).code).toBe(0);

    const same = runCli(["diff", a, a]);
    expect(same.code, same.stdout).toBe(0);
    expect(same.stdout).toContain("no differences");

    const json = runCli(["diff", a, b, "-o", "json", "--ignore-state-counts"]);
    expect(json.code).toBe(1);
    const d = JSON.parse(json.stdout) as {
      listenersAdded: { scope: string; port: number; process?: string }[];
      listenersRemoved: unknown[];
    };
    const ours = d.listenersAdded.filter((l) => l.scope === `netns:${ns}`);
    expect(ours).toEqual([
      { scope: `netns:${ns}`, protocol: "tcp", port: 4444, address: "0.0.0.0", process: "slwl-new" },
    ]);
    expect(d.listenersRemoved.filter((l) => (l as { scope: string }).scope === `netns:${ns}`)).toEqual([]);

    const table = runCli(["diff", a, b]);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(new RegExp(`\\+\\s+netns:${ns}\\s+tcp\\s+0\\.0\\.0\\.0:4444\\s+slwl-new`));
  });
});
