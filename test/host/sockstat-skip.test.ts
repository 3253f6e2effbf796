/**
 * The collector skips tables whose sockstat counters say they are empty. These tests prove
 * that skipping loses nothing on the real kernel: a namespace whose only socket is an IPv6
 * TIME_WAIT is still seen, and a scan with skipping equals one that reads every table.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "../../src/core/socket.js";
import { collectSockets } from "../../src/procfs/collect.js";
import { procPathsFromEnv } from "../../src/procfs/paths.js";
import { hostTestsUnavailable, runCli, Sandbox, type Workload } from "./sandbox.js";

const unavailable = hostTestsUnavailable("sockstat-skip.test.ts");

describe.skipIf(unavailable !== null)("skipping empty tables by sockstat", () => {
  const box = new Sandbox();
  let tw: Workload;
  let v4: Workload;

  beforeAll(async () => {
    tw = await box.workload(box.netns("tw6"), { title: "slwl-tw6", timeWait: { host: "::1" } });
    v4 = await box.workload(box.netns("v4"), {
      title: "slwl-v4",
      listen: [{ proto: "tcp", host: "127.0.0.1", port: 8000 }],
      connect: [{ proto: "tcp", host: "127.0.0.1", port: 8000 }],
    });
  });
  afterAll(() => box.cleanup());

  it("finds a lone IPv6 TIME_WAIT socket (inuse counters all zero)", () => {
    const r = runCli(["scan", "-o", "ndjson", "--netns", String(tw.netns), "--proto", "tcp,udp,raw"]);
    const sockets = r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Socket);
    expect(sockets).toHaveLength(1);
    expect(sockets[0]).toMatchObject({
      family: "inet6",
      state: "TIME_WAIT",
      localAddress: "::1",
      localPort: tw.sockets[0]?.localPort,
    });
  });

  it("gives the same sockets with and without skipping", async () => {
    const only = new Set([tw.netns, v4.netns]);
    const key = (s: Socket) =>
      `${s.netns} ${s.protocol} ${s.family} ${s.state} ${s.localAddress}:${s.localPort} ${s.remoteAddress}:${s.remotePort}`;
    const all = await collectSockets({
      paths: procPathsFromEnv(process.env),
      netns: only,
      skipEmptyTables: false,
      protocols: new Set(["tcp", "udp", "raw"]),
    });
    const skipping = await collectSockets({
      paths: procPathsFromEnv(process.env),
      netns: only,
      protocols: new Set(["tcp", "udp", "raw"]),
    });
    expect(all.sockets.length).toBe(4); // TIME_WAIT, listener, two connection ends
    expect(skipping.sockets.map(key).sort()).toEqual(all.sockets.map(key).sort());
  });
});
