import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseCgroupFile } from "./cgroup.js";

const CID = "4f2ac1a3d9e8b7c6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2";
const UID = "0f3c8d2e-6a1b-4c5d-9e8f-7a6b5c4d3e2f";
const UID_ = UID.replaceAll("-", "_");

// Each fixture is what /proc/<pid>/cgroup looks like for that setup.
describe("parseCgroupFile: supported path shapes", () => {
  it.each([
    {
      name: "cgroup v2, systemd driver, containerd, burstable",
      text: `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${CID}.scope\n`,
      want: { container: { id: CID, runtime: "containerd" }, podUid: UID },
    },
    {
      name: "cgroup v2, systemd driver, CRI-O, guaranteed (no QoS slice)",
      text: `0::/kubepods.slice/kubepods-pod${UID_}.slice/crio-${CID}.scope\n`,
      want: { container: { id: CID, runtime: "cri-o" }, podUid: UID },
    },
    {
      name: "cgroup v2, systemd driver, cri-dockerd",
      text: `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/docker-${CID}.scope\n`,
      want: { container: { id: CID, runtime: "docker" }, podUid: UID },
    },
    {
      name: "cgroup v1, cgroupfs driver (k3s, kubeadm with cgroupfs): runtime not in the path",
      text: `12:pids:/kubepods/burstable/pod${UID}/${CID}\n11:memory:/kubepods/burstable/pod${UID}/${CID}\n1:name=systemd:/kubepods/burstable/pod${UID}/${CID}\n0::/\n`,
      want: { container: { id: CID, runtime: "unknown" }, podUid: UID },
    },
    {
      name: "cgroup v1, cgroupfs driver, CRI-O, guaranteed",
      text: `5:cpu,cpuacct:/kubepods/pod${UID}/crio-${CID}\n`,
      want: { container: { id: CID, runtime: "cri-o" }, podUid: UID },
    },
    {
      name: "kind node (kubelet nested under a container's cgroup)",
      text: `0::/system.slice/docker-${"a".repeat(64)}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${CID}.scope\n`,
      want: { container: { id: CID, runtime: "containerd" }, podUid: UID },
    },
    {
      name: "pod sandbox-level process (pod cgroup, no container)",
      text: `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice\n`,
      want: { podUid: UID },
    },
    {
      name: "plain Docker, cgroup v1",
      text: `3:memory:/docker/${CID}\n`,
      want: { container: { id: CID, runtime: "docker" } },
    },
    {
      name: "plain Docker, cgroup v2 systemd",
      text: `0::/system.slice/docker-${CID}.scope\n`,
      want: { container: { id: CID, runtime: "docker" } },
    },
    {
      name: "podman",
      text: `0::/machine.slice/libpod-${CID}.scope/container\n`,
      want: { container: { id: CID, runtime: "podman" } },
    },
    {
      name: "hybrid host: v2 line is '/', container in the v1 lines",
      text: `9:name=systemd:/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${CID}.scope\n0::/\n`,
      want: { container: { id: CID, runtime: "containerd" }, podUid: UID },
    },
  ])("$name", ({ text, want }) => {
    const got = parseCgroupFile(text);
    expect({ container: got.container, podUid: got.podUid }).toEqual({
      container: undefined,
      podUid: undefined,
      ...want,
    });
  });

  it.each([
    ["a host process", "0::/system.slice/sshd.service\n"],
    ["a user session", "0::/user.slice/user-1000.slice/session-3.scope\n"],
    ["root", "0::/\n"],
    ["empty file", ""],
    ["a pod-like segment outside kubepods", `0::/system.slice/pod${UID}.slice\n`],
  ])("no identity for %s", (_n, text) => {
    expect(parseCgroupFile(text)).toEqual({});
  });

  it("never throws (property)", () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (s) => void parseCgroupFile(s)));
  });
});
