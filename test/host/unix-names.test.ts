/**
 * Real abstract unix sockets whose names hold a newline and text shaped like a
 * /proc/net/unix record (issue 11, item 2; docs/adr/0006-unix-socket-names.md). The kernel
 * prints the name raw, so the table really contains the forged line; socklens must never
 * report it as an unmarked socket.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "../../src/core/socket.js";
import { parseUnixTable } from "../../src/core/unixtable.js";
import { hostTestsUnavailable, runCli, Sandbox } from "./sandbox.js";

const unavailable = hostTestsUnavailable("unix-names.test.ts");

// An abstract name is printed as '@' and 107 bytes (Node binds the whole sun_path, so the
// kernel prints trailing NULs as '@'): pad the forged path to end exactly there.
function forgedName(prefix: string, pointer: string, inode: string, path: string): string {
  const line = `${pointer}: 00000002 00000000 00010000 0001 01 ${inode.padStart(5)} `;
  const head = `\0${prefix}\n${line}`;
  return `${head}${path}${"_".repeat(108 - head.length - path.length - 5)}.sock`;
}

describe.skipIf(unavailable !== null)("unix socket names that look like records", () => {
  const box = new Sandbox();
  let ns: string;
  let sockets: Socket[];
  let stderr: string;
  let tcpInode: number;
  let raw: string;

  beforeAll(async () => {
    ns = box.netns("unix");
    const forger = await box.workload(ns, {
      title: "slwl-forger",
      listen: [{ proto: "tcp", host: "127.0.0.1", port: 7070 }],
      unix: [
        // A zero pointer, where this reader sees hashed (kptr_restrict=0) or real pointers.
        { name: forgedName("zero", "0000000000000000", "31337", "/run/FORGED-A") },
        // A hashed-looking pointer and an inode nobody holds: nothing decides it.
        { name: forgedName("open", "00000000deadbeef", "31338", "/run/FORGED-B") },
        // The inode of the forger's own TCP listener: the tcp table lists it.
        { name: forgedName("borrow", "00000000feedface", "{tcp0}", "/run/FORGED-C") },
      ],
    });
    raw = readFileSync(`/proc/${forger.pid}/net/unix`, "latin1");
    const r = runCli(["scan", "-a", "--netns", ns, "-o", "ndjson"]);
    expect(r.code, r.stderr).toBe(0);
    stderr = r.stderr;
    sockets = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Socket);
    tcpInode = sockets.find((s) => s.protocol === "tcp" && s.localPort === 7070)?.inode ?? -1;
  });
  afterAll(() => box.cleanup());

  const unix = () => sockets.filter((s) => s.protocol === "unix");
  const named = (prefix: string) =>
    unix().find((s) => s.path?.startsWith(`@${prefix}\n`) || s.path === `@${prefix}`);

  it("the kernel prints each forged line as a line of its own, which a naive reading takes for a socket", () => {
    for (const inode of ["31337", "31338", String(tcpInode)])
      expect(raw).toMatch(
        new RegExp(`\\n[0-9a-f]{16}: 00000002 00000000 00010000 0001 01 +${inode} /run/FORGED-`),
      );
    const naive = raw
      .split("\n")
      .slice(1)
      .filter((l) => /^[0-9a-f]+: /.test(l));
    // Three sockets, three forged lines; socklens keeps the three and the one it cannot refute, marked.
    expect(naive).toHaveLength(6);
    expect(unix()).toHaveLength(4);
    // From the text alone, the two plausible forgeries are candidates (and maybe a real socket
    // that happens to follow a short name: the fd holder settles those).
    expect(parseUnixTable(raw).candidates.map((c) => c.record.inode)).toEqual(
      expect.arrayContaining([31338, tcpInode]),
    );
  });

  it("a forged line with a pointer unlike this reader's is read back into the name", () => {
    expect(unix().map((s) => s.inode)).not.toContain(31337);
    const s = named("zero");
    expect(s?.path).toMatch(
      /^@zero\n0000000000000000: 00000002 00000000 00010000 0001 01 31337 \/run\/FORGED-A_+\.sock$/,
    );
    expect(s?.ambiguous).toBeUndefined();
    expect(s?.process).toBe("slwl-forger");
  });

  it("a forged line that borrows a listed inode is read back into the name", () => {
    expect(tcpInode).toBeGreaterThan(0);
    expect(unix().filter((s) => s.inode === tcpInode)).toEqual([]);
    expect(named("borrow")?.path).toContain(
      `\n00000000feedface: 00000002 00000000 00010000 0001 01 ${tcpInode} /run/FORGED-C`,
    );
  });

  it("the same with --proto unix: the tcp table is read only to settle the candidate", () => {
    const r = runCli(["scan", "--netns", ns, "--proto", "unix", "-o", "ndjson"]);
    expect(r.code, r.stderr).toBe(0);
    const only = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Socket);
    expect(only.filter((s) => s.inode === tcpInode)).toEqual([]);
    expect(only.every((s) => s.protocol === "unix")).toBe(true);
  });

  it("a forged line nothing can refute stays, marked ambiguous with its neighbour, and is said so", () => {
    const forged = unix().find((s) => s.inode === 31338);
    expect(forged).toMatchObject({ state: "LISTEN", ambiguous: true });
    expect(forged?.pid).toBeUndefined();
    expect(named("open")).toMatchObject({ path: "@open", ambiguous: true, process: "slwl-forger" });
    expect(stderr).toContain("socklens: 2 unix socket record(s) marked (ambiguous)");
    // The table shows it where the name is, and every name on one line.
    const table = runCli(["scan", "--netns", ns, "--proto", "unix"]);
    const lines = table.stdout.trim().split("\n");
    expect(lines).toHaveLength(unix().length + 1);
    expect(lines.filter((l) => l.includes("(ambiguous)"))).toHaveLength(2);
    expect(table.stdout).toContain("@zero\\n0000000000000000: 00000002");
  });
});
