/**
 * Says when an OTLP exporter starts failing and when it recovers: one line each, not one per
 * failed export. The SDK itself only reports failures to its global error handler (silent by
 * default), and never reports a recovery; so each exporter is wrapped and the result of
 * every export is watched here.
 */
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import type { LogRecordExporter, ReadableLogRecord } from "@opentelemetry/sdk-logs";
import {
  type AggregationOption,
  AggregationTemporality,
  AggregationType,
  type InstrumentType,
  type PushMetricExporter,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import type { LogFn } from "./log.js";

export interface ExportState {
  failing: boolean;
  /** Failed exports since the last success. */
  failures: number;
  lastError?: string;
}

export class ExportHealth {
  readonly #state = new Map<string, ExportState>();
  constructor(
    private readonly log: LogFn,
    private readonly endpoint: string,
  ) {}

  state(signal: string): ExportState {
    let s = this.#state.get(signal);
    if (!s) {
      s = { failing: false, failures: 0 };
      this.#state.set(signal, s);
    }
    return s;
  }

  /** Feed the result of one export of `signal` (metrics, logs). */
  report(signal: string, protocol: string, result: ExportResult): void {
    const s = this.state(signal);
    if (result.code === ExportResultCode.SUCCESS) {
      if (s.failing)
        this.log("OTLP export recovered", {
          level: "info",
          signal,
          protocol,
          endpoint: this.endpoint,
          failedExports: s.failures,
        });
      s.failing = false;
      s.failures = 0;
      return;
    }
    s.failures++;
    s.lastError = describe(result.error);
    if (s.failing) return;
    s.failing = true;
    this.log("OTLP export failing", {
      level: "warn",
      signal,
      protocol,
      endpoint: this.endpoint,
      error: s.lastError,
      // Said once: the next line about this exporter is the recovery.
      note: "data is dropped until the collector answers again; one line will say when it recovers",
    });
  }
}

function describe(err: unknown): string {
  if (!err) return "export failed";
  const e = err as Error & { code?: unknown; cause?: unknown };
  const cause = e.cause as (Error & { code?: unknown }) | undefined;
  // Node's fetch hides the useful part (ECONNREFUSED 127.0.0.1:4318) in the cause.
  const parts = [e.message || String(err)];
  if (cause?.message && !parts[0]?.includes(cause.message)) parts.push(cause.message);
  return parts.join(": ").slice(0, 500);
}

export class WatchedMetricExporter implements PushMetricExporter {
  constructor(
    private readonly inner: PushMetricExporter,
    private readonly health: ExportHealth,
    private readonly protocol: string,
  ) {}
  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    this.inner.export(metrics, (result) => {
      this.health.report("metrics", this.protocol, result);
      done(result);
    });
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  selectAggregationTemporality(t: InstrumentType): AggregationTemporality {
    // The OTLP exporters choose (cumulative unless OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE says otherwise).
    return this.inner.selectAggregationTemporality?.(t) ?? AggregationTemporality.CUMULATIVE;
  }
  selectAggregation(t: InstrumentType): AggregationOption {
    return this.inner.selectAggregation?.(t) ?? { type: AggregationType.DEFAULT };
  }
}

export class WatchedLogExporter implements LogRecordExporter {
  constructor(
    private readonly inner: LogRecordExporter,
    private readonly health: ExportHealth,
    private readonly protocol: string,
  ) {}
  export(logs: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    this.inner.export(logs, (result) => {
      this.health.report("logs", this.protocol, result);
      done(result);
    });
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
