/**
 * The table cache (src/procfs/table-cache.ts) against the real kernel: a scan reuses a
 * namespace's socket tables only while its counters say nothing changed, so a new listener,
 * a new connection and a closed one are seen in the very next scan; a change of state alone
 * (a peer's FIN: ESTABLISHED → CLOSE_WAIT) moves no counter, and is seen at the latest on
 * the forced re-read, within `refreshEvery` scans. After every step the cached scan is held
 * against a scan that reads everything.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCounterPairs } from "../../src/core/netinfo.js";
import type { Socket } from "../../src/core/socket.js";
import { parseSockstat, tableGate } from "../../src/core/sockstat.js";
import { collectSockets, type ScanResult } from "../../src/procfs/collect.js";
import { FdCache } from "../../src/procfs/fd-cache.js";
import { procPathsFromEnv } from "../../src/procfs/paths.js";
import { TableCache } from "../../src/procfs/table-cache.js";
import { hostTestsUnavailable, Sandbox } from "./sandbox.js";

const unavailable = hostTestsUnavailable("table-cache.test.ts");
const HOLDER = fileURLToPath(new URL("./table-holder.mjs", import.meta.url));
const K = 3;
const A_IP = "10.232.30.1";

describe.skipIf(unavailable !== null)("reusing socket tables while the counters stand still", () => {
  const box = new Sandbox();
  const paths = procPathsFromEnv({});
  const fdCache = new FdCache();
  const tableCache = new TableCache(K);
  const holders: ChildProcess[] = [];
  let server: ChildProcess; // in namespace A
  let client: ChildProcess; // in namespace B, across a veth
  let nsA: number;
  let nsB: number;

  const ask = (p: ChildProcess, m: object) =>
    new Promise<{ localPort: number }>((resolve) => {
      p.once("message", (answer: { localPort: number }) => resolve(answer));
      p.send(m);
    });
  const settle = () => new Promise((r) => setTimeout(r, 150));

  const scan = (cached: boolean): Promise<ScanResult> =>
    collectSockets({
      paths,
      protocols: new Set(["tcp"]),
      netns: new Set([nsA, nsB]),
      ...(cached ? { fdCache, tableCache } : {}),
    });
  const key = (s: Socket) =>
    `${s.netns === nsA ? "A" : "B"} ${s.state} ${s.localAddress}:${s.localPort} ${s.remoteAddress}:${s.remotePort} ${s.pid ?? "-"}`;
  const keys = (r: ScanResult) => r.sockets.map(key).sort();

  /** A cached scan, checked against one that reads every table and walks every fd. */
  async function cachedLikeFull(): Promise<{ cached: ScanResult; keys: string[] }> {
    const cached = await scan(true);
    const full = await scan(false);
    expect(keys(cached)).toEqual(keys(full));
    return { cached, keys: keys(cached) };
  }

  /** Scan until namespace A's tcp table has been reused: the cache is warm and gating there. */
  async function warm(): Promise<void> {
    for (let i = 0; i < 2 * K; i++) {
      const r = await scan(true);
      if ((r.namespaces.find((n) => n.inode === nsA)?.tablesReused ?? 0) > 0) return;
    }
    throw new Error(`namespace A's tables were not reused in ${2 * K} scans while it was quiet`);
  }

  /** Namespace A's gate for its tcp table, from its counters as the kernel shows them now. */
  function gateOfA(): string | undefined {
    const pid = server.pid as number;
    const sockstat = {
      ...parseSockstat(readFileSync(`/proc/${pid}/net/sockstat`, "utf8")),
      ...parseSockstat(readFileSync(`/proc/${pid}/net/sockstat6`, "utf8")),
    };
    const snmp = parseCounterPairs(readFileSync(`/proc/${pid}/net/snmp`, "utf8")).records[0];
    return tableGate("tcp", sockstat, snmp);
  }

  beforeAll(async () => {
    const a = box.netns("tca");
    const b = box.netns("tcb");
    box.veth(a, b, [A_IP, "10.232.30.2"], ["fd00:5c:30::1", "fd00:5c:30::2"]);
    nsA = box.nsInode(a);
    nsB = box.nsInode(b);
    const start = (ns: string) => {
      const p = spawn("ip", ["netns", "exec", ns, process.execPath, HOLDER], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      holders.push(p);
      return new Promise<ChildProcess>((resolve) => p.once("message", () => resolve(p)));
    };
    server = await start(a);
    client = await start(b);
    await ask(server, { op: "listen", host: A_IP, port: 7100, halfOpen: true });
    await ask(server, { op: "listen", host: "127.0.0.1", port: 7200, halfOpen: false });
  });

  afterAll(async () => {
    for (const p of holders) p.kill();
    await box.cleanup();
  });

  it("reuses the tables of quiet namespaces and counts it", async () => {
    await warm();
    const { cached } = await cachedLikeFull();
    // Two namespaces, tcp and tcp6 each: what was not read was reused or empty.
    const t = cached.tables;
    expect(t.read + t.reused + t.empty).toBe(4);
    // An uncached scan reuses nothing.
    expect((await scan(false)).tables.reused).toBe(0);
  });

  it("sees a new listener in the very next scan", async () => {
    await warm();
    const { localPort } = await ask(server, { op: "listen", host: A_IP, port: 7101, halfOpen: true });
    const { keys } = await cachedLikeFull();
    expect(keys.some((k) => k.startsWith(`A LISTEN ${A_IP}:${localPort} `))).toBe(true);
  });

  it("sees a new connection, and a closed one, in the very next scan", async () => {
    await warm();
    const { localPort } = await ask(client, { op: "connect", host: A_IP, port: 7101 });
    await settle();
    let r = await cachedLikeFull();
    expect(r.keys.some((k) => k.startsWith(`A ESTABLISHED ${A_IP}:7101 10.232.30.2:${localPort} `))).toBe(
      true,
    );

    // Both ends in A (loopback); the server closes when the client does, leaving TIME_WAIT.
    const loop = await ask(server, { op: "connect", host: "127.0.0.1", port: 7200 });
    await settle();
    await warm();
    await ask(server, { op: "close", localPort: loop.localPort });
    await settle();
    r = await cachedLikeFull();
    const mine = r.keys.filter((k) => k.includes(`127.0.0.1:${loop.localPort} `));
    expect(mine).toEqual([expect.stringMatching(/^A TIME_WAIT /)]);
  });

  it(`sees a change of state alone (a peer's FIN) within ${K} scans`, async () => {
    const { localPort } = await ask(client, { op: "connect", host: A_IP, port: 7100 });
    await settle();
    await warm();
    const before = gateOfA();
    await ask(client, { op: "close", localPort });
    await settle();
    // The premise: A's counters did not move (if a kernel ever counts this, the cache sees it
    // at once and this test says so here).
    expect(gateOfA()).toBe(before);
    const closeWait = (r: ScanResult) =>
      r.sockets.some(
        (s) =>
          s.netns === nsA && s.state === "CLOSE_WAIT" && s.localPort === 7100 && s.remotePort === localPort,
      );
    let seenAfter = 0;
    for (let i = 1; i <= K; i++) {
      if (closeWait(await scan(true))) {
        seenAfter = i;
        break;
      }
    }
    expect(seenAfter, `CLOSE_WAIT not seen within ${K} cached scans`).toBeGreaterThan(0);
    // After the re-read the cached scan is the full one again.
    await cachedLikeFull();
  });
});
