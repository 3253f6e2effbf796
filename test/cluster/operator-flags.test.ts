/**
 * `socklens operator --leader-elect=false`, as its usage line and docs/operator.md show it,
 * against the real API server (issue 14: it failed with "does not take an argument").
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../host/sandbox.js";
import { clusterContext } from "./env.js";

describe("operator booleans from the command line", () => {
  it.each([["--leader-elect=false"], ["--no-leader-elect"]])(
    "%s runs without a Lease and stops clean on SIGTERM",
    async (flag) => {
      const child = spawn(
        process.execPath,
        [join(REPO, "bin", "socklens.js"), "operator", flag, "--kubeconfig", clusterContext().kubeconfig],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      let stderr = "";
      const started = new Promise<void>((resolve, reject) => {
        child.stderr.on("data", (d: Buffer) => {
          stderr += d.toString("utf8");
          if (stderr.includes('"msg":"operator started"')) resolve();
        });
        child.once("exit", (code) => reject(new Error(`operator exited with ${code}: ${stderr}`)));
      });
      await started;
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.kill("SIGTERM");
      expect(await exited, stderr).toBe(0);
      expect(stderr).toContain('"leaderElect":false');
      expect(stderr).not.toContain("became leader");
      expect(stderr).not.toContain("does not take an argument");
    },
    60_000,
  );
});
