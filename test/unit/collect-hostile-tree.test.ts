/**
 * What the fuzz test (fuzz-proc.test.ts) found in the collector, one case each: entries that
 * are no regular file (a FIFO blocked the scan forever, /dev/zero ran it out of memory), a
 * process name longer than the kernel prints, and numbers and pid names no kernel writes (they
 * became imprecise floats or named another pid's files). The crashers themselves are in
 * test/fixtures/fuzz-crashers/.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectSockets } from "../../src/procfs/collect.js";
import { readHostFacts } from "../../src/procfs/host.js";
import { openFileLimit } from "../../src/procfs/limits.js";
import { collectNetInfo } from "../../src/procfs/netinfo.js";
import { ownEphemeralRange } from "../../src/procfs/netns.js";
import { listProcesses } from "../../src/procfs/processes.js";
import { COMM_MAX, readProcFile, readProcFileSync } from "../../src/procfs/read.js";
import { UserNames } from "../../src/procfs/users.js";

const HEADER =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
const listener = (inode: number, port: string) =>
  `   0: 00000000:${port} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1\n`;
const DEV =
  "Inter-|   Receive                                                |  Transmit\n" +
  " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
  "    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n";
const UNIX_HEADER = "Num       RefCount Protocol Flags    Type St Inode Path\n";
const A = 4026532301;
const B = 4026532302;
/** A read blocked on a FIFO is released after this long; anything slower was blocked. */
const GRACE_MS = 3000;

type Entry = string | { link: string } | { dir: true } | { fifo: true };
let root: string;
let fifo: string;
let release: ChildProcess;

function build(entries: Record<string, Entry>): void {
  for (const [path, e] of Object.entries(entries)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    if (typeof e === "string") writeFileSync(full, e);
    else if ("link" in e) symlinkSync(e.link, full);
    else if ("fifo" in e) linkSync(fifo, full);
    else mkdirSync(full, { recursive: true });
  }
}

function proc(pid: string, netns: number | string, comm: string, odd: Record<string, Entry> = {}) {
  const files: Record<string, Entry> = {
    "ns/net": { link: typeof netns === "number" ? `net:[${netns}]` : netns },
    comm: `${comm}\n`,
    cmdline: `${comm}\0`,
    status: `Name:\t${comm}\nPPid:\t1\nUid:\t0\t0\t0\t0\n`,
    cgroup: "0::/system.slice/x.service\n",
    limits: "Max open files            1024                 4096                 files     \n",
    "net/tcp": HEADER,
    // Namespace A has a unix listener, 1003.
    "net/unix": `${UNIX_HEADER}${netns === A ? "0000000000000000: 00000002 00000000 00010000 0001 01  1003 /run/a.sock\n" : ""}`,
    "net/dev": DEV,
    ...odd,
  };
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [`proc/${pid}/${k}`, v]));
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "socklens-hostile-tree-"));
  fifo = join(root, "fifo");
  execFileSync("mkfifo", [fifo]);
  // Should a read block on a FIFO after all, this releases it (and the timing checks fail)
  // instead of hanging the run; timeout(1) ends it should this process die without stopping it.
  release = spawn(
    "timeout",
    ["120", "sh", "-c", `sleep ${GRACE_MS / 1000}; while :; do : > "$0"; done`, fifo],
    {
      detached: true,
      stdio: "ignore",
    },
  );
  release.unref();
  build({
    ...proc("100", A, "web", {
      "net/tcp": HEADER + listener(1001, "1F90") + listener(1002, "1F91"),
      "fd/3": { link: "socket:[1001]" },
      "fd/9": { link: "socket:[99999999999999999999]" },
      limits: { fifo: true },
    }),
    // comm and status FIFOs: the process cannot be named, so it is not attributed.
    ...proc("101", A, "fifo-comm", {
      comm: { fifo: true },
      status: { fifo: true },
      "fd/3": { link: "socket:[1001]" },
    }),
    // cgroup endless, cmdline a FIFO: named, without the rest.
    ...proc("102", A, "zero", {
      cgroup: { link: "/dev/zero" },
      cmdline: { fifo: true },
      "fd/4": { link: "socket:[1002]" },
    }),
    // A uid no JS number holds: the unix socket it holds (no uid column of its own) has none.
    ...proc("103", A, "huge-uid", {
      status: "Name:\thuge-uid\nUid:\t99999999999999999999\t0\t0\t0\n",
      "fd/3": { link: "socket:[1003]" },
    }),
    // Namespace B: the first pid's tables are a FIFO and /dev/zero; the second answers.
    ...proc("200", B, "bad-tables", {
      "net/tcp": { fifo: true },
      "net/sockstat": { link: "/dev/zero" },
      "net/dev": { fifo: true },
      "net/snmp": { fifo: true },
    }),
    ...proc("201", B, "dns", {
      "net/tcp": HEADER + listener(2001, "0035"),
      "fd/3": { link: "socket:[2001]" },
    }),
    // A name of 2 MB: the kernel prints at most 63 bytes.
    ...proc("300", B, "x".repeat(2 << 20), { "fd/3": { link: "socket:[2001]" } }),
    // Names that are no pid as the kernel writes one, each holding 1001: none is a holder.
    ...proc("1e3", A, "exp", { "fd/3": { link: "socket:[1001]" } }),
    ...proc("00100", A, "zeros", { "fd/3": { link: "socket:[1001]" } }),
    ...proc("100000000000000000000", A, "huge", { "fd/3": { link: "socket:[1001]" } }),
    // A namespace inode no JS number holds exactly: the process is in no namespace we list.
    ...proc("400", "net:[99999999999999999999]", "huge-ns", { "fd/3": { link: "socket:[1001]" } }),
    "proc/sys/kernel/hostname": { fifo: true },
    "proc/sys/kernel/osrelease": { link: "/dev/zero" },
    "proc/sys/net/ipv4/ip_local_port_range": { fifo: true },
    "proc/self": { link: "100" },
    passwd: { fifo: true },
  });
});

