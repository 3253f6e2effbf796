/**
 * `socklens learn --seasonal` on a workload in a test network namespace: eight days of hourly
 * scans through an injected clock (the scans are real, the time between them is not) write
 * the weekly model of its counts into the baseline's `socklens.io/seasonal-model` annotation;
 * the file still validates, and the model read back from it judges the workload's usual count
 * usual and a hundredfold one not. Then `check` and `watch` with that file judge the live
 * count with it: the usual count passes, a jump to eleven times as many connections in the
 * same namespace is a SeasonalAnomaly naming the count, the usual range and the process; a
 * model that does not decode is an input error (exit 2) from validate, check and watch.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { decodeModels, SEASONAL_ANNOTATION } from "../../src/agent/seasonal-codec.js";
import { checkCommand, learnCommand } from "../../src/cli/baseline.js";
import { watchCommand } from "../../src/cli/watch.js";
import { SeasonalModels } from "../../src/core/memory/seasonal-models.js";
import { captureIO } from "../unit/capture.js";
import { hostTestsUnavailable, runCli, Sandbox } from "./sandbox.js";

const unavailable = hostTestsUnavailable("learn-seasonal.test.ts");
const MONDAY = Date.parse("2026-11-02T00:00:00Z");
const HOUR = 3_600_000;

describe.skipIf(unavailable !== null)("learn --seasonal", () => {
  const box = new Sandbox();
  const dir = mkdtempSync(join(tmpdir(), "socklens-learn-seasonal-"));
  const file = join(dir, "baseline.yaml");
  let app: string;

  beforeAll(async () => {
    app = box.netns("app");
    await box.workload(app, { title: "slwl-app", listen: [{ proto: "tcp", host: "127.0.0.1", port: 8080 }] });
    await box.workload(app, {
      title: "slwl-pool",
      connect: [{ proto: "tcp", host: "127.0.0.1", port: 8080, count: 3 }],
    });
  });
  afterAll(async () => {
    await box.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes a model of eight days that judges the usual count usual and a spike not", async () => {
    let now = MONDAY;
    const clock = {
      now: () => new Date(now),
      sleep: async (ms: number) => {
        now += ms;
      },
    };
    const { io, err } = captureIO(process.env);
    const args = ["--netns", app, "--duration", "8d", "--interval", "2h", "-o", file, "--name", "app"];
    const code = await learnCommand([...args, "--namespace", "shop", "--seasonal"], io, clock);
    expect(code, err()).toBe(0);
    expect(err()).toMatch(
      /seasonal model of 8 day\(s\) in annotation socklens\.io\/seasonal-model \(\d+ bytes gzipped\)\n/,
    );
    expect(runCli(["validate", file]).code).toBe(0);

    const doc = parse(readFileSync(file, "utf8")) as { metadata: { annotations: Record<string, string> } };
    const models = new SeasonalModels();
    models.load(decodeModels(doc.metadata.annotations[SEASONAL_ANNOTATION] as string), now);
    // The workload held 3 loopback connections (6 ESTABLISHED sockets, both ends) all along.
    const tuesday = MONDAY + 8 * 24 * HOUR + 14 * HOUR;
    expect(models.judge("shop/app", { ESTABLISHED: 6 }, tuesday)[0]).toMatchObject({
      anomalous: false,
      usual: { lo: 6, hi: 6 },
    });
    expect(models.judge("shop/app", { ESTABLISHED: 600 }, tuesday)[0]).toMatchObject({ anomalous: true });
  });

  const TUESDAY = MONDAY + 8 * 24 * HOUR + 14 * HOUR;
  type Record_ = { rule: string; message: string; count?: number; baseline?: string };
  const checkAt = async (at: number, extra: string[] = []) => {
    const { io, out, err } = captureIO(process.env);
    const code = await checkCommand(
      ["--baseline", file, "--netns", app, "-o", "json", ...extra],
      io,
      () => new Date(at),
    );
    const doc = code === 2 ? undefined : (JSON.parse(out()) as { results: { findings: Record_[] }[] });
    const seasonal =
      doc?.results.flatMap((r) => r.findings).filter((f) => f.rule === "SeasonalAnomaly") ?? [];
    return { code, err: err(), seasonal };
  };

  it("check judges the live count with the file's model: the usual count passes", async () => {
    const r = await checkAt(TUESDAY);
    expect(r.code, r.err).not.toBe(2);
    expect(r.seasonal).toEqual([]);
  });

  it("check and watch flag eleven times the usual connections, naming count, usual range and process", async () => {
    // 30 more connections in the same namespace: 66 ESTABLISHED sockets where 6 were usual.
    const burst = await box.workload(app, {
      title: "slwl-flood",
      connect: [{ proto: "tcp", host: "127.0.0.1", port: 8080, count: 30 }],
    });
    try {
      const r = await checkAt(TUESDAY);
      expect(r.code).toBe(1);
      expect(r.seasonal).toHaveLength(1);
      expect(r.seasonal[0]).toMatchObject({ rule: "SeasonalAnomaly", count: 66, baseline: "shop/app" });
      expect(r.seasonal[0]?.message).toMatch(
        /: 66 established connections, most to 127\.0\.0\.1:8080 \(\d+\) at 14:00 on a Tuesday; usually 6 at this hour on weekdays \(last 1 week, \d days\) — 11× the top of that range$/,
      );
      // The process holding most of them is named (the server's accepted ends, or the flood's).
      expect(r.seasonal[0]?.message).toMatch(/\(process slwl-(app|flood), pid \d+/);

      let now = TUESDAY;
      const clock = {
        now: () => now,
        sleep: async (ms: number) => {
          now += ms;
        },
      };
      const { io, out } = captureIO(process.env);
      const code = await watchCommand(
        ["--baseline", file, "--netns", app, "--interval", "1s", "--duration", "3s", "-o", "ndjson"],
        io,
        clock,
      );
      expect(code).toBe(1);
      const starts = out()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { event: string; rule?: string; count?: number })
        .filter((e) => e.event === "start" && e.rule === "SeasonalAnomaly");
      expect(starts).toHaveLength(1);
      expect(starts[0]?.count).toBe(66);
    } finally {
      burst.child.kill("SIGTERM");
      await new Promise((r) => burst.child.once("exit", r));
    }
  });

  it("a model that does not decode is an input error from validate, check and watch", async () => {
    const broken = join(dir, "broken.yaml");
    const doc = parse(readFileSync(file, "utf8")) as { metadata: { annotations: Record<string, string> } };
    doc.metadata.annotations[SEASONAL_ANNOTATION] = Buffer.from("not gzip").toString("base64");
    writeFileSync(broken, JSON.stringify(doc));
    const v = runCli(["validate", broken]);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain(
      `metadata.annotations["socklens.io/seasonal-model"]: not a seasonal model written by socklens learn --seasonal`,
    );
    const { io, err } = captureIO(process.env);
    expect(await checkCommand(["--baseline", broken, "--netns", app], io)).toBe(2);
    expect(err()).toContain("run learn --seasonal again or remove the annotation");
    const w = captureIO(process.env);
    expect(await watchCommand(["--baseline", broken, "--netns", app, "--duration", "1s"], w.io)).toBe(2);
    expect(w.err()).toContain("not a seasonal model");
  });
});
