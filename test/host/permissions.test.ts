/** Without root, the scan says once what is missing and still prints what it could read. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostTestsUnavailable, REPO } from "./sandbox.js";

const noSetpriv =
  spawnSync("setpriv", ["--version"]).status === 0 ? null : "setpriv (util-linux) is not installed";
if (noSetpriv) console.warn(`SKIPPED permissions.test.ts: ${noSetpriv}`);
const unavailable = hostTestsUnavailable("permissions.test.ts") ?? noSetpriv;

describe.skipIf(unavailable !== null)("scan as an unprivileged user", () => {
  it("prints one permission hint on stderr, exits 0 and lists its own namespace's sockets", () => {
    const r = spawnSync(
      "setpriv",
      [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        process.execPath,
        join(REPO, "bin", "socklens.js"),
        "scan",
        "-o",
        "ndjson",
        "--proto",
        "tcp,udp",
      ],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^socklens: permission denied on \d+ \/proc entries of pids? \d+(, \d+)*(, …)? \(e\.g\. .*\): run as root, or grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH; showing what could be read$/,
    );
    expect(r.stdout.trim().split("\n").length).toBeGreaterThan(0);
    expect(r.stdout).toContain('"protocol":');
  });

  it("as root without CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH: says to grant them, never to run as root", () => {
    const r = spawnSync(
      "setpriv",
      [
        "--inh-caps=-all",
        "--bounding-set=-sys_ptrace,-dac_read_search,-dac_override",
        process.execPath,
        join(REPO, "bin", "socklens.js"),
        "scan",
        "-o",
        "ndjson",
        "--proto",
        "tcp,udp",
      ],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    const line = r.stderr.split("\n").find((l) => l.includes("/proc entr"));
    expect(line, r.stderr).toMatch(/^socklens: permission denied on \d+ \/proc entries of pids? \d+/);
    expect(line).toContain("running as root without them: grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH");
    expect(line).not.toContain("run as root");
  });
});

describe.skipIf(hostTestsUnavailable("permissions.test.ts") !== null)("scan as root", () => {
  it("never advises root to run as root; what root could not read is named by pid", () => {
    const r = spawnSync(process.execPath, [join(REPO, "bin", "socklens.js"), "scan", "-o", "ndjson"], {
      encoding: "utf8",
      maxBuffer: 512 * 1024 * 1024,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("run as root");
    const line = r.stderr.split("\n").find((l) => l.includes("/proc entr"));
    if (line === undefined) {
      console.warn(
        "permissions.test.ts: root read every /proc entry here; only the absence of advice was checked",
      );
      return;
    }
    // Here (a sandbox whose init even root cannot read): the pids, and whose limit it is.
    expect(line).toMatch(/^socklens: root could not read \d+ \/proc entr(y|ies) of pids? \d+/);
  });
});