afterAll(() => {
  if (release?.pid !== undefined) {
    try {
      process.kill(-release.pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  rmSync(root, { recursive: true, force: true });
});

const paths = () => ({
  proc: join(root, "proc"),
  runNetns: join(root, "none"),
  passwd: join(root, "passwd"),
});

/** Runs `fn`, failing if it took as long as the FIFO helper's grace (then a read had blocked). */
async function quickly<T>(fn: () => T | Promise<T>): Promise<T> {
  const started = performance.now();
  const r = await fn();
  expect(performance.now() - started, "blocked on a FIFO?").toBeLessThan(GRACE_MS);
  return r;
}

describe("readProcFile", () => {
  it("reads regular files; a FIFO or a device is EFTYPE and a directory EISDIR, at once", async () => {
    build({ "plain/ok": "text\n", "plain/dir": { dir: true } });
    const at = (name: string) => join(root, "plain", name);
    expect(readProcFileSync(at("ok"))).toBe("text\n");
    expect(await readProcFile(at("ok"))).toBe("text\n");
    for (const [file, code] of [
      [fifo, "EFTYPE"],
      ["/dev/zero", "EFTYPE"],
      ["/dev/null", "EFTYPE"],
      [at("dir"), "EISDIR"],
    ]) {
      await quickly(() =>
        expect(() => readProcFileSync(file as string)).toThrow(expect.objectContaining({ code })),
      );
      await quickly(() => expect(readProcFile(file as string)).rejects.toMatchObject({ code }));
    }
  });
});

describe("the collector on a hostile tree", () => {
  it("collectSockets: every odd entry counted and skipped, at once; the rest attributed", async () => {
    const r = await quickly(() => collectSockets({ paths: paths() }));
    const byInode = new Map(r.sockets.map((s) => [s.inode, s]));
    // 101 (FIFO comm) is no holder, nor are 1e3, 00100, 10^20 and the process in no namespace.
    expect(byInode.get(1001)).toMatchObject({ pid: 100, process: "web", netns: A });
    expect(byInode.get(1001)?.processes).toBeUndefined();
    expect(byInode.get(1002)).toMatchObject({ pid: 102, process: "zero", cmdline: "", netns: A });
    expect(byInode.get(1002)?.container).toBeUndefined();
    expect(byInode.get(1003)).toMatchObject({ pid: 103, process: "huge-uid", path: "/run/a.sock" });
    expect(byInode.get(1003)?.uid).toBeUndefined();
    expect(byInode.get(2001)).toMatchObject({ pid: 201, process: "dns", netns: B });
    expect(byInode.get(2001)?.processes?.map((p) => [p.pid, p.process.length])).toEqual([
      [201, 3],
      [300, COMM_MAX],
    ]);
    expect(r.namespaces.map((n) => n.inode)).toEqual([A, B]);
    // Pid directories: 100, 101, 102, 103, 200, 201, 300, 400 (not 1e3, 00100, 10^20, self, sys).
    expect(r.diagnostics.processesSeen).toBe(8);
    expect(r.diagnostics.unreadable).toBeGreaterThanOrEqual(5);
    expect(r.diagnostics.unreadableExamples.join()).toContain("(EFTYPE)");
  });

  it("collectNetInfo reads namespace B through the pid whose files are regular", async () => {
    const r = await quickly(() => collectNetInfo({ paths: paths() }));
    expect(r.namespaces.map((n) => [n.netns, n.pid, n.interfaces.map((i) => i.name)])).toEqual([
      [A, 100, ["lo"]],
      [B, 201, ["lo"]],
    ]);
  });

  it("listProcesses skips what it cannot name and cuts a name at the kernel's length", async () => {
    const list = await quickly(() => listProcesses(paths()));
    expect(list.map((p) => [p.pid, p.comm.length]).sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0))).toEqual([
      [100, 3],
      [102, 4],
      [103, 8],
      [200, 10],
      [201, 3],
      [300, COMM_MAX],
    ]);
  });

  it("host facts, limits, the port range and user names give up on what is no regular file", async () => {
    await quickly(() => {
      const facts = readHostFacts(paths().proc);
      expect(facts.kernel).toBe("unknown");
      expect(openFileLimit(paths(), 100)).toBeUndefined();
      expect(ownEphemeralRange(paths()).range).toBeUndefined();
      expect(new UserNames(paths().passwd).name(0)).toBeUndefined();
    });
  });
});
