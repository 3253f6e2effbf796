/**
 * `socklens learn` as a real child process (issue 14): it lasts its --duration, shows
 * progress only on a terminal (a real pty from script(1)), and on a real Ctrl-C (typed into
 * that pty, so the kernel's line discipline sends SIGINT) or SIGTERM writes what it learned.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hostTestsUnavailable, REPO, runCli } from "./sandbox.js";

const noScript =
  spawnSync("script", ["--version"]).status === 0 ? null : "script (util-linux) is not installed";
if (noScript) console.warn(`SKIPPED the terminal cases of learn-signal.test.ts: ${noScript}`);
const unavailable = hostTestsUnavailable("learn-signal.test.ts");
const CLI = join(REPO, "bin", "socklens.js");

/** The header's "from … to …" as milliseconds apart, and its observation count. */
function header(text: string): { ms: number; observations: number } {
  const m = /^# from (\S+) to (\S+) \((\d+) observations/m.exec(text);
  if (!m) throw new Error(`no "from … to …" line in:\n${text}`);
  return { ms: Date.parse(m[2] as string) - Date.parse(m[1] as string), observations: Number(m[3]) };
}

/** Resolves with everything the child wrote once `pattern` shows up in it. */
function waitFor(child: ChildProcess, stream: "stdout" | "stderr", pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    child[stream]?.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      if (pattern.test(text)) resolve(text);
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code} before ${pattern}: ${text}`)));
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; out: string; err: string }> {
  let out = "";
  let err = "";
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString("utf8");
  });
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString("utf8");
  });
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, out, err })));
}

describe.skipIf(unavailable !== null)("socklens learn as a child process", () => {
  const dir = mkdtempSync(join(tmpdir(), "socklens-learn-signal-"));
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.pid) process.kill(c.pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("lasts its --duration even when the interval does not divide it, and shows no progress off a terminal", () => {
    const file = join(dir, "duration.yaml");
    // Before the fix: a look at 0 s and 3 s, then done at ~3 s. Now: 0 s, 3 s and 4 s (or 0 s and
    // 4 s when the first look takes over a second on a busy machine: the sleep ends at the deadline).
    const r = runCli(["learn", "--duration", "4s", "--interval", "3s", "-o", file]);
    expect(r.code, r.stderr).toBe(0);
    const h = header(readFileSync(file, "utf8"));
    expect(h.ms).toBeGreaterThanOrEqual(4000);
    expect(h.observations).toBeGreaterThanOrEqual(2);
    // stderr is a pipe here: no progress line, no carriage return; the final line only.
    expect(r.stderr).not.toContain("\r");
    expect(r.stderr).not.toMatch(/^learning /m);
    expect(r.stderr).toMatch(/socklens: wrote a baseline from \d+ observations to /);
  }, 60_000);

  it.skipIf(noScript !== null)(
    "on a terminal: progress as it goes, and Ctrl-C writes what was learned so far",
    async () => {
      const file = join(dir, "interrupted.yaml");
      // script(1) gives the child a real pty; -e passes on its exit status.
      const child = spawn(
        "script",
        ["-qfec", `${process.execPath} ${CLI} learn --duration 10m --interval 1s -o ${file}`, "/dev/null"],
        { stdio: ["pipe", "pipe", "pipe"] },
      );
      children.push(child);
      const done = exited(child);
      const progress = await waitFor(
        child,
        "stdout",
        /learning host netns .*: \d+ s of 10m, 2 observation\(s\): \d+ listener/,
      );
      expect(progress).toContain("\r\x1b[K");
      expect(progress).toContain("(Ctrl-C writes what was learned so far)");
      child.stdin?.write("\x03");
      const { code, out } = await done;
      expect(code, out).toBe(130);
      expect(out).toMatch(
        /socklens: interrupted by SIGINT after \d+ s: wrote what was learned from \d+ observation\(s\) to /,
      );
      const text = readFileSync(file, "utf8");
      expect(text).toContain("# Interrupted by SIGINT before the 10m were over");
      expect(text).toContain("kind: NetworkBaseline");
      expect(header(text).observations).toBeGreaterThanOrEqual(2);
    },
    60_000,
  );

  it("SIGTERM off a terminal: writes the baseline to stdout and says so on stderr", async () => {
    const child = spawn(
      process.execPath,
      [CLI, "learn", "--duration", "10m", "--interval", "1s", "--debug"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    children.push(child);
    const done = exited(child);
    // --debug prints this after the first look, when the signal handlers are in place.
    await waitFor(child, "stderr", /processes seen/);
    child.kill("SIGTERM");
    const { code, out, err } = await done;
    expect(code, err).toBe(143);
    expect(err).toMatch(
      /socklens: interrupted by SIGTERM after \d+ s: wrote what was learned from \d+ observation\(s\) to stdout/,
    );
    expect(err).not.toContain("\r");
    expect(out).toContain("# Interrupted by SIGTERM before the 10m were over");
    expect(out).toContain("kind: NetworkBaseline");
  }, 60_000);
});
