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
      /^socklens: permission denied on \d+ \/proc entries .*run as root, or grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH; showing what could be read$/,
    );
    expect(r.stdout.trim().split("\n").length).toBeGreaterThan(0);
    expect(r.stdout).toContain('"protocol":');
  });
});
