/**
 * Issue 11 item 9: the real `socklens operator` process (dist/, the image's V8 flags) on a
 * real API server with 1,000 valid and 200 invalid NetworkBaselines: every valid one must
 * converge (Ready=True, the status written for its generation) and every invalid one must get
 * Ready=False with its reason and the field at fault. Memory and time are not asserted here
 * (the machine is shared and a timing assertion would be flaky): bench/cluster-scale measures
 * them on the same objects and bench/README.md records the figures.
 */
import { spawn } from "node:child_process";
import { openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { converged, createCluster, layout, listBaselines } from "../../bench/cluster-scale/fixtures.js";
import { REPO } from "../host/sandbox.js";
import { adminKubeConfig, clusterContext, uniqueName } from "./env.js";
import { applyCrds, repoCrds } from "./kube.js";
import { sleep } from "./process.js";

const VALID = 1000;
const INVALID = 200;

describe("operator with 1,000 valid and 200 invalid baselines (real API server, real operator process)", () => {
  const prefix = uniqueName("opscale");
  const logFile = join(tmpdir(), `${prefix}-operator.log`);
  const l = layout({
    nodes: 50,
    baselinesPerNode: 20,
    baselines: VALID,
    invalid: INVALID,
    namespaces: 20,
    learnEvery: 10,
    prefix,
  });
  const kc = adminKubeConfig();
  let child: ReturnType<typeof spawn> | undefined;

  beforeAll(async () => {
    await applyCrds(kc, await repoCrds(REPO));
    // Baselines only: pods and observations are the bench's (they change nothing here but time).
    await createCluster(kc, l, { concurrency: 24, withPods: false });
    child = spawn(
      process.execPath,
      [
        "--max-semi-space-size=2",
        "--max-old-space-size=128",
        join(REPO, "bin/socklens.js"),
        "operator",
        "--kubeconfig",
        clusterContext().kubeconfig,
        "--no-leader-elect",
      ],
      { stdio: ["ignore", openSync(logFile, "w"), openSync(logFile, "a")] },
    );
  }, 600_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child?.once("exit", r));
    }
    rmSync(logFile, { force: true });
  });

  it("converges every valid baseline and rejects every invalid one with its reason", async () => {
    const mine = async () =>
      (await listBaselines(kc)).filter((b) => b.metadata?.namespace?.startsWith(`${prefix}-`));
    let all = await mine();
    for (let i = 0; i < 600 && all.filter(converged).length < VALID + INVALID; i++) {
      if (child?.exitCode !== null)
        throw new Error(
          `the operator exited (${child?.exitCode}):\n${readFileSync(logFile, "utf8").slice(-3000)}`,
        );
      await sleep(1000);
      all = await mine();
    }
    expect(all).toHaveLength(VALID + INVALID);
    const ready = (b: (typeof all)[number]) => b.status?.conditions?.find((c) => c.type === "Ready");
    const valid = all.filter((b) => b.metadata?.name?.startsWith("wl-"));
    const invalid = all.filter((b) => b.metadata?.name?.startsWith("broken-"));
    expect(valid).toHaveLength(VALID);
    expect(invalid).toHaveLength(INVALID);
    const notReady = valid.filter((b) => !converged(b) || ready(b)?.status !== "True");
    expect(
      notReady.map((b) => `${b.metadata?.namespace}/${b.metadata?.name}: ${JSON.stringify(ready(b))}`),
    ).toEqual([]);
    for (const b of invalid) {
      expect(converged(b)).toBe(true);
      expect(ready(b)).toMatchObject({ status: "False", reason: "InvalidSpec" });
      // The reason names the field at fault, so a human can fix it.
      expect(ready(b)?.message).toMatch(/spec\.egress.*except/);
    }
  }, 900_000);
});
