// The real OpenTelemetry Collector receives what the project's OTel SDK dependencies send
// over OTLP/HTTP, and writes it to a file with every attribute intact.
import { randomUUID } from "node:crypto";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collector, parseFileExporterOutput } from "./collector.js";
import { pinnedVersions, requireTool } from "./tools.js";

let collector: Collector;
// Unique per run, so a match cannot come from anything but this test's own export.
const runId = randomUUID();
const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: "socklens-test", "socklens.test.run": runId });

beforeAll(async () => {
  collector = await Collector.start();
});

afterAll(async () => {
  await collector?.stop();
});

describe("OpenTelemetry Collector", () => {
  it("is the pinned build with the components the tests need", async () => {
    const { execFile } = await import("node:child_process");
    const out = await new Promise<string>((resolve, reject) =>
      execFile(requireTool("otelcol"), ["components"], (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      ),
    );
    expect(out).toContain(`version: ${pinnedVersions().otelcol.replace(/^v/, "")}`);
    for (const name of ["otlp", "file", "debug"]) expect(out).toContain(`name: ${name}`);
  });

  it("receives a metric with its attributes over OTLP/HTTP", async () => {
    const provider = new MeterProvider({
      resource,
      readers: [
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter({ url: `${collector.httpEndpoint}/v1/metrics` }),
          exportIntervalMillis: 60_000, // flushed by hand below
        }),
      ],
    });
    const counter = provider.getMeter("socklens.test").createCounter("socklens.test.sockets", {
      unit: "{socket}",
      description: "Sockets seen by the smoke test",
    });
    counter.add(7, { "k8s.namespace.name": "shop", "network.transport": "tcp", "server.port": 8080 });
    await provider.forceFlush();
    await provider.shutdown();

    const metric = await collector.waitFor("metric socklens.test.sockets", (r) =>
      r.metrics.find((m) => m.name === "socklens.test.sockets" && m.resource["socklens.test.run"] === runId),
    );
    expect(metric).toMatchObject({
      type: "sum",
      unit: "{socket}",
      description: "Sockets seen by the smoke test",
      scope: "socklens.test",
      resource: { "service.name": "socklens-test" },
    });
    expect(metric.dataPoints).toEqual([
      {
        attributes: { "k8s.namespace.name": "shop", "network.transport": "tcp", "server.port": 8080 },
        value: 7,
      },
    ]);
  });

  it("receives a log record with its attributes over OTLP/HTTP", async () => {
    const provider = new LoggerProvider({
      resource,
      processors: [
        new SimpleLogRecordProcessor({
          exporter: new OTLPLogExporter({ url: `${collector.httpEndpoint}/v1/logs` }),
        }),
      ],
    });
    provider.getLogger("socklens.test").emit({
      severityNumber: SeverityNumber.WARN,
      severityText: "WARN",
      body: "pod shop/web-1 listens on TCP 9090, which its baseline does not allow",
      attributes: { "k8s.pod.name": "web-1", "server.port": 9090, "socklens.rule": "UnexpectedListener" },
    });
    await provider.forceFlush();
    await provider.shutdown();

    const log = await collector.waitFor("log record", (r) =>
      r.logs.find((l) => l.resource["socklens.test.run"] === runId),
    );
    expect(log).toMatchObject({
      body: "pod shop/web-1 listens on TCP 9090, which its baseline does not allow",
      severityText: "WARN",
      severityNumber: SeverityNumber.WARN,
      scope: "socklens.test",
      attributes: { "k8s.pod.name": "web-1", "server.port": 9090, "socklens.rule": "UnexpectedListener" },
    });
  });

  it("accepts connections on the OTLP gRPC port as well", async () => {
    const { connect } = await import("node:net");
    await new Promise<void>((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port: collector.grpcPort }, () => {
        s.destroy();
        resolve();
      });
      s.on("error", reject);
    });
  });
});

describe("parseFileExporterOutput", () => {
  it("flattens OTLP/JSON and skips a line cut short mid-write", () => {
    const line = JSON.stringify({
      resourceMetrics: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "x" } }] },
          scopeMetrics: [
            {
              scope: { name: "s" },
              metrics: [
                {
                  name: "g",
                  gauge: {
                    dataPoints: [
                      { asInt: "5", attributes: [{ key: "ok", value: { boolValue: true } }] },
                      {
                        asDouble: 1.5,
                        attributes: [{ key: "l", value: { arrayValue: { values: [{ intValue: 2 }] } } }],
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    });
    const got = parseFileExporterOutput(`${line}\n{"resourceLogs":[{"res`);
    expect(got.logs).toEqual([]);
    expect(got.metrics).toEqual([
      {
        name: "g",
        unit: "",
        description: "",
        type: "gauge",
        resource: { "service.name": "x" },
        scope: "s",
        dataPoints: [
          { attributes: { ok: true }, value: 5 },
          { attributes: { l: [2] }, value: 1.5 },
        ],
      },
    ]);
  });
});
