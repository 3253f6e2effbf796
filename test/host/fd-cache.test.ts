/**
 * The agent's fd cache (src/procfs/fd-cache.ts) against the real /proc: after every kind of
 * change a cached scan must attribute each socket of a test namespace to the same pids as a
 * scan that walks everything, while re-reading only what changed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { Server } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectSockets } from "../../src/procfs/collect.js";
import { FdCache } from "../../src/procfs/fd-cache.js";
import { procPathsFromEnv } from "../../src/procfs/paths.js";
import { hostTestsUnavailable, Sandbox } from "./sandbox.js";

const unavailable = hostTestsUnavailable("fd-cache.test.ts");
const HOLDER = fileURLToPath(new URL("./fd-holder.mjs", import.meta.url));

describe.skipIf(unavailable !== null)("a cached fd walk attributes like a full one", () => {
  const box = new Sandbox();
  const paths = procPathsFromEnv({});
  const cache = new FdCache(1_000);
  let holder: ChildProcess;
  let netns: number;
  const given: Server[] = [];

  const ask = (m: object, handle?: (h: Server) => void) =>
    new Promise<number>((resolve) => {
      holder.once("message", (answer: { inode: number }, h?: Server) => {
        if (h && handle) handle(h);
        resolve(answer.inode);
      });
      holder.send(m);
    });

  /** inode → holding pids in the test namespace, as a scan with `fdCache` (or none) sees it. */
  async function attribution(fdCache?: FdCache) {
    const scan = await collectSockets({
      paths,
      protocols: new Set(["tcp"]),
      ...(fdCache ? { fdCache } : {}),
    });
    const held = new Map<number, number[]>();
    for (const s of scan.sockets)
      if (s.netns === netns && s.protocol === "tcp" && s.inode !== 0)
        held.set(s.inode, (s.processes?.map((p) => p.pid) ?? (s.pid ? [s.pid] : [])).sort());
    return { held, stats: scan.fdWalk };
  }

  async function expectSameAsFullWalk() {
    const cached = await attribution(cache);
    const full = await attribution();
    expect(cached.held).toEqual(full.held);
    return cached;
  }

  beforeAll(async () => {
    const ns = box.netns("fdcache");
    netns = box.nsInode(ns);
    holder = spawn("ip", ["netns", "exec", ns, process.execPath, HOLDER], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    await new Promise((resolve) => holder.once("message", resolve));
  });

  afterAll(async () => {
    for (const s of given) s.close();
    holder?.kill();
    await box.cleanup();
  });

  it("reuses an unchanged process's holdings", async () => {
    const inode = await ask({ op: "listen" });
    const first = await expectSameAsFullWalk();
    expect(first.held.get(inode)).toEqual([holder.pid]);
    const again = await expectSameAsFullWalk();
    expect(again.held.get(inode)).toEqual([holder.pid]);
    // Nothing changed in the holder: its fd table was not listed again.
    expect(again.stats.reused).toBeGreaterThan(0);
  });

  it("finds a socket opened by a process that also closed one (same fd count)", async () => {
    const old = await ask({ op: "listen" });
    await expectSameAsFullWalk();
    const fresh = await ask({ op: "swap", inode: old });
    const after = await expectSameAsFullWalk();
    expect(after.held.get(fresh)).toEqual([holder.pid]);
    expect(after.held.has(old)).toBe(false);
  });

  it("follows a socket handed to a process in another namespace", async () => {
    const inode = await ask({ op: "listen" });
    await expectSameAsFullWalk();
    await ask({ op: "give", inode }, (h) => given.push(h));
    // Wait until the holder has closed its copy (its own close runs after the send).
    for (let i = 0; i < 50; i++) {
      const { held } = await attribution();
      if (!held.get(inode)?.includes(holder.pid as number)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // The cached scans must agree with a full walk whichever scan finds the new holder.
    for (let i = 0; i < 3; i++) await expectSameAsFullWalk();
    const { held } = await expectSameAsFullWalk();
    expect(held.get(inode)).toEqual([process.pid]);
  });
});
