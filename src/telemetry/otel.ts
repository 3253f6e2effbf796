/**
 * OpenTelemetry for the agent: the only module that imports the SDK. Metrics and logs go
 * over OTLP/HTTP to a collector; attribute names follow the semantic conventions
 * (k8s.*, network.*, process.*, server.port) so dashboards built for other tools work.
 */
import type { Attributes, ObservableResult } from "@opentelemetry/api";
import { type Logger, SeverityNumber } from "@opentelemetry/api-logs";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import type { Finding } from "../core/baseline/types.js";
import { escapeText } from "../core/escape.js";

export interface TelemetryOptions {
  /** OTLP/HTTP base URL, e.g. http://otel-collector:4318 */
  endpoint: string;
  nodeName: string;
  version: string;
  exportIntervalMs?: number;
}

/** One pod's socket counts by protocol and state, as the latest scan saw them. */
export interface PodSocketCounts {
  namespace: string;
  pod: string;
  counts: Map<string, number>; // "tcp|ESTABLISHED" → n
}

const SEVERITY: Record<Finding["severity"], SeverityNumber> = {
  info: SeverityNumber.INFO,
  low: SeverityNumber.WARN,
  medium: SeverityNumber.WARN2,
  high: SeverityNumber.ERROR,
};

export class Telemetry {
  readonly #meters: MeterProvider;
  readonly #logs: LoggerProvider;
  readonly #logger: Logger;
  readonly #violations;
  #latest: PodSocketCounts[] = [];

  constructor(o: TelemetryOptions) {
    const resource = resourceFromAttributes({
      [ATTR_SERVICE_NAME]: "socklens-agent",
      [ATTR_SERVICE_VERSION]: o.version,
      "k8s.node.name": o.nodeName,
    });
    this.#meters = new MeterProvider({
      resource,
      readers: [
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter({ url: `${o.endpoint}/v1/metrics` }),
          exportIntervalMillis: o.exportIntervalMs ?? 30_000,
        }),
      ],
    });
    this.#logs = new LoggerProvider({
      resource,
      processors: [
        new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${o.endpoint}/v1/logs` }) }),
      ],
    });
    const meter = this.#meters.getMeter("socklens.agent", o.version);
    this.#logger = this.#logs.getLogger("socklens.agent", o.version);
    this.#violations = meter.createCounter("socklens.violations", {
      unit: "{violation}",
      description: "Baseline violations found, by rule, pod and baseline (one per finding per scan)",
    });
    meter
      .createObservableGauge("socklens.sockets", {
        unit: "{socket}",
        description: "Sockets per pod by transport and state, at the last scan",
      })
      .addCallback((r: ObservableResult) => {
        for (const p of this.#latest) {
          for (const [key, n] of p.counts) {
            const [transport, state] = key.split("|");
            const attrs: Attributes = {
              "k8s.namespace.name": p.namespace,
              "k8s.pod.name": p.pod,
              "network.transport": transport,
              "socklens.socket.state": state,
            };
            r.observe(n, attrs);
          }
        }
      });
  }

  setSocketCounts(counts: PodSocketCounts[]): void {
    this.#latest = counts;
  }

  /** Count a finding every scan it is seen; log it when it is new (`isNew`). */
  finding(f: Finding, pod: { namespace: string; name: string }, isNew: boolean): void {
    const attrs: Attributes = {
      "k8s.namespace.name": pod.namespace,
      "k8s.pod.name": pod.name,
      "socklens.rule": f.rule,
      "socklens.baseline": f.baseline,
      "socklens.severity": f.severity,
    };
    this.#violations.add(1, attrs);
    if (!isNew) return;
    const detail: Attributes = { ...attrs };
    if (f.peer) {
      detail["network.peer.address"] = f.peer.address;
      detail["network.peer.port"] = f.peer.port;
      detail["network.transport"] = f.peer.protocol.toLowerCase();
      detail["network.io.direction"] = f.peer.direction === "egress" ? "transmit" : "receive";
    }
    if (f.socket) {
      detail["server.port"] = f.peer?.direction === "egress" ? f.socket.remotePort : f.socket.localPort;
      if (f.socket.pid !== undefined) detail["process.pid"] = f.socket.pid;
      if (f.socket.process) detail["process.executable.name"] = f.socket.process;
    }
    if (f.mitre) detail["threat.technique.id"] = f.mitre.id;
    this.#logger.emit({
      // The body is text a log viewer prints as is: escaped here, once (src/core/escape.ts).
      // Attributes are structured data and keep the raw values, as JSON output does.
      body: escapeText(f.message),
      severityNumber: SEVERITY[f.severity],
      severityText: f.severity.toUpperCase(),
      eventName: "socklens.violation",
      attributes: detail,
    });
  }

  async flush(): Promise<void> {
    await Promise.all([this.#meters.forceFlush(), this.#logs.forceFlush()]);
  }

  async shutdown(): Promise<void> {
    await Promise.all([this.#meters.shutdown(), this.#logs.shutdown()]);
  }
}
