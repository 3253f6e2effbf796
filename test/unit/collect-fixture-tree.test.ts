/**
 * The collector against a fake /proc tree: the races and odd files that the real /proc
 * cannot produce on demand (a process gone between readdir and readlink, a malformed line,
 * a namespace whose first pid vanished). The real /proc is exercised in test/host/.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { collectSockets } from "../../src/procfs/collect.js";

const TCP_HEADER =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
const UNIX_HEADER = "Num       RefCount Protocol Flags    Type St Inode Path\n";
const CID = "4f2ac1a3d9e8b7c6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2";
const POD = "0f3c8d2e-6a1b-4c5d-9e8f-7a6b5c4d3e2f";

let root: string;

interface FakeProc {
  pid: number;
  netns: number;
  comm: string;
  uid?: number;
  cgroup?: string;
  fds?: Record<string, string>;
  net?: Record<string, string>;
  noFdDir?: boolean;
}

function addProc(p: FakeProc): void {
  const dir = join(root, "proc", String(p.pid));
  mkdirSync(join(dir, "ns"), { recursive: true });
  symlinkSync(`net:[${p.netns}]`, join(dir, "ns", "net"));
  writeFileSync(join(dir, "comm"), `${p.comm}\n`);
  writeFileSync(join(dir, "cmdline"), `${p.comm}\0--flag\0`);
  writeFileSync(join(dir, "status"), `Name:\t${p.comm}\nUid:\t${p.uid ?? 0}\t${p.uid ?? 0}\t0\t0\n`);
  writeFileSync(join(dir, "cgroup"), p.cgroup ?? "0::/system.slice/foo.service\n");
  if (!p.noFdDir) {
    mkdirSync(join(dir, "fd"));
    for (const [fd, target] of Object.entries(p.fds ?? {})) symlinkSync(target, join(dir, "fd", fd));
  }
  mkdirSync(join(dir, "net"));
  for (const t of ["tcp", "tcp6", "udp", "udp6", "raw", "raw6"])
    writeFileSync(join(dir, "net", t), TCP_HEADER);
  writeFileSync(join(dir, "net", "unix"), UNIX_HEADER);
  for (const [t, text] of Object.entries(p.net ?? {})) writeFileSync(join(dir, "net", t), text);
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "socklens-fixture-"));
  mkdirSync(join(root, "proc"));
  writeFileSync(join(root, "passwd"), "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
  // Namespace A: a web server with a listener and an accepted connection, shared by two pids.
  const tcpA =
    TCP_HEADER +
    "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1001 1\n" +
    "   1: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 1002 1\n" +
    "   2: this line is broken\n" +
    "   3: 0100007F:9C41 0100007F:1F90 06 00000000:00000000 03:00000100 00000000     0        0 0 3\n";
  // Both pids are in the same namespace, so their tables are the same text.
  const unixA = `${UNIX_HEADER}0000000000000000: 00000002 00000000 00010000 0001 01 1003 /run/web.sock\n`;
  addProc({
    pid: 100,
    netns: 4026532001,
    comm: "web",
    uid: 1000,
    fds: { "3": "socket:[1001]", "4": "socket:[1002]", "5": "/dev/null" },
    net: { tcp: tcpA, unix: unixA },
  });
  addProc({
    pid: 101,
    netns: 4026532001,
    comm: "web-worker",
    uid: 1000,
    cgroup: `0::/kubepods.slice/kubepods-pod${POD.replaceAll("-", "_")}.slice/cri-containerd-${CID}.scope\n`,
    fds: { "3": "socket:[1001]", "7": "socket:[1003]" },
    net: { tcp: tcpA, unix: unixA },
  });
  // Namespace B: the first pid exited (no files at all), the second one answers.
  mkdirSync(join(root, "proc", "200", "ns"), { recursive: true });
  symlinkSync("net:[4026532002]", join(root, "proc", "200", "ns", "net"));
  addProc({
    pid: 201,
    netns: 4026532002,
    comm: "dns",
    fds: { "3": "socket:[2001]" },
    net: {
      udp: `${TCP_HEADER}  10: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2001 2\n`,
    },
  });
  // A process whose fd directory vanished between readdir /proc and reading it.
  addProc({ pid: 300, netns: 4026532002, comm: "gone", noFdDir: true });
  // Not a pid directory.
  mkdirSync(join(root, "proc", "sys"));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("collectSockets over a fixture /proc tree", () => {
  it("reads each namespace once and joins sockets to processes, containers and pods", async () => {
    const r = await collectSockets({
      paths: { proc: join(root, "proc"), runNetns: join(root, "nonexistent"), passwd: join(root, "passwd") },
    });
    expect(r.namespaces.map((n) => [n.inode, n.pid]).sort()).toEqual([
      [4026532001, 100],
      [4026532002, 201],
    ]);
    const byInode = new Map(r.sockets.map((s) => [s.inode, s]));
    expect(byInode.get(1001)).toMatchObject({
      state: "LISTEN",
      localPort: 8080,
      pid: 100,
      process: "web",
      cmdline: "web --flag",
      uid: 1000,
      user: "app",
      processes: [
        { pid: 100, process: "web" },
        { pid: 101, process: "web-worker" },
      ],
      netns: 4026532001,
    });
    // The lowest pid owns the record; its container identity (none) is what we report.
    expect(byInode.get(1001)?.container).toBeUndefined();
    expect(byInode.get(1003)).toMatchObject({
      protocol: "unix",
      path: "/run/web.sock",
      state: "LISTEN",
      pid: 101,
      uid: 1000,
      container: { id: CID, runtime: "containerd" },
      pod: { uid: POD },
    });
    expect(byInode.get(2001)).toMatchObject({
      protocol: "udp",
      state: "UNCONN",
      pid: 201,
      process: "dns",
      netns: 4026532002,
    });
    const tw = r.sockets.find((s) => s.state === "TIME_WAIT");
    expect(tw).toMatchObject({ inode: 0, localPort: 40001 });
    expect(tw?.pid).toBeUndefined();
    expect(r.diagnostics.malformedLines).toBe(1);
    expect(r.diagnostics.malformed[0]).toMatchObject({
      file: join(root, "proc", "100", "net", "tcp"),
      line: 4,
    });
    expect(r.diagnostics.processesVanished).toBeGreaterThanOrEqual(1);
  });

  it("only reads the requested protocols and namespaces", async () => {
    const r = await collectSockets({
      paths: { proc: join(root, "proc"), runNetns: join(root, "nonexistent"), passwd: join(root, "passwd") },
      protocols: new Set(["udp"]),
      netns: new Set([4026532002]),
    });
    expect(r.sockets.map((s) => s.inode)).toEqual([2001]);
  });

  it("socklens scan --debug names the malformed line's file and line number", async () => {
    let out = "";
    let err = "";
    const io = {
      out: (t: string) => {
        out += t;
      },
      err: (t: string) => {
        err += t;
      },
      env: {
        HOST_PROC: join(root, "proc"),
        HOST_RUN_NETNS: join(root, "none"),
        HOST_PASSWD: join(root, "passwd"),
      },
    };
    // -a: the tree's unix sockets too (a scan leaves them out unless asked, as netstat -tan).
    expect(await main(["scan", "-a", "-o", "ndjson", "--debug"], io)).toBe(0);
    expect(out.trim().split("\n")).toHaveLength(5);
    expect(err).toContain("skipped 1 malformed line(s):");
    expect(err).toContain(`${join(root, "proc", "100", "net", "tcp")}:4: expected at least 10 columns`);
    expect(err).toMatch(/processes seen, [1-9]\d* exited during the scan/);
  });

  it("without --debug, says how many lines it skipped and how to see them", async () => {
    let err = "";
    const io = {
      out: () => {},
      err: (t: string) => {
        err += t;
      },
      env: { HOST_PROC: join(root, "proc"), HOST_RUN_NETNS: join(root, "none") },
    };
    expect(await main(["scan"], io)).toBe(0);
    expect(err).toBe("socklens: skipped 1 malformed line(s) (--debug shows them)\n");
  });
});
