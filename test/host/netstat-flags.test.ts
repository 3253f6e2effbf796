/**
 * `socklens scan` with netstat's habits, in a test namespace (issue 14): -tlnp and friends,
 * unix sockets only when asked, the same columns everywhere, Recv-Q/Send-Q, `host`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Socket } from "../../src/core/socket.js";
import { hostTestsUnavailable, runCli, Sandbox } from "./sandbox.js";

const unavailable = hostTestsUnavailable("netstat-flags.test.ts");

describe.skipIf(unavailable !== null)("scan -tlnp and friends", () => {
  const box = new Sandbox();
  let ns: string;
  const records = (args: string[]): Socket[] => {
    const r = runCli(["scan", "--netns", ns, "-o", "ndjson", ...args]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Socket);
  };
  const kinds = (sockets: Socket[]) => [...new Set(sockets.map((s) => `${s.protocol} ${s.state}`))].sort();

  beforeAll(async () => {
    ns = box.netns("nst");
    await box.workload(ns, {
      title: "slwl-nst",
      listen: [
        { proto: "tcp", host: "127.0.0.1", port: 7070 },
        { proto: "udp", host: "127.0.0.1", port: 7071 },
      ],
      connect: [{ proto: "tcp", host: "127.0.0.1", port: 7070 }],
      unix: [{ name: `\0${box.id}-nst` }],
    });
  });
  afterAll(async () => {
    await box.cleanup();
  });

  it("the default leaves unix sockets out; -a and -x bring them in", () => {
    expect(kinds(records([]))).toEqual(["tcp ESTABLISHED", "tcp LISTEN", "udp UNCONN"]);
    expect(kinds(records(["-a"]))).toContain("unix LISTEN");
    expect(kinds(records(["-x"]))).toEqual(["unix LISTEN"]);
    expect(kinds(records(["--proto", "unix"]))).toEqual(["unix LISTEN"]);
  });

  it("-tlnp is --proto tcp --listening; -tuln adds UDP; -ta every TCP state", () => {
    expect(records(["-tlnp"])).toEqual(records(["--proto", "tcp", "--listening"]));
    expect(kinds(records(["-tlnp"]))).toEqual(["tcp LISTEN"]);
    expect(kinds(records(["-tuln"]))).toEqual(["tcp LISTEN", "udp UNCONN"]);
    expect(kinds(records(["-ta"]))).toEqual(["tcp ESTABLISHED", "tcp LISTEN"]);
  });

  it("the table: netstat's columns with Recv-Q/Send-Q, the same for one namespace as for all; -e is wide", () => {
    const one = runCli(["scan", "-tn", "--netns", ns]);
    const all = runCli(["scan", "-tn"]);
    const head = (t: string) => t.split("\n")[0]?.split(/\s{2,}/);
    expect(head(one.stdout)).toEqual([
      "Proto",
      "Recv-Q",
      "Send-Q",
      "Local Address",
      "Foreign Address",
      "State",
      "PID/Program",
      "Netns",
      "Container/Pod",
    ]);
    expect(head(all.stdout)).toEqual(head(one.stdout));
    expect(one.stdout).toMatch(new RegExp(`127\\.0\\.0\\.1:7070 .*LISTEN .*slwl-nst .*\\d+\\(${ns}\\)`));
    const wide = runCli(["scan", "-te", "--netns", ns]);
    expect(head(wide.stdout)?.slice(-3)).toEqual(["UID", "Inode", "Command"]);
    // The host's own namespace is called host, and --netns host selects it.
    const host = runCli(["scan", "-t", "--netns", "host"]);
    expect(host.code, host.stderr).toBe(0);
    for (const line of host.stdout.trim().split("\n").slice(1))
      expect(line.split(/\s{2,}/)[7]).toMatch(/^host/);
  });

  it("-s is the summary, -o yaml the same document as -o json", () => {
    const summary = runCli(["scan", "-s", "--netns", ns]);
    expect(summary.stdout.split("\n")[0]).toMatch(/^Netns\s+Container\/Pod\s+Proto\s+Total/);
    const yaml = runCli(["scan", "-t", "--netns", ns, "-o", "yaml"]);
    expect(yaml.code, yaml.stderr).toBe(0);
    expect(yaml.stdout).toMatch(/^sockets:\n {2}- protocol: tcp\n/);
    expect(yaml.stdout).toContain(`netnsName: ${ns}`);
    const json = runCli(["scan", "-t", "--netns", ns, "-o", "json"]);
    const inodes = (doc: { sockets: Socket[] }) => doc.sockets.map((x) => `${x.inode} ${x.state}`).sort();
    expect(inodes(parse(yaml.stdout) as { sockets: Socket[] })).toEqual(inodes(JSON.parse(json.stdout)));
  });
});
