import { describe, expect, it } from "vitest";
import { HOST_NETNS, makeSocket } from "../../test/support/socket.js";
import { diffSnapshots, hasDifferences } from "./diff.js";

const NS = HOST_NETNS;
const sock = makeSocket;

const web = sock({ localPort: 8080, process: "web" });
const inbound = sock({
  localAddress: "10.0.0.5",
  localPort: 8080,
  remoteAddress: "10.0.0.9",
  remotePort: 51000,
  state: "ESTABLISHED",
});
const toDb = sock({
  localAddress: "10.0.0.5",
  localPort: 40000,
  remoteAddress: "10.0.0.7",
  remotePort: 5432,
  state: "ESTABLISHED",
});

describe("diffSnapshots", () => {
  it("no difference between identical socket sets", () => {
    const d = diffSnapshots([web, inbound, toDb], [web, inbound, toDb]);
    expect(hasDifferences(d)).toBe(false);
  });

  it("a client reconnecting from a new ephemeral port is not a new peer", () => {
    const again = { ...inbound, remotePort: 52000 };
    expect(hasDifferences(diffSnapshots([web, inbound], [web, again]))).toBe(false);
  });

  it("reports a new listener, a removed one, a bind change and peers", () => {
    const before = [
      web,
      sock({ localPort: 22, process: "sshd" }),
      sock({ localPort: 9090, localAddress: "127.0.0.1" }),
      inbound,
    ];
    const after = [
      web,
      sock({ localPort: 4444, process: "nc" }),
      sock({ localPort: 9090, localAddress: "0.0.0.0" }),
      toDb,
    ];
    const d = diffSnapshots(before, after);
    expect(d.listenersAdded).toEqual([
      { scope: `netns:${NS}`, protocol: "tcp", port: 4444, address: "0.0.0.0", process: "nc" },
    ]);
    expect(d.listenersRemoved).toMatchObject([{ port: 22, process: "sshd" }]);
    expect(d.bindChanged).toMatchObject([{ port: 9090, before: ["127.0.0.1"], after: ["0.0.0.0"] }]);
    expect(d.peersAdded).toMatchObject([{ direction: "egress", peerAddress: "10.0.0.7", port: 5432 }]);
    expect(d.peersRemoved).toMatchObject([{ direction: "ingress", peerAddress: "10.0.0.9", port: 8080 }]);
    expect(hasDifferences(d)).toBe(true);
  });

  it("state counts are a difference unless ignored", () => {
    const tw = sock({
      localAddress: "10.0.0.5",
      localPort: 40001,
      remoteAddress: "10.0.0.7",
      remotePort: 5432,
      state: "TIME_WAIT",
      inode: 0,
    });
    const tw2 = { ...tw, localPort: 40002 };
    const d = diffSnapshots([web, tw], [web, tw, tw2]);
    expect(d.stateCounts).toEqual([{ state: "TIME_WAIT", before: 1, after: 2 }]);
    expect(hasDifferences(d)).toBe(true);
    expect(hasDifferences(d, { ignoreStateCounts: true })).toBe(false);
  });

  it("keys by container, so the same workload in a new namespace compares with itself", () => {
    const c = { id: "a".repeat(64), runtime: "containerd" as const };
    const d = diffSnapshots([{ ...web, container: c }], [{ ...web, netns: NS + 1, container: c }]);
    expect(hasDifferences(d)).toBe(false);
  });
});
