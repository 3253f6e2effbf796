/**
 * OpenTelemetry for the agent and the operator: the only module that imports the SDK.
 *
 * Set up by @opentelemetry/sdk-node (NodeSDK) the standard way: OTEL_RESOURCE_ATTRIBUTES and
 * OTEL_SERVICE_NAME through its resource detectors, OTEL_SDK_DISABLED, OTEL_LOG_LEVEL; OTLP
 * exporters chosen by OTEL_EXPORTER_OTLP_[SIGNAL_]PROTOCOL (http/protobuf by default, grpc,
 * http/json; otlp-config.ts) that read their own endpoint/headers/timeout variables. The
 * metric readers and log processors are handed to NodeSDK built here, because each exporter
 * is wrapped to log when it starts failing and when it recovers (health.ts), and the same
 * instruments also feed a Prometheus reader for /metrics (server.ts).
 *
 * Attribute names follow the semantic conventions (attributes.ts). NodeSDK registers the
 * global providers, so there is one Telemetry per process at a time.
 */
import {
  type Attributes,
  type Counter,
  context,
  type Histogram,
  type Meter,
  metrics,
  type ObservableResult,
  propagation,
} from "@opentelemetry/api";
import { type Logger, logs, SeverityNumber } from "@opentelemetry/api-logs";
import { getNumberFromEnv } from "@opentelemetry/core";
import { OTLPLogExporter as GrpcLogExporter } from "@opentelemetry/exporter-logs-otlp-grpc";
import { OTLPLogExporter as JsonLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPLogExporter as ProtoLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPMetricExporter as GrpcMetricExporter } from "@opentelemetry/exporter-metrics-otlp-grpc";
import { OTLPMetricExporter as JsonMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as ProtoMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { envDetector, hostDetector, processDetector, resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchLogRecordProcessor,
  type LogRecordExporter,
  type LogRecordProcessor,
} from "@opentelemetry/sdk-logs";
import {
  type IMetricReader,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from "@opentelemetry/sdk-metrics";
import { NodeSDK } from "@opentelemetry/sdk-node";
import {
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_NODE_NAME,
  ATTR_K8S_POD_NAME,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
} from "@opentelemetry/semantic-conventions";
import type { Finding } from "../core/baseline/types.js";
import { escapeText } from "../core/escape.js";
import {
  findingLogAttributes,
  findingMetricAttributes,
  type PodRef,
  podAttributes,
  SOCKLENS_ATTR,
  stateAttributes,
  transportAttributes,
} from "./attributes.js";
import { ExportHealth, WatchedLogExporter, WatchedMetricExporter } from "./health.js";
import type { LogFn } from "./log.js";
import type { OtlpConfig, OtlpProtocol } from "./otlp-config.js";
import { registerProcessMetrics } from "./process-metrics.js";

export interface TelemetryOptions {
  /** service.name unless OTEL_SERVICE_NAME says otherwise. */
  service: "socklens-agent" | "socklens-operator";
  version: string;
  /** OTLP export (otlpConfig()); absent: none. */
  otlp?: OtlpConfig | undefined;
  /** Keep a Prometheus reader on the same instruments, served by `prometheusHandler`. */
  prometheus?: boolean;
  /**
   * What the program knows of where it runs (the chart's downward API: NODE_NAME, POD_NAME,
   * POD_NAMESPACE) as k8s.node.name, k8s.pod.name, k8s.namespace.name of the resource.
   * OTEL_RESOURCE_ATTRIBUTES wins over these.
   */
  kubernetes?: {
    nodeName?: string | undefined;
    podName?: string | undefined;
    namespace?: string | undefined;
  };
  /** Where "export failing"/"recovered" lines go. */
  log?: LogFn;
  /** Default: OTEL_METRIC_EXPORT_INTERVAL, else 30 s. */
  exportIntervalMs?: number;
}

/** One pod's socket counts by protocol and state, as the latest scan saw them. */
export interface PodSocketCounts extends PodRef {
  counts: Map<string, number>; // "tcp|ESTABLISHED" → n
}

const SEVERITY: Record<Finding["severity"], SeverityNumber> = {
  info: SeverityNumber.INFO,
  low: SeverityNumber.WARN,
  medium: SeverityNumber.WARN2,
  high: SeverityNumber.ERROR,
};

let active = false;

export class Telemetry {
  readonly #sdk: NodeSDK;
  readonly #prometheus: PrometheusExporter | undefined;
  readonly #meter: Meter;
  readonly #logger: Logger;
  readonly health: ExportHealth;
  #violationsStarted: Counter | undefined;
  #scanDuration: Histogram | undefined;
  readonly #kubeErrors = new Map<string, { attrs: Attributes; n: number }>();
  readonly #kubeErrorSources: (() => KubeErrorCount[])[] = [];
  #latestSockets: PodSocketCounts[] = [];
  #activeFindings = new Map<string, { attrs: Attributes; n: number }>();
  #pendingFindings = new Map<string, { attrs: Attributes; n: number }>();
  #shutdown: Promise<void> | undefined;

  constructor(readonly o: TelemetryOptions) {
    if (active)
      throw new Error(
        "one Telemetry per process: shut the previous one down first (NodeSDK registers globals)",
      );
    active = true;
    const log = o.log ?? (() => {});
    this.health = new ExportHealth(log, o.otlp?.endpoint ?? "");
    const interval =
      o.exportIntervalMs ?? getNumberFromEnv("OTEL_METRIC_EXPORT_INTERVAL") ?? DEFAULT_EXPORT_INTERVAL_MS;
    const readers: IMetricReader[] = [];
    if (o.otlp?.metrics) {
      const { protocol, url } = o.otlp.metrics;
      readers.push(
        new PeriodicExportingMetricReader({
          exporter: new WatchedMetricExporter(metricExporter(protocol, url), this.health, protocol),
          exportIntervalMillis: interval,
          exportTimeoutMillis: Math.min(getNumberFromEnv("OTEL_METRIC_EXPORT_TIMEOUT") ?? 30_000, interval),
        }),
      );
    }
    if (o.prometheus) {
      // No server of its own: /metrics is one route of server.ts, beside /healthz and /readyz.
      this.#prometheus = new PrometheusExporter({ preventServerStart: true });
      readers.push(this.#prometheus);
    }
    const processors: LogRecordProcessor[] = [];
    if (o.otlp?.logs) {
      const { protocol, url } = o.otlp.logs;
      processors.push(
        new BatchLogRecordProcessor({
          exporter: new WatchedLogExporter(logExporter(protocol, url), this.health, protocol),
          maxQueueSize: getNumberFromEnv("OTEL_BLRP_MAX_QUEUE_SIZE"),
          scheduledDelayMillis: getNumberFromEnv("OTEL_BLRP_SCHEDULE_DELAY"),
          exportTimeoutMillis: getNumberFromEnv("OTEL_BLRP_EXPORT_TIMEOUT"),
          maxExportBatchSize: getNumberFromEnv("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"),
        }),
      );
    }
    const k = o.kubernetes ?? {};
    const ours: Attributes = { [ATTR_SERVICE_NAME]: o.service, [ATTR_SERVICE_VERSION]: o.version };
    if (k.nodeName) ours[ATTR_K8S_NODE_NAME] = k.nodeName;
    if (k.podName) ours[ATTR_K8S_POD_NAME] = k.podName;
    if (k.namespace) ours[ATTR_K8S_NAMESPACE_NAME] = k.namespace;
    this.#sdk = new NodeSDK({
      // Detected attributes are merged over these: OTEL_RESOURCE_ATTRIBUTES and
      // OTEL_SERVICE_NAME (envDetector) win, as the specification says they should.
      resource: resourceFromAttributes(ours),
      resourceDetectors: [processDetector, hostDetector, envDetector],
      metricReaders: readers,
      logRecordProcessors: processors,
      // socklens emits no spans: no tracer provider, no idle span exporter.
      spanProcessors: [],
    });
    this.#sdk.start();
    this.#meter = metrics.getMeter(`socklens.${o.service.replace("socklens-", "")}`, o.version);
    this.#logger = logs.getLogger(`socklens.${o.service.replace("socklens-", "")}`, o.version);
    registerProcessMetrics(this.#meter);
    this.observeCounter(
      "socklens.kube.errors",
      "Failed Kubernetes API calls: watches that broke, writes that were refused",
      "{error}",
      () => {
        const out = [...this.#kubeErrors.values()].map(({ attrs, n }): [number, Attributes] => [n, attrs]);
        // Reported at 0 too: a counter that exists from the start makes rate() and the
        // dashboard's panel work on a healthy cluster, instead of showing "no data".
        for (const read of this.#kubeErrorSources)
          for (const e of read()) out.push([e.count, kubeErrorAttributes(e.resource, e.operation)]);
        return out;
      },
    );
  }

  /** Serves the Prometheus text format from the same instruments; undefined unless `prometheus`. */
  get prometheusHandler(): PrometheusExporter["getMetricsRequestHandler"] | undefined {
    const p = this.#prometheus;
    return p ? (req, res) => p.getMetricsRequestHandler(req, res) : undefined;
  }

  // --- generic instruments, for entry points that may not import the SDK ----------------

  /** A monotonic count read from the program's own stats (e.g. the operator's reconciles). */
  observeCounter(name: string, description: string, unit: string, read: () => [number, Attributes][]): void {
    this.#meter.createObservableCounter(name, { description, unit }).addCallback((r: ObservableResult) => {
      for (const [v, a] of read()) r.observe(v, a);
    });
  }

  observeGauge(name: string, description: string, unit: string, read: () => [number, Attributes][]): void {
    this.#meter.createObservableGauge(name, { description, unit }).addCallback((r: ObservableResult) => {
      for (const [v, a] of read()) r.observe(v, a);
    });
  }

  /** A failed call to the Kubernetes API (a watch that broke, a write refused). */
  kubeError(resource: string, operation: string): void {
    const key = `${resource}|${operation}`;
    const e = this.#kubeErrors.get(key);
    if (e) e.n++;
    else this.#kubeErrors.set(key, { attrs: kubeErrorAttributes(resource, operation), n: 1 });
  }

  /** Failed API calls a component already counts (the Event recorder's, the observation writer's). */
  kubeErrorsFrom(read: () => KubeErrorCount[]): void {
    this.#kubeErrorSources.push(read);
  }

  // --- the agent's instruments -------------------------------------------------------------

  /** Creates the agent's instruments (the operator's process does not export them). */
  agentInstruments(): this {
    if (this.#violationsStarted) return this;
    this.#violationsStarted = this.#meter.createCounter("socklens.violation.started", {
      unit: "{violation}",
      description:
        "Findings that started: counted once when a finding appears, again only if it clears and comes back",
    });
    this.observeGauge(
      "socklens.violation.active",
      "Findings present at the last scan, by rule, baseline and pod",
      "{violation}",
      () => [...this.#activeFindings.values()].map(({ attrs, n }) => [n, attrs]),
    );
    this.observeGauge(
      "socklens.sockets",
      "Sockets per pod by transport and state, at the last scan",
      "{socket}",
      () =>
        this.#latestSockets.flatMap((p) =>
          [...p.counts].map(([key, n]): [number, Attributes] => {
            const [transport = "", state = ""] = key.split("|");
            return [
              n,
              {
                ...podAttributes(p),
                ...transportAttributes(transport),
                ...stateAttributes(transport, state),
              },
            ];
          }),
        ),
    );
    this.#scanDuration = this.#meter.createHistogram("socklens.scan.duration", {
      unit: "s",
      description: "How long one scan of the node took (read /proc, attribute, evaluate, report)",
      advice: { explicitBucketBoundaries: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] },
    });
    return this;
  }

  setSocketCounts(counts: PodSocketCounts[]): void {
    this.#latestSockets = counts;
  }

  scanned(durationMs: number): void {
    this.agentInstruments();
    this.#scanDuration?.record(durationMs / 1000);
  }

  /**
   * One finding of the current scan: counted in socklens.violation.started and logged when it
   * is new (`isNew`); part of socklens.violation.active once `endScan()` is called.
   */
  finding(f: Finding, pod: PodRef, isNew: boolean): void {
    this.agentInstruments();
    const attrs = findingMetricAttributes(f, pod);
    const key = JSON.stringify(Object.entries(attrs).sort());
    const a = this.#pendingFindings.get(key);
    if (a) a.n++;
    else this.#pendingFindings.set(key, { attrs, n: 1 });
    if (!isNew) return;
    this.#violationsStarted?.add(1, attrs);
    this.#logger.emit({
      // The body is text a log viewer prints as is: escaped here, once (src/core/escape.ts).
      // Attributes are structured data and keep the raw values, as JSON output does.
      body: escapeText(f.message),
      severityNumber: SEVERITY[f.severity],
      severityText: f.severity.toUpperCase(),
      eventName: "socklens.violation",
      attributes: findingLogAttributes(f, pod),
    });
  }

  /** The scan is over: what it found is now the active set (a finding gone is no longer active). */
  endScan(): void {
    this.#activeFindings = this.#pendingFindings;
    this.#pendingFindings = new Map();
  }

  async flush(): Promise<void> {
    await Promise.all([metrics.getMeterProvider(), logs.getLoggerProvider()].map(forceFlush));
  }

  shutdown(): Promise<void> {
    this.#shutdown ??= this.#sdk.shutdown().finally(() => {
      // NodeSDK.start() registered these globally; unregistered, the next Telemetry (tests
      // make them one after another) registers its own.
      metrics.disable();
      logs.disable();
      context.disable();
      propagation.disable();
      active = false;
    });
    return this.#shutdown;
  }
}

export const DEFAULT_EXPORT_INTERVAL_MS = 30_000;

export interface KubeErrorCount {
  resource: string;
  operation: string;
  count: number;
}

function kubeErrorAttributes(resource: string, operation: string): Attributes {
  return { [SOCKLENS_ATTR.kubeResource]: resource, [SOCKLENS_ATTR.kubeOperation]: operation };
}

async function forceFlush(p: object): Promise<void> {
  const f = (p as { forceFlush?: () => Promise<void> }).forceFlush;
  if (typeof f === "function") await f.call(p);
}

function metricExporter(protocol: OtlpProtocol, url: string): PushMetricExporter {
  const config = { url };
  if (protocol === "grpc") return new GrpcMetricExporter(config);
  if (protocol === "http/json") return new JsonMetricExporter(config);
  return new ProtoMetricExporter(config);
}

function logExporter(protocol: OtlpProtocol, url: string): LogRecordExporter {
  const config = { url };
  if (protocol === "grpc") return new GrpcLogExporter(config);
  if (protocol === "http/json") return new JsonLogExporter(config);
  return new ProtoLogExporter(config);
}
