/**
 * listProcesses names a process's pod only when its cgroup is one of the pod's containers.
 * Found with real containers (test/image/pods.test.ts): podman puts its monitor, conmon, in
 * the pod's cgroup parent (`…/pod<uid>/conmon`, as CRI-O does with conmon_cgroup = "pod"),
 * in the host's network namespace; the agent then took the host namespace for the pod's and
 * reported the host's listeners as the pod's.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listProcesses } from "../../src/procfs/processes.js";

const UID = "11111111-2222-3333-4444-555555555555";
const ID = "a".repeat(64);
let root: string;

function proc(pid: number, netns: number, cgroup: string): void {
  const dir = join(root, String(pid));
  mkdirSync(join(dir, "ns"), { recursive: true });
  symlinkSync(`net:[${netns}]`, join(dir, "ns", "net"));
  writeFileSync(join(dir, "comm"), "p\n");
  writeFileSync(join(dir, "cmdline"), "p\0");
  writeFileSync(join(dir, "status"), "Name:\tp\nPPid:\t1\nUid:\t0\t0\t0\t0\n");
  writeFileSync(join(dir, "cgroup"), cgroup);
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "socklens-processes-"));
  // conmon: the pod's cgroup, no container, the host's netns.
  proc(10, 4026531833, `8:pids:/kubepods/besteffort/pod${UID}/conmon\n0::/\n`);
  // the container's process: the pod's cgroup and a container, its own netns.
  proc(11, 4026532250, `8:pids:/kubepods/besteffort/pod${UID}/libpod-${ID}\n0::/\n`);
  // the same two as CRI-O with conmon_cgroup = "pod" and the systemd driver (cgroup v2).
  const slice = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID.replaceAll("-", "_")}.slice`;
  proc(12, 4026531833, `0::${slice}/crio-conmon-${ID}.scope\n`);
  proc(13, 4026532251, `0::${slice}/crio-${ID}.scope\n`);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("listProcesses", () => {
  it("names the pod of a container's process, not of a runtime monitor in the pod's cgroup", () => {
    const byPid = new Map(listProcesses({ proc: root }).map((p) => [p.pid, p.podUid]));
    expect(Object.fromEntries(byPid)).toEqual({ 10: undefined, 11: UID, 12: undefined, 13: UID });
  });
});
