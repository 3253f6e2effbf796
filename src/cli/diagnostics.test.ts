import { describe, expect, it } from "vitest";
import { emptyDiagnostics, noteDenied, pidOfPath } from "../procfs/diagnostics.js";
import { permissionLine } from "./diagnostics.js";

describe("pidOfPath", () => {
  it.each([
    ["/proc/1/ns/net", 1],
    ["/host/proc/812/fd/3", 812],
    ["/tmp/12/proc/5/ns/net", 5],
    ["/proc/77/task/78/ns/net", 78],
    ["/proc/net/tcp", undefined],
  ])("%s → %s", (path, pid) => {
    expect(pidOfPath(path)).toBe(pid);
  });
});

describe("the permission line fits who runs socklens", () => {
  const diag = emptyDiagnostics();
  for (const p of ["/proc/1/ns/net", "/proc/1/fd", "/proc/4242/fd"]) noteDenied(diag, p);

  it("as root with the capabilities: names the pids, says root could not read them, no advice to run as root", () => {
    const line = permissionLine(diag, { root: true, capabilities: true });
    expect(line).toMatch(
      /^socklens: root could not read 3 \/proc entries of pids 1, 4242 \(e\.g\. \/proc\/1\/ns\/net/,
    );
    expect(line).not.toMatch(/run as root|grant/);
  });

  it("as root without CAP_SYS_PTRACE/CAP_DAC_READ_SEARCH: says to grant them, not to run as root", () => {
    const line = permissionLine(diag, { root: true, capabilities: false });
    expect(line).toContain("grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH");
    expect(line).not.toContain("run as root");
  });

  it("as another user: the pids and the advice to run as root", () => {
    const line = permissionLine(diag, { root: false, capabilities: false });
    expect(line).toMatch(
      /^socklens: permission denied on 3 \/proc entries of pids 1, 4242 \(e\.g\. .*\): run as root, or grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH; showing what could be read\n$/,
    );
  });

  it("one pid is one pid", () => {
    const one = emptyDiagnostics();
    noteDenied(one, "/proc/1/ns/net");
    expect(permissionLine(one, { root: true, capabilities: true })).toContain("1 /proc entry of pid 1 (");
  });
});
