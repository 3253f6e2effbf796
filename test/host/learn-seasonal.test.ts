/**
 * `socklens learn --seasonal` on a workload in a test network namespace: eight days of hourly
 * scans through an injected clock (the scans are real, the time between them is not) write
 * the weekly model of its counts into the baseline's `socklens.io/seasonal-model` annotation;
 * the file still validates, and the model read back from it judges the workload's usual count
 * usual and a hundredfold one not.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { decodeModels, SEASONAL_ANNOTATION } from "../../src/agent/seasonal-codec.js";
import { learnCommand } from "../../src/cli/baseline.js";
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
});
