/**
 * Event notes and OTel log bodies are the boundaries where a finding's message (raw text
 * with a process name in it) meets a human: escaped there once, never twice.
 * test/host/hostile-names.test.ts does the same with a real process and the real CLI.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Finding } from "../../src/core/baseline/types.js";
import { EventRecorder, eventNote } from "../../src/kube/events.js";
import { Telemetry } from "../../src/telemetry/otel.js";

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

/** An EventsV1Api stand-in that keeps what would be sent to the API server. */
function capturingKubeConfig(sent: { note?: string }[]): KubeConfig {
  const api = {
    createNamespacedEvent: async ({ body }: { body: { note?: string; metadata: { name: string } } }) => {
      sent.push(body);
      return { metadata: { name: body.metadata.name } };
    },
  };
  return { makeApiClient: () => api } as unknown as KubeConfig;
}

describe("Event notes", () => {
  it("carry the finding escaped exactly once: one line, no ESC", async () => {
    const sent: { note?: string }[] = [];
    const recorder = new EventRecorder(capturingKubeConfig(sent), { controller: "t", instance: "t" });
    await recorder.record({
      regarding: { apiVersion: "v1", kind: "Pod", namespace: "shop", name: "web" },
      type: "Warning",
      reason: finding.rule,
      note: finding.message,
      key: "k",
    });
    expect(recorder.stats).toMatchObject({ created: 1, failed: 0 });
    const note = sent[0]?.note ?? "";
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
  let server: Server;
  const received: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => {
        body += d;
      });
      req.on("end", () => {
        if (req.url === "/v1/logs") received.push(body);
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("carry the finding escaped exactly once; the process attribute keeps the raw name", async () => {
    const { port } = server.address() as AddressInfo;
    const telemetry = new Telemetry({ endpoint: `http://127.0.0.1:${port}`, nodeName: "n1", version: "t" });
    telemetry.finding(finding, { namespace: "shop", name: "web" }, true);
    await telemetry.flush();
    await telemetry.shutdown();
    // What went over the wire: OTLP/HTTP JSON.
    const payload = JSON.parse(received.join("")) as {
      resourceLogs: {
        scopeLogs: {
          logRecords: {
            body: { stringValue: string };
            attributes: { key: string; value: { stringValue?: string } }[];
          }[];
        }[];
      }[];
    };
    const record = payload.resourceLogs[0]?.scopeLogs[0]?.logRecords[0];
    expect(record?.body.stringValue).toBe(finding.message.replace(PROCESS, ESCAPED));
    expect(record?.body.stringValue).not.toMatch(/\p{Cc}/u);
    const attr = record?.attributes.find((a) => a.key === "process.executable.name");
    expect(attr?.value.stringValue).toBe(PROCESS);
  });
});
