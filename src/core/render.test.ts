import { describe, expect, it } from "vitest";
import { renderSocketTable, renderSummary, renderTable, summarize } from "./render.js";
import type { Socket } from "./socket.js";

const HOSTILE = "x\ntcp 6.6.6.6:22 0.0.0.0:* LISTEN\u001b[31m";

const listener: Socket = {
  protocol: "tcp",
  family: "inet",
  localAddress: "0.0.0.0",
  localPort: 8080,
  remoteAddress: "0.0.0.0",
  remotePort: 0,
  state: "LISTEN",
  inode: 4242,
  netns: 4026531840,
  pid: 812,
  process: HOSTILE,
  cmdline: `${HOSTILE} --evil\u202e`,
  user: "r\u001b]0;pwned\u0007oot",
};

describe("renderTable", () => {
  it("renders a million rows (no spread into Math.max), one line each", () => {
    const rows: string[][] = new Array(1_000_000);
    for (let i = 0; i < rows.length; i++)
      rows[i] = ["tcp", `10.0.${i & 255}.${i >> 16}:${i & 65535}`, "LISTEN"];
    const started = performance.now();
    const text = renderTable(["Proto", "Local Address", "State"], rows);
    const ms = performance.now() - started;
    let lines = 1;
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lines++;
    expect(lines).toBe(1_000_001);
    expect(text.slice(0, text.indexOf("\n"))).toBe("Proto  Local Address      State");
    // Measured about 2 s on a loaded 2-core machine; the bound only catches a quadratic turn.
    expect(ms).toBeLessThan(20_000);
  }, 60_000);

  it("escapes every cell: a newline or ESC in a value adds no row and reaches no terminal", () => {
    const text = renderTable(
      ["A", "B"],
      [
        ["ok", HOSTILE],
        ["a\\b", "c"],
      ],
    );
    expect(text.split("\n")).toEqual([
      "A     B",
      "ok    x\\ntcp 6.6.6.6:22 0.0.0.0:* LISTEN\\x1b[31m",
      "a\\\\b  c",
    ]);
  });

  it("pads columns by the escaped width, so escaped rows stay aligned", () => {
    const text = renderTable(
      ["Name", "Port"],
      [
        ["\u001b", "1"],
        ["abcd", "2"],
      ],
    );
    expect(text.split("\n")).toEqual(["Name  Port", "\\x1b  1", "abcd  2"]);
  });
});

describe("renderSocketTable and renderSummary with hostile names", () => {
  it.each([
    ["table", {}],
    ["wide", { wide: true }],
  ])("%s: one line per socket, no control byte, the name shown escaped", (_name, options) => {
    const text = renderSocketTable([listener, { ...listener, inode: 4243, localPort: 8081 }], options);
    expect(text.split("\n")).toHaveLength(3);
    for (const line of text.split("\n")) expect(line).not.toMatch(/[\p{Cc}\u202a-\u202e]/u);
    expect(text).toContain("812/x\\ntcp 6.6.6.6:22 0.0.0.0:* LISTEN\\x1b[31m");
    if ("wide" in options) expect(text).toContain("--evil\\u202e");
  });

  it("summary: a hostile netns name stays on its line", () => {
    const rows = summarize([{ ...listener, netnsName: "blue\n4026531840(red)  -  tcp  99" }]);
    const text = renderSummary(rows);
    expect(text.split("\n")).toHaveLength(2);
    expect(text).toContain("4026531840(blue\\n4026531840(red)  -  tcp  99)");
  });
});

describe("renderSocketTable columns (issue 14)", () => {
  const HOST = 4026531840;
  const closeWait: Socket = {
    ...listener,
    process: "app",
    cmdline: "app",
    state: "CLOSE_WAIT",
    remoteAddress: "10.0.0.9",
    remotePort: 51512,
    rxQueue: 4096,
    txQueue: 17,
    uid: 0,
    user: "root",
  };
  const inPod: Socket = {
    ...closeWait,
    inode: 99,
    netns: 4026532318,
    netnsName: "app",
    uid: 1000,
    container: { id: "c0ffee5555556666", runtime: "containerd" },
  };
  const header = (text: string) => (text.split("\n")[0] ?? "").split(/\s{2,}/);

  it("are the same whatever the host holds: one namespace or several, containers or none", () => {
    const expected = [
      "Proto",
      "Recv-Q",
      "Send-Q",
      "Local Address",
      "Foreign Address",
      "State",
      "PID/Program",
      "Netns",
      "Container/Pod",
    ];
    expect(header(renderSocketTable([closeWait], { hostNetns: HOST }))).toEqual(expected);
    expect(header(renderSocketTable([closeWait, inPod], { hostNetns: HOST }))).toEqual(expected);
    expect(header(renderSocketTable([], { hostNetns: HOST }))).toEqual(expected);
    expect(header(renderSocketTable([closeWait], { peer: true })).at(-1)).toBe("Peer");
  });

  it("shows the queues, names the host namespace host and keeps a named one's inode", () => {
    const lines = renderSocketTable([closeWait, inPod], { hostNetns: HOST }).split("\n");
    expect(lines[1]?.split(/\s{2,}/)).toEqual([
      "tcp",
      "4096",
      "17",
      "0.0.0.0:8080",
      "10.0.0.9:51512",
      "CLOSE_WAIT",
      "812/app",
      "host",
      "-",
    ]);
    expect(lines[2]).toContain("4026532318(app)");
    expect(lines[2]).toContain("c0ffee555555");
  });

  it("-o wide: UID is always the number, never a name from this host's /etc/passwd", () => {
    const text = renderSocketTable([closeWait, inPod], { wide: true, hostNetns: HOST });
    const rows = text.split("\n").map((l) => l.split(/\s{2,}/));
    const uid = rows[0]?.indexOf("UID") ?? -1;
    expect(uid).toBeGreaterThan(0);
    expect(rows.slice(1).map((r) => r[uid])).toEqual(["0", "1000"]);
    expect(text).not.toContain("root");
  });
});
