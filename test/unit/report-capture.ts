/**
 * Where Events and OTel logs would go, kept for tests: an EventsV1Api stand-in that records
 * what would be sent to the API server, and an OTLP/HTTP endpoint that keeps the JSON it gets.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Finding } from "../../src/core/baseline/types.js";
import { EventRecorder } from "../../src/kube/events.js";
import { Telemetry } from "../../src/telemetry/otel.js";

export interface SentEvent {
  note?: string;
  metadata: { name: string };
}

export function capturingKubeConfig(sent: SentEvent[]): KubeConfig {
  const api = {
    createNamespacedEvent: async ({ body }: { body: SentEvent }) => {
      sent.push(body);
      return { metadata: { name: body.metadata.name } };
    },
  };
  return { makeApiClient: () => api } as unknown as KubeConfig;
}

export interface OtlpLogRecord {
  body: { stringValue: string };
  attributes: { key: string; value: { stringValue?: string } }[];
}

/** A local OTLP/HTTP endpoint; `logRecords()` are the log records received so far. */
export async function otlpSink(): Promise<{
  endpoint: string;
  logRecords: () => OtlpLogRecord[];
  close: () => Promise<void>;
}> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      if (req.url === "/v1/logs") bodies.push(body);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    logRecords: () =>
      bodies.flatMap((b) =>
        (
          JSON.parse(b) as { resourceLogs: { scopeLogs: { logRecords: OtlpLogRecord[] }[] }[] }
        ).resourceLogs.flatMap((r) => r.scopeLogs.flatMap((s) => s.logRecords)),
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The note the Event recorder would send for a finding about pod shop/web. */
export async function eventNoteSent(
  finding: Finding,
): Promise<{ note: string; stats: EventRecorder["stats"] }> {
  const sent: SentEvent[] = [];
  const recorder = new EventRecorder(capturingKubeConfig(sent), { controller: "t", instance: "t" });
  await recorder.record({
    regarding: { apiVersion: "v1", kind: "Pod", namespace: "shop", name: "web" },
    type: "Warning",
    reason: finding.rule,
    note: finding.message,
    key: "k",
  });
  return { note: sent[0]?.note ?? "", stats: recorder.stats };
}

/** The log record the agent's telemetry would export over OTLP/HTTP for a new finding. */
export async function logRecordSent(finding: Finding): Promise<OtlpLogRecord | undefined> {
  const sink = await otlpSink();
  // OTLP/HTTP with JSON bodies, so the sink can read them without a protobuf decoder.
  const telemetry = new Telemetry({
    service: "socklens-agent",
    version: "t",
    otlp: { endpoint: sink.endpoint, logs: { protocol: "http/json", url: `${sink.endpoint}/v1/logs` } },
    kubernetes: { nodeName: "n1" },
  });
  telemetry.finding(finding, { namespace: "shop", name: "web" }, true);
  await telemetry.shutdown();
  await sink.close();
  return sink.logRecords()[0];
}
