import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validateBaselines } from "../../api/validate.js";
import { ackException, placeException, resolveExpiry, summarizeExceptions } from "./ack.js";
import { compileBaseline } from "./compile.js";
import {
  applyExceptions,
  findingPatternKey,
  parsePatternKey,
  patternKey,
  patternOf,
  patternOfException,
} from "./patterns.js";
import type { Finding } from "./types.js";

const NOW = new Date("2026-11-24T12:00:00Z");

const beacon: Finding = {
  rule: "Beaconing",
  severity: "medium",
  message: "…",
  baseline: "",
  scope: "pod shop/web-1",
  peer: { direction: "egress", address: "198.51.100.7", port: 443, protocol: "TCP" },
  holder: { pid: 812, process: "updater" },
  count: 19,
};
const tool: Finding = {
  rule: "NetworkDiscoveryTool",
  severity: "medium",
  message: "…",
  baseline: "",
  scope: "pod shop/web-1",
  holder: { pid: 4618, process: "ss", cmdline: "ss\0-tanp" },
  count: 1,
};
const listener: Finding = {
  rule: "UnexpectedListener",
  severity: "high",
  message: "…",
  baseline: "shop/web",
  scope: "pod shop/web-2",
  socket: {
    protocol: "tcp",
    localAddress: "0.0.0.0",
    localPort: 4444,
    remoteAddress: "0.0.0.0",
    remotePort: 0,
    state: "LISTEN",
    pid: 9,
    process: "nc",
    netns: 1,
  },
  count: 1,
};

describe("finding patterns", () => {
  it("name what stays across pods and restarts: rule, peer or listener, process", () => {
    expect(findingPatternKey(beacon)).toBe("Beaconing/198.51.100.7/443/*");
    expect(findingPatternKey({ ...beacon, scope: "pod shop/web-9", holder: { pid: 1 } })).toBe(
      "Beaconing/198.51.100.7/443/*",
    );
    expect(findingPatternKey(tool)).toBe("NetworkDiscoveryTool/*/*/ss");
    expect(findingPatternKey(listener)).toBe("UnexpectedListener/0.0.0.0/4444/nc");
  });

  it("round-trip through the printed key for any process name, and the key is one safe word", () => {
    fc.assert(
      // Any text /proc can give: decoded from UTF-8, so no lone surrogate halves.
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 40 }),
        fc.option(fc.nat(65535), { nil: undefined }),
        (process, port) => {
          const p = {
            rule: "NetworkDiscoveryTool",
            ...(port !== undefined ? { port } : {}),
            ...(process ? { process } : {}),
          };
          const key = patternKey(p);
          expect(key).toMatch(/^[A-Za-z0-9._:@+,=%*/-]+$/);
          expect(key.split("/")).toHaveLength(4);
          expect(parsePatternKey(key)).toEqual(p);
        },
      ),
    );
    expect(patternKey({ rule: "Beaconing", address: "2001:db8::1", port: 443 })).toBe(
      "Beaconing/2001:db8::1/443/*",
    );
    expect(patternKey({ rule: "UnexpectedEgress", process: "x;rm -rf ~/*" })).toBe(
      "UnexpectedEgress/*/*/x%3Brm%20-rf%20~%2F%2A".replace("~", "%7E"),
    );
  });

  it("refuse keys that are not four parts, name no exception rule, or have a bad port, saying what is expected", () => {
    expect(() => parsePatternKey("Beaconing")).toThrow(/1 part\(s\); expected RULE\/ADDRESS\/PORT\/PROCESS/);
    expect(() => parsePatternKey("CannotEvaluateOffline/*/*/*")).toThrow(/not a rule an exception can name/);
    expect(() => parsePatternKey("Beaconing/*/70000/*")).toThrow(/not 0–65535/);
    expect(() => parsePatternKey("Beaconing/*/*/%E2%28")).toThrow(/percent-encoding/);
  });
});

describe("exceptions on findings", () => {
  const compiled = (exceptions: object[]) =>
    compileBaseline({
      apiVersion: "socklens.io/v1alpha1",
      kind: "NetworkBaseline",
      metadata: { name: "web", namespace: "shop" },
      spec: { podSelector: {}, mode: "Alert", exceptions: exceptions as never },
    }).exceptions;

  it("suppress a detector's finding by its pattern, a CIDR covering the peer, until expiry", () => {
    const ex = compiled([
      {
        rule: "Beaconing",
        address: "198.51.100.0/24",
        port: 443,
        reason: "vendor",
        expires: "2026-12-01T00:00:00Z",
      },
    ]);
    expect(applyExceptions(ex, [beacon, tool], NOW).suppressed.map((x) => x.finding)).toEqual([beacon]);
    const later = new Date("2026-12-01T00:00:00Z");
    expect(applyExceptions(ex, [beacon], later).findings).toEqual([beacon]);
  });

  it("a Confirmed verdict never suppresses", () => {
    const ex = compiled([
      { rule: "NetworkDiscoveryTool", process: "ss", reason: "INC-1", verdict: "Confirmed" },
    ]);
    expect(applyExceptions(ex, [tool], NOW).findings).toEqual([tool]);
  });

  it("an exception's own pattern key is the finding's (what status shows)", () => {
    const e = ackException({ key: findingPatternKey(listener), reason: "debug" }, NOW);
    expect(patternKey(patternOfException(e))).toBe(findingPatternKey(listener));
    expect(applyExceptions(compiled([e]), [listener], NOW).suppressed).toHaveLength(1);
  });
});

