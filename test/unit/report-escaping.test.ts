/**
 * Event notes and OTel log bodies are the boundaries where a finding's message (raw text
 * with a process name in it) meets a human: escaped there once, never twice.
 * test/host/hostile-names.test.ts does the same with a real process and the real CLI.
 */
import { describe, expect, it } from "vitest";
import type { Finding } from "../../src/core/baseline/types.js";
import { eventNote } from "../../src/kube/events.js";
import { eventNoteSent, logRecordSent } from "./report-capture.js";

// A backslash too: escaping twice would show it as four.
const PROCESS = "x\ntcp 6.6.6.6:22 0.0.0.0:* LISTEN\u001b[31m\\";
const ESCAPED = "x\\ntcp 6.6.6.6:22 0.0.0.0:* LISTEN\\x1b[31m\\\\";

const finding: Finding = {
  rule: "UnexpectedListener",
  severity: "high",
  message: `pod shop/web opened an unexpected listener on 0.0.0.0:4444/TCP (process ${PROCESS}, pid 29633); baseline shop/web allows 8080/TCP only`,
  baseline: "shop/web",
  scope: "pod shop/web",
  socket: {
    protocol: "tcp",
    localAddress: "0.0.0.0",
    localPort: 4444,
    remoteAddress: "0.0.0.0",
    remotePort: 0,
    state: "LISTEN",
    netns: 4026532318,
    pid: 29633,
    process: PROCESS,
  },
  count: 1,
};

describe("Event notes", () => {
  it("carry the finding escaped exactly once: one line, no ESC", async () => {
    const { note, stats } = await eventNoteSent(finding);
    expect(stats).toMatchObject({ created: 1, failed: 0 });
    expect(note).toBe(finding.message.replace(PROCESS, ESCAPED));
    expect(note).not.toMatch(/\p{Cc}/u);
  });

  it("are cut to the API's 1024 bytes at a character, never inside an escape", () => {
    const long = eventNote(`${"é".repeat(500)}${"\u001b".repeat(100)}`);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(1024);
    expect(long.endsWith("\\x1b…")).toBe(true);
    expect(eventNote("short \u001b")).toBe("short \\x1b");
  });
});

describe("OTel log bodies", () => {
  it("carry the finding escaped exactly once; the process attribute keeps the raw name", async () => {
    // What went over the wire: OTLP/HTTP JSON.
    const record = await logRecordSent(finding);
    expect(record?.body.stringValue).toBe(finding.message.replace(PROCESS, ESCAPED));
    expect(record?.body.stringValue).not.toMatch(/\p{Cc}/u);
    const attr = record?.attributes.find((a) => a.key === "socklens.process.comm");
    expect(attr?.value.stringValue).toBe(PROCESS);
  });
});
