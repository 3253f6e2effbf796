// The harness itself must fail loudly: a missing tool or an API server that does not come
// up has to turn into a red test with a message that says what to do, never a silent pass.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ControlPlane, ControlPlaneStartError } from "./controlplane.js";
import { buildScript, requireTool } from "./tools.js";

const savedCache = process.env.SOCKLENS_TOOLS_CACHE;

afterEach(() => {
  if (savedCache === undefined) delete process.env.SOCKLENS_TOOLS_CACHE;
  else process.env.SOCKLENS_TOOLS_CACHE = savedCache;
});

describe("test harness", () => {
  it("fails with the build command in the message when a tool is not built", async () => {
    const empty = await mkdtemp(join(tmpdir(), "socklens-no-tools-"));
    try {
      process.env.SOCKLENS_TOOLS_CACHE = empty;
      expect(() => requireTool("helm")).toThrow(`is not built: ${join(empty, "helm-")}`);
      expect(() => requireTool("helm")).toThrow(`Run ${buildScript}`);
      await expect(ControlPlane.start()).rejects.toThrow(/etcd v3\.\d+\.\d+ is not built/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it("reports the API server's own log when it cannot start, and keeps its files", async () => {
    const err = await ControlPlane.start({ apiServerFlags: ["--no-such-flag=1"] }).then(
      () => {
        throw new Error("kube-apiserver started despite an unknown flag");
      },
      (e: Error) => e,
    );
    expect(err.message).toContain("kube-apiserver exited while waiting for kube-apiserver /readyz");
    expect(err.message).toContain("unknown flag: --no-such-flag");
    expect(err.message).toMatch(/--- tail of .*etcd\.log ---/);
    expect(err).toBeInstanceOf(ControlPlaneStartError);
    const { dir } = err as ControlPlaneStartError;
    expect(err.message).toContain(`files kept in ${dir}`);
    expect(existsSync(join(dir, "kube-apiserver.log"))).toBe(true);
    await rm(dir, { recursive: true, force: true });
  });
});
