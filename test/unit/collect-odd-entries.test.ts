/**
 * A /proc tree where files are directories, links loop and links are not links: each such
 * entry is counted and skipped on its own, and the rest of the scan goes on (issue 11, 3a).
 * The tree is built in a temporary directory; the real /proc cannot produce these errors on
 * demand, but bind mounts, fixture trees and odd kernels can.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { collectSockets } from "../../src/procfs/collect.js";
import { captureIO } from "./capture.js";

const HEADER =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
const listener = (inode: number, port: string) =>
  `   0: 00000000:${port} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1\n`;

/** What goes at a path of the tree: file text, a symlink, or an empty directory. */
type Entry = string | { link: string } | { dir: true };

let root: string;

function build(entries: Record<string, Entry>): void {
  for (const [path, entry] of Object.entries(entries)) {
    const full = join(root, "proc", path);
    mkdirSync(dirname(full), { recursive: true });
    if (typeof entry === "string") writeFileSync(full, entry);
    else if ("link" in entry) symlinkSync(entry.link, full);
    else mkdirSync(full, { recursive: true });
  }
}

/** A process with every file in place; `odd` replaces or adds entries under its directory. */
function proc(
  pid: number,
  netns: number,
  comm: string,
  odd: Record<string, Entry> = {},
): Record<string, Entry> {
  const files: Record<string, Entry> = {
    "ns/net": { link: `net:[${netns}]` },
    comm: `${comm}\n`,
    cmdline: `${comm}\0`,
    status: `Name:\t${comm}\nUid:\t0\t0\t0\t0\n`,
    cgroup: "0::/system.slice/x.service\n",
    "net/tcp": HEADER,
    "net/unix": "Num       RefCount Protocol Flags    Type St Inode Path\n",
  };
  // An odd entry replaces whatever the healthy process had under it (ns → ns/net).
  for (const key of Object.keys(odd))
    for (const k of Object.keys(files)) if (k.startsWith(`${key}/`)) delete files[k];
  Object.assign(files, odd);
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [`${pid}/${k}`, v]));
}

const A = 4026532101;
const B = 4026532102;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "socklens-odd-"));
  build({
    // The healthy one.
    ...proc(100, A, "web", {
      "net/tcp": HEADER + listener(1001, "1F90") + listener(1002, "1F91"),
      "fd/3": { link: "socket:[1001]" },
    }),
    // comm is a directory (EISDIR): its socket is listed, just not attributed.
    ...proc(101, A, "odd-comm", { comm: { dir: true }, "fd/3": { link: "socket:[1002]" } }),
    // fd is a link to itself (ELOOP), and an fd entry that is not a link (EINVAL).
    ...proc(102, A, "fd-loop", { fd: { link: "fd" } }),
    ...proc(103, A, "fd-file", { "fd/4": "not a link" }),
    // ns is a loop (ELOOP) and ns/net a plain file (EINVAL): neither process is placed in a namespace.
    ...proc(104, A, "ns-loop", { ns: { link: "ns" } }),
    ...proc(105, A, "ns-file", { "ns/net": "net:[1]" }),
    // Namespace B: the first pid's tcp table is a directory and its unix table a loop; the second pid answers.
    ...proc(200, B, "bad-tables", {
      "net/tcp": { dir: true },
      "net/dev": { dir: true },
      "net/unix": { link: "unix" },
      "net/sockstat": { dir: true },
    }),
    ...proc(201, B, "dns", {
      "net/tcp": HEADER + listener(2001, "0035"),
      "net/dev":
        "Inter-|   Receive                                                |  Transmit\n" +
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
        "    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n",
      "fd/3": { link: "socket:[2001]" },
    }),
    // status loops and cgroup is a directory: the name still comes through.
    ...proc(202, B, "half", {
      status: { link: "status" },
      cgroup: { dir: true },
      "fd/5": { link: "socket:[2001]" },
    }),
  });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const paths = () => ({ proc: join(root, "proc"), runNetns: join(root, "none"), passwd: join(root, "none") });

describe("collectSockets over a tree of odd entries", () => {
  it("counts and skips each unreadable entry; everything else is read", async () => {
    const r = await collectSockets({ paths: paths() });
    const byInode = new Map(r.sockets.map((s) => [s.inode, s]));
    expect(byInode.get(1001)).toMatchObject({ pid: 100, process: "web", netns: A, localPort: 8080 });
    // Held only by the process whose comm is a directory: listed, not attributed.
    expect(byInode.get(1002)).toMatchObject({ localPort: 8081, netns: A });
    expect(byInode.get(1002)?.pid).toBeUndefined();
    // Namespace B read through its second pid; 202's loop and directory cost only uid and cgroup.
    expect(byInode.get(2001)).toMatchObject({ netns: B, pid: 201, process: "dns" });
    expect(byInode.get(2001)?.processes).toEqual([
      { pid: 201, process: "dns" },
      { pid: 202, process: "half" },
    ]);
    // 101 comm, 102 fd, 103 fd/4, 104 ns/net, 105 ns/net, 200 sockstat, tcp and unix, 202 status and cgroup.
    expect(r.diagnostics.unreadable).toBe(10);
    expect(r.diagnostics.unreadableExamples).toHaveLength(3);
    expect(r.diagnostics.permissionDenied).toBe(0);
  });

  it("names each kind of failure with its path", async () => {
    const seen = new Set<string>();
    // The examples keep the first three; read each odd process on its own to see all codes.
    for (const netns of [A, B]) {
      const r = await collectSockets({ paths: paths(), netns: new Set([netns]) });
      for (const e of r.diagnostics.unreadableExamples) seen.add(e.replace(join(root, "proc"), ""));
    }
    expect([...seen].join("\n")).toMatch(/\(EISDIR\)/);
    expect([...seen].join("\n")).toMatch(/\(ELOOP\)/);
    expect([...seen].join("\n")).toMatch(/\(EINVAL\)/);
  });

  it("socklens scan exits 0, lists what it could read and says once what it skipped", async () => {
    const { io, out, err } = captureIO({
      HOST_PROC: join(root, "proc"),
      HOST_RUN_NETNS: join(root, "none"),
      HOST_PASSWD: join(root, "none"),
    });
    // -a: every table, unix too, as the in-process collector above reads them.
    expect(await main(["scan", "-a", "-o", "ndjson"], io)).toBe(0);
    expect(out().trim().split("\n")).toHaveLength(3);
    expect(err()).toMatch(
      /^socklens: could not read 10 \/proc entries \(e\.g\. .*\(E[A-Z]+\).*\); skipped them and showing the rest\n$/,
    );
  });

  it("socklens interfaces reads namespace B through the pid whose net/dev is a file", async () => {
    const { io, out, err } = captureIO({ HOST_PROC: join(root, "proc"), HOST_RUN_NETNS: join(root, "none") });
    expect(await main(["interfaces", "-o", "ndjson", "--netns", String(B)], io)).toBe(0);
    expect(JSON.parse(out())).toMatchObject({ netns: B, name: "lo", rxBytes: 100 });
    expect(err()).toMatch(/could not read \d+ \/proc entries .*net\/dev \(EISDIR\)/);
  });

  it("a proc root that cannot be listed is an input error (exit 2), not a stack trace", async () => {
    const { io, err } = captureIO({ HOST_PROC: join(root, "no-such-proc") });
    expect(await main(["scan"], io)).toBe(2);
    expect(err()).toBe(
      `socklens scan: cannot list the proc root ${join(root, "no-such-proc")}: ENOENT (set HOST_PROC to the host's /proc)\n`,
    );
  });
});
