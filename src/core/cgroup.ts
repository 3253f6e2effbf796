/**
 * Container and pod identity from the text of /proc/<pid>/cgroup.
 *
 * Supported path shapes (each has a fixture in cgroup.test.ts):
 *  - systemd driver, cgroup v2 or v1:
 *    /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope
 *    …/kubepods-pod<uid>.slice/crio-<id>.scope (guaranteed QoS has no QoS slice), docker-<id>.scope
 *  - cgroupfs driver: /kubepods/burstable/pod<uid>/<id>, /kubepods/pod<uid>/<id>, …/pod<uid>/crio-<id>
 *  - nested kubelets (kind, k3s in docker): any prefix before the kubepods part
 *  - plain containers outside Kubernetes: /docker/<id>, /system.slice/docker-<id>.scope,
 *    /machine.slice/libpod-<id>.scope (podman), /system.slice/cri-containerd-<id>.scope
 * cgroup v2 has one line `0::<path>`; v1 has one line per hierarchy. We prefer the v2 line
 * and fall back to any v1 line that names a container, because hybrid hosts put the
 * container's path in the v1 hierarchies while the v2 line may be just "/".
 */
import type { ContainerRef, ContainerRuntime } from "./socket.js";

export interface CgroupIdentity {
  container?: ContainerRef;
  podUid?: string;
  /** The path the identity came from, for --debug and tests. */
  path?: string;
}

const ID = "[0-9a-f]{64}";
const SCOPE_PREFIXES: [RegExp, ContainerRuntime][] = [
  [new RegExp(`^cri-containerd-(${ID})\\.scope$`), "containerd"],
  [new RegExp(`^crio-(${ID})(?:\\.scope)?$`), "cri-o"],
  [new RegExp(`^docker-(${ID})\\.scope$`), "docker"],
  [new RegExp(`^libpod-(${ID})(?:\\.scope)?$`), "podman"],
];
const BARE_ID = new RegExp(`^(${ID})$`);
// The pod UID is 36 characters; the systemd driver writes its dashes as underscores.
const POD_SEGMENT =
  /(?:^|-)pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$/;

/** Identity from one cgroup path. */
export function identityFromPath(path: string): CgroupIdentity {
  const segments = path.split("/").filter((s) => s !== "");
  const inKubepods = segments.some((s) => s.includes("kubepods"));
  const result: CgroupIdentity = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] ?? "";
    if (inKubepods) {
      const pod = POD_SEGMENT.exec(seg);
      if (pod?.[1]) result.podUid = pod[1].replaceAll("_", "-");
    }
    for (const [re, runtime] of SCOPE_PREFIXES) {
      const m = re.exec(seg);
      if (m?.[1]) result.container = { id: m[1], runtime };
    }
    const bare = BARE_ID.exec(seg);
    if (bare?.[1]) {
      // A bare id under /docker/ is Docker; under a kubepods pod directory (cgroupfs driver) the
      // path does not say which runtime made it.
      const parent = segments[i - 1] ?? "";
      const runtime: ContainerRuntime = parent === "docker" ? "docker" : "unknown";
      result.container = { id: bare[1], runtime };
    }
  }
  if (result.container || result.podUid) result.path = path;
  return result;
}

/** Identity from the whole /proc/<pid>/cgroup text. Never throws. */
export function parseCgroupFile(text: string): CgroupIdentity {
  let fallback: CgroupIdentity = {};
  for (const line of text.split("\n")) {
    // hierarchy-ID:controller-list:path — the path itself may contain ':'.
    const first = line.indexOf(":");
    const second = first >= 0 ? line.indexOf(":", first + 1) : -1;
    if (second < 0) continue;
    const identity = identityFromPath(line.slice(second + 1));
    if (!identity.path) continue;
    if (line.startsWith("0::")) return identity;
    if (!fallback.path || (identity.container && !fallback.container)) fallback = identity;
  }
  return fallback;
}
