/** Exit codes and messages for bad input: always 2, always naming the bad argument or file. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";

function capture(env: NodeJS.ProcessEnv = {}) {
  const io = { out: "", err: "" };
  return {
    io,
    cli: {
      out: (t: string) => {
        io.out += t;
      },
      err: (t: string) => {
        io.err += t;
      },
      env: { HOST_RUN_NETNS: "/nonexistent-socklens", ...env },
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), "socklens-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("socklens CLI input errors", () => {
  it.each([
    [["scan", "--proto", "sctp"], /--proto: "sctp"/],
    [["scan", "--state", "NAPPING"], /--state: "NAPPING" is not a socket state/],
    [["scan", "--port", "70000"], /--port: "70000"/],
    [["scan", "--pid", "abc"], /--pid: "abc"/],
    [["scan", "--netns", "no-such-ns"], /--netns: no namespace named "no-such-ns"/],
    [["scan", "--container", "xyz"], /--container: "xyz"/],
    [["scan", "--pod-uid", "nope"], /--pod-uid: "nope"/],
    [["scan", "-o", "xml"], /-o\/--output: "xml"/],
    [["scan", "--mask", "10.0.0.0/33"], /--mask: "10.0.0.0\/33" is not a CIDR/],
    [["scan", "--bogus"], /Unknown option '--bogus'/],
    [["frobnicate"], /unknown command "frobnicate"/],
    [["diff", "only-one.json"], /diff needs two snapshot files, got 1/],
  ])("%j exits 2", async (argv, message) => {
    const { io, cli } = capture();
    expect(await main(argv, cli)).toBe(2);
    expect(io.err).toMatch(message);
  });

  it("names the file that is not a snapshot", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ kind: "Other" }));
    const notJson = join(dir, "not.json");
    writeFileSync(notJson, "{");
    for (const [file, why] of [
      [bad, /"kind" is "Other"/],
      [notJson, /not valid JSON/],
      [join(dir, "missing.json"), /cannot read/],
    ] as const) {
      const { io, cli } = capture();
      expect(await main(["diff", file, file], cli)).toBe(2);
      expect(io.err).toContain(file);
      expect(io.err).toMatch(why);
    }
  });

  it("prints help with exit 0 and bare usage with exit 2", async () => {
    const a = capture();
    expect(await main(["scan", "--help"], a.cli)).toBe(0);
    expect(a.io.out).toContain("--listening");
    const b = capture();
    expect(await main([], b.cli)).toBe(2);
    expect(b.io.out).toContain("Commands:");
  });
});
