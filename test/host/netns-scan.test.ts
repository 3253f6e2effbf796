/**
 * `socklens scan` against the machine's real /proc: three network namespaces made for the
 * test, TCP and UDP over IPv4 and IPv6, listeners and established connections, and one
 * process in a cgroup shaped like a kubelet pod path.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "../../src/core/socket.js";
import { hostTestsUnavailable, runCli, Sandbox, type Workload, type WorkloadSocket } from "./sandbox.js";

const unavailable = hostTestsUnavailable("netns-scan.test.ts");

const POD_UID = "7c1e4b2a-9d3f-4e5a-8b6c-1d2e3f4a5b6c";
const CONTAINER_ID = "c0ffee".padEnd(64, "5");
const POD_UID_V2 = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const CONTAINER_ID_V2 = "beef".padEnd(64, "7");

describe.skipIf(unavailable !== null)("socklens scan on real network namespaces", () => {
  const box = new Sandbox();
  let nsA: string;
  let nsB: string;
  let nsC: string;
  let server: Workload;
  let client: Workload;
  let pod: Workload;
  let podV2: Workload | undefined;
  let sockets: Socket[];
  let stderr: string;

  beforeAll(async () => {
    nsA = box.netns("a");
    nsB = box.netns("b");
    nsC = box.netns("c");
    box.veth(nsA, nsB, ["10.231.7.1", "10.231.7.2"], ["fd00:5c:7::1", "fd00:5c:7::2"]);
    server = await box.workload(nsA, {
      title: "slwl-server",
      listen: [
        { proto: "tcp", host: "0.0.0.0", port: 8080 },
        { proto: "tcp", host: "::", port: 8443, ipv6Only: true },
        { proto: "udp", host: "0.0.0.0", port: 5353 },
        { proto: "udp", host: "::", port: 5354, ipv6Only: true },
      ],
    });
    client = await box.workload(nsB, {
      title: "slwl-client",
      connect: [
        { proto: "tcp", host: "10.231.7.1", port: 8080 },
        { proto: "tcp", host: "fd00:5c:7::1", port: 8443 },
        { proto: "udp", host: "10.231.7.1", port: 5353 },
        { proto: "udp", host: "fd00:5c:7::1", port: 5354 },
      ],
    });
    // A "pod": listener plus a connection to itself, in a systemd-driver kubepods cgroup (v1 pids hierarchy).
    pod = await box.workload(nsC, {
      title: "slwl-pod",
      listen: [{ proto: "tcp", host: "127.0.0.1", port: 9090 }],
      connect: [{ proto: "tcp", host: "127.0.0.1", port: 9090 }],
    });
    box.cgroup(
      "/sys/fs/cgroup/pids",
      `${box.id}.slice/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID.replaceAll("-", "_")}.slice/cri-containerd-${CONTAINER_ID}.scope`,
      pod.pid,
    );
    // The same pod shape through the cgroup v2 hierarchy with the cgroupfs driver's layout.
    if (existsSync("/sys/fs/cgroup/unified/cgroup.procs") || existsSync("/sys/fs/cgroup/cgroup.procs")) {
      const v2 = existsSync("/sys/fs/cgroup/unified/cgroup.procs")
        ? "/sys/fs/cgroup/unified"
        : "/sys/fs/cgroup";
      podV2 = await box.workload(nsC, {
        title: "slwl-pod-v2",
        listen: [{ proto: "udp", host: "::1", port: 6000 }],
      });
      box.cgroup(v2, `${box.id}/kubepods/burstable/pod${POD_UID_V2}/${CONTAINER_ID_V2}`, podV2.pid);
    } else {
      console.warn(
        "cgroup v2 case skipped: no cgroup2 hierarchy mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified",
      );
    }
    // -a: unix sockets too (the default, as netstat -tan, leaves them out).
    const r = runCli(["scan", "-a", "-o", "ndjson"]);
    expect(r.code, r.stderr).toBe(0);
    stderr = r.stderr;
    sockets = r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Socket);
  });

  afterAll(async () => {
    await box.cleanup();
  });

  // The workloads' stdio pipes are unix socketpairs made by the test runner in the host
  // namespace: they are reported there, correctly, so inet assertions leave unix out.
  const inet = (s: Socket) => s.protocol !== "unix";

  function find(w: Workload, ws: WorkloadSocket): Socket[] {
    return sockets.filter(
      (s) =>
        s.protocol === ws.proto &&
        s.state === ws.state &&
        s.netns === w.netns &&
        s.localPort === ws.localPort &&
        s.localAddress === ws.localAddress &&
        (ws.remotePort === undefined ||
          (s.remotePort === ws.remotePort && s.remoteAddress === ws.remoteAddress)),
    );
  }

  it("prints no error for a normal scan", () => {
    expect(stderr).not.toMatch(/malformed/);
  });

  it("gives every namespace its own inode and name", () => {
    const inodes = new Set([server.netns, client.netns, pod.netns]);
    expect(inodes.size).toBe(3);
    expect(server.netns).toBe(box.nsInode(nsA));
    for (const [w, name] of [
      [server, nsA],
      [client, nsB],
      [pod, nsC],
    ] as const) {
      const mine = sockets.filter((s) => s.pid === w.pid && inet(s));
      expect(mine.length).toBeGreaterThan(0);
      for (const s of mine) expect(s).toMatchObject({ netns: w.netns, netnsName: name });
    }
  });

  it("reports each listener and connection with its namespace, pid and process", () => {
    for (const w of [server, client, pod]) {
      expect(w.sockets.length).toBeGreaterThan(0);
      for (const ws of w.sockets) {
        const found = find(w, ws);
        expect(found, `${JSON.stringify(ws)} in netns ${w.netns}`).toHaveLength(1);
        expect(found[0]).toMatchObject({ state: ws.state, pid: w.pid, netns: w.netns });
        expect(found[0]?.process).toMatch(/^slwl-/);
      }
    }
  });

  it("covers TCP and UDP over IPv4 and IPv6", () => {
    const mine = sockets.filter((s) => (s.pid === server.pid || s.pid === client.pid) && inet(s));
    const kinds = new Set(mine.map((s) => `${s.protocol}/${s.family}/${s.state}`));
    expect([...kinds].sort()).toEqual([
      "tcp/inet/ESTABLISHED",
      "tcp/inet/LISTEN",
      "tcp/inet6/ESTABLISHED",
      "tcp/inet6/LISTEN",
      "udp/inet/ESTABLISHED",
      "udp/inet/UNCONN",
      "udp/inet6/ESTABLISHED",
      "udp/inet6/UNCONN",
    ]);
    const v6 = mine.find((s) => s.pid === client.pid && s.protocol === "tcp" && s.family === "inet6");
    expect(v6?.remoteAddress).toBe("fd00:5c:7::1");
  });

  it("sees the server's accepted connections from the client's namespace", () => {
    const accepted = sockets.filter(
      (s) => s.netns === server.netns && s.state === "ESTABLISHED" && s.protocol === "tcp",
    );
    expect(accepted.map((s) => `${s.remoteAddress}`).sort()).toEqual(["10.231.7.2", "fd00:5c:7::2"]);
    for (const s of accepted) expect(s.pid).toBe(server.pid);
  });

  it("attributes the pod's sockets to its container and pod UID (cgroup v1, systemd driver)", () => {
    const mine = sockets.filter((s) => s.pid === pod.pid && s.protocol === "tcp");
    expect(mine.length).toBe(3); // listener, client end, accepted end
    for (const s of mine) {
      expect(s.container).toEqual({ id: CONTAINER_ID, runtime: "containerd" });
      expect(s.pod).toEqual({ uid: POD_UID });
    }
    expect(sockets.filter((s) => s.pid === server.pid).every((s) => s.container === undefined)).toBe(true);
  });

  it("attributes a pod through the cgroup v2 hierarchy (cgroupfs driver layout)", (ctx) => {
    if (!podV2) {
      console.warn(
        "SKIPPED cgroup v2 case: no cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified",
      );
      return ctx.skip("no cgroup2 hierarchy on this machine");
    }
    const mine = sockets.filter((s) => s.pid === podV2?.pid && inet(s));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ protocol: "udp", family: "inet6", localAddress: "::1", localPort: 6000 });
    expect(mine[0]?.container).toEqual({ id: CONTAINER_ID_V2, runtime: "unknown" });
    expect(mine[0]?.pod).toEqual({ uid: POD_UID_V2 });
  });

  it("filters by namespace name, container, pod and state", () => {
    const byName = runCli(["scan", "-o", "ndjson", "--netns", nsA, "--proto", "tcp", "--listening"]);
    expect(byName.code).toBe(0);
    const listeners = byName.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Socket);
    expect(listeners.map((s) => s.localPort).sort()).toEqual([8080, 8443]);

    const byContainer = runCli([
      "scan",
      "-o",
      "ndjson",
      "--proto",
      "tcp,udp",
      "--container",
      CONTAINER_ID.slice(0, 12),
    ]);
    const c = byContainer.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Socket);
    expect(c.length).toBe(3);
    expect(c.every((s) => s.pid === pod.pid)).toBe(true);

    const byPod = runCli([
      "scan",
      "-o",
      "ndjson",
      "--pod-uid",
      POD_UID,
      "--state",
      "established",
      "--proto",
      "tcp",
    ]);
    const p = byPod.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Socket);
    expect(p.length).toBe(2);
  });

  it("shows the namespace and container columns in the table and a summary", () => {
    const table = runCli(["scan", "--netns", `${nsC},${nsA}`, "--proto", "tcp"]);
    expect(table.stdout.split("\n")[0]).toMatch(
      /^Proto\s+Recv-Q\s+Send-Q\s+Local Address\s+Foreign Address\s+State\s+PID\/Program\s+Netns\s+Container\/Pod$/,
    );
    expect(table.stdout).toContain(`${pod.pid}/slwl-pod`);
    expect(table.stdout).toContain(`${CONTAINER_ID.slice(0, 12)} pod:${POD_UID}`);
    const summary = runCli(["scan", "--summary", "--netns", nsC, "-o", "json"]);
    const rows = JSON.parse(summary.stdout) as {
      container?: string;
      protocol: string;
      states: Record<string, number>;
    }[];
    expect(rows.find((r) => r.container === CONTAINER_ID && r.protocol === "tcp")?.states).toEqual({
      LISTEN: 1,
      ESTABLISHED: 2,
    });
  });

  it("reads interfaces, routes and counters of a test namespace", () => {
    const ifs = JSON.parse(runCli(["interfaces", "--netns", nsA, "-o", "json"]).stdout) as {
      name: string;
      netnsName: string;
    }[];
    expect(ifs.map((i) => i.name)).toContain("lo");
    expect(ifs.length).toBe(2);
    const routes = JSON.parse(runCli(["routes", "--netns", nsA, "-o", "json"]).stdout) as {
      destination: string;
      prefixLength: number;
    }[];
    expect(routes).toContainEqual(expect.objectContaining({ destination: "10.231.7.0", prefixLength: 24 }));
    expect(routes).toContainEqual(expect.objectContaining({ destination: "fd00:5c:7::", prefixLength: 64 }));
    const stats = JSON.parse(runCli(["stats", "--netns", nsA, "-o", "json"]).stdout) as {
      tcpCurrEstab: number;
    }[];
    expect(stats[0]?.tcpCurrEstab).toBe(2); // one IPv4 and one IPv6 connection accepted
  });

  it("masks addresses marked sensitive in every format", () => {
    const masked = runCli(["scan", "-o", "ndjson", "--netns", nsB, "--mask", "10.231.7.0/24,fd00:5c:7::/48"]);
    expect(masked.stdout).not.toContain("10.231.7.");
    expect(masked.stdout).not.toContain("fd00:5c:7");
    expect(masked.stdout).toContain("x.x.x.x");
    const table = runCli(["scan", "--netns", nsB, "--mask", "10.231.7.0/24"]);
    expect(table.stdout).not.toContain("10.231.7.");
  });
});
