import { describe, expect, it } from "vitest";
import { Logger, parseLogLevel } from "./log.js";

const at = () => new Date("2026-11-24T01:00:00Z");

describe("Logger", () => {
  it("writes one JSON line with a real level, and drops what is below --log-level", () => {
    const lines: string[] = [];
    const l = new Logger({ level: "warn", write: (s) => lines.push(s), base: { node: "n1" }, now: at });
    l.log("scan", { sockets: 3 });
    l.log("watch failed, retrying", { level: "warn", kind: "pods" });
    l.error("scan failed", { error: "boom" });
    l.debug("noise");
    expect(lines.map((s) => JSON.parse(s))).toEqual([
      {
        time: "2026-11-24T01:00:00.000Z",
        level: "warn",
        msg: "watch failed, retrying",
        node: "n1",
        kind: "pods",
      },
      { time: "2026-11-24T01:00:00.000Z", level: "error", msg: "scan failed", node: "n1", error: "boom" },
    ]);
  });

  it("a field cannot forge the level, time or message, nor add a line", () => {
    const lines: string[] = [];
    const l = new Logger({ level: "debug", write: (s) => lines.push(s), now: at });
    l.info("x", { msg: "forged", time: "then", process: 'evil\n{"level":"error"}' });
    l.log("y", { level: "critical" });
    expect(lines).toHaveLength(2);
    expect(lines.every((s) => s.endsWith("}\n") && s.indexOf("\n") === s.length - 1)).toBe(true);
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({
      level: "info",
      msg: "x",
      time: "2026-11-24T01:00:00.000Z",
    });
    // An unknown level in a field is no level: info.
    expect(JSON.parse(lines[1] ?? "")).toMatchObject({ level: "info", msg: "y" });
  });
});

describe("parseLogLevel", () => {
  it.each([
    [undefined, "info"],
    ["DEBUG", "debug"],
    ["warning", "warn"],
    [" error ", "error"],
  ])("%s → %s", (text, want) => {
    expect(parseLogLevel(text)).toBe(want);
  });

  it("names the valid levels", () => {
    expect(() => parseLogLevel("verbose")).toThrow(
      '"verbose" is not a log level; use one of debug, info, warn, error',
    );
  });
});
