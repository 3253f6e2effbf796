import { describe, expect, it } from "vitest";
import { attributeOrphans } from "./orphans.js";
import type { Socket } from "./socket.js";

function sock(netns: number, p: Partial<Socket> = {}): Socket {
  return {
    protocol: "tcp",
    family: "inet",
    localAddress: "10.0.0.5",
    localPort: 40000,
    remoteAddress: "10.0.0.7",
    remotePort: 5432,
    state: "ESTABLISHED",
    inode: 1,
    netns,
    ...p,
  };
}

describe("attributeOrphans", () => {
  const a = sock(1, { pid: 10 });
  const b = sock(2, { pid: 20 });
  const b2 = sock(3, { pid: 21 });
  const c = sock(3, { pid: 30 });
  const stdio = sock(4, { protocol: "unix", family: "unix", pid: 10 });
  const tw1 = sock(1, { state: "TIME_WAIT", inode: 0 });
  const tw2 = sock(2, { state: "TIME_WAIT", inode: 0 });
  const tw3 = sock(3, { state: "TIME_WAIT", inode: 0 });
  const tw4 = sock(4, { state: "TIME_WAIT", inode: 0 });
  const all = [a, b, b2, c, stdio, tw1, tw2, tw3, tw4];
  const owners = new Map<string, Socket[]>([
    ["A", [a, stdio]],
    ["B", [b, b2]],
    ["C", [c]],
  ]);

  it("gives each owner the orphans of the namespaces only it claims by inet sockets", () => {
    const got = attributeOrphans(all, owners);
    expect(got.get("A")).toEqual([tw1]);
    expect(got.get("B")).toEqual([tw2]);
    // netns 3 is claimed by B and C: ambiguous; netns 4 only by A's unix socket: nobody's.
    expect(got.get("C")).toBeUndefined();
    expect([...got.values()].flat()).not.toContain(tw3);
    expect([...got.values()].flat()).not.toContain(tw4);
  });

  it("owners that may not claim (hostNetwork pods) take nothing and make nothing ambiguous", () => {
    const got = attributeOrphans(all, owners, (o) => o !== "B");
    expect(got.get("B")).toBeUndefined();
    expect(got.get("C")).toEqual([tw3]);
  });
});
