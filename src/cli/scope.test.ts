import { describe, expect, it } from "vitest";
import type { Socket } from "../core/socket.js";
import { parseScope } from "./scope.js";

const s = (p: Partial<Socket>): Socket => ({
  protocol: "tcp",
  family: "inet",
  localAddress: "10.0.0.5",
  localPort: 1,
  remoteAddress: "10.0.0.9",
  remotePort: 443,
  state: "ESTABLISHED",
  inode: 1,
  netns: 200,
  ...p,
});

describe("parseScope (owner scopes)", () => {
  it("adds orphan sockets of the owner's namespace, judged by its inet sockets only", () => {
    const scope = parseScope(
      { pid: "42" },
      { proc: "/nonexistent", runNetns: "/nonexistent", passwd: "/nonexistent" },
    );
    const mine = s({ pid: 42 });
    const orphanHere = s({ state: "TIME_WAIT", inode: 0, localPort: 2 });
    // The owner's stdio socketpair lives in the host namespace (1): that must not pull in
    // the host's TIME_WAIT sockets.
    const stdio = s({ protocol: "unix", family: "unix", netns: 1, pid: 42 });
    const hostOrphan = s({ netns: 1, state: "TIME_WAIT", inode: 0, remoteAddress: "203.0.113.80" });
    const other = s({ pid: 7, netns: 300 });
    expect(scope.select([mine, orphanHere, stdio, hostOrphan, other])).toEqual([mine, stdio, orphanHere]);
    expect(scope.description).toBe("pid 42");
  });
});