describe("ack entries", () => {
  it("default to 90 days, take durations, times and never; refuse the past and nonsense", () => {
    expect(resolveExpiry(undefined, NOW)).toBe("2027-02-22T12:00:00Z");
    expect(resolveExpiry("30d", NOW)).toBe("2026-12-24T12:00:00Z");
    expect(resolveExpiry("never", NOW)).toBeUndefined();
    expect(resolveExpiry("2027-01-01T00:00:00Z", NOW)).toBe("2027-01-01T00:00:00Z");
    expect(() => resolveExpiry("2020-01-01T00:00:00Z", NOW)).toThrow(/in the past/);
    expect(() => resolveExpiry("soon", NOW)).toThrow(/neither a duration/);
  });

  it("write an entry that validates, with who and when; a masked address is refused", () => {
    const e = ackException(
      { key: "Beaconing/198.51.100.7/443/*", reason: " vendor ", by: "alice", confirm: true },
      NOW,
    );
    expect(e).toEqual({
      rule: "Beaconing",
      address: "198.51.100.7",
      port: 443,
      reason: "vendor",
      expires: "2027-02-22T12:00:00Z",
      verdict: "Confirmed",
      by: "alice",
      created: "2026-11-24T12:00:00Z",
    });
    const yaml = `apiVersion: socklens.io/v1alpha1\nkind: NetworkBaseline\nmetadata: {name: web}\nspec:\n  podSelector: {}\n  exceptions:\n    - ${JSON.stringify(e)}\n`;
    expect(validateBaselines(yaml, "t.yaml").problems).toEqual([]);
    expect(() => ackException({ key: "Beaconing/x.x.x.x/443/*", reason: "r" }, NOW)).toThrow(/masked/);
    expect(() => ackException({ key: "Beaconing/198.51.100.7/443/*", reason: "  " }, NOW)).toThrow(
      /--reason/,
    );
  });

  it("replace the entry for the same pattern and verdict, else append; refuse a full list", () => {
    const a = ackException({ key: "Beaconing/198.51.100.7/443/*", reason: "a" }, NOW);
    const b = ackException({ key: "Beaconing/198.51.100.7/443/*", reason: "b", confirm: true }, NOW);
    expect(placeException([a], { ...a, reason: "renewed" })).toEqual({ index: 0, replaced: true });
    expect(placeException([a], b)).toEqual({ index: 1, replaced: false });
    const full = Array.from({ length: 64 }, (_, i) => ({ ...a, port: i }));
    expect(() => placeException(full, b)).toThrow(/already holds 64 entries/);
  });

  it("summarize for status: active, expired, confirmed, each with its key", () => {
    const s = summarizeExceptions(
      [
        {
          rule: "Beaconing",
          address: "198.51.100.7",
          reason: "a",
          expires: "2027-01-01T00:00:00Z",
          by: "alice",
        },
        { rule: "UnexpectedListener", port: 4444, reason: "b", expires: "2026-11-01T00:00:00Z" },
        { rule: "NetworkDiscoveryTool", process: "ss", reason: "c", verdict: "Confirmed" },
      ],
      NOW,
    );
    expect(s).toMatchObject({ active: 1, expired: 1, confirmed: 1 });
    expect(s.patterns.map((p) => [p.pattern, p.state, p.verdict])).toEqual([
      ["Beaconing/198.51.100.7/*/*", "Active", "Benign"],
      ["UnexpectedListener/*/4444/*", "Expired", "Benign"],
      ["NetworkDiscoveryTool/*/*/ss", "Active", "Confirmed"],
    ]);
  });
});

it("patternOf leaves a threshold's example port out", () => {
  const f: Finding = {
    ...listener,
    rule: "TcpStateThreshold",
    socket: { ...(listener.socket as NonNullable<Finding["socket"]>), state: "CLOSE_WAIT", localPort: 51123 },
    state: "CLOSE_WAIT",
  };
  expect(patternOf(f)).toEqual({ rule: "TcpStateThreshold", process: "nc" });
});
