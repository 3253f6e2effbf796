/**
 * What `socklens agent` and `socklens operator` share for being observed: the leveled JSON
 * log, OpenTelemetry from the standard environment (or --otlp-endpoint), and the HTTP
 * endpoint with /metrics, /healthz and /readyz. Wiring only; the work is in src/telemetry.
 */
import { Logger, parseLogLevel } from "../telemetry/log.js";
import type { OtlpConfig } from "../telemetry/otlp-config.js";
import { otlpConfig } from "../telemetry/otlp-config.js";
import { UsageError } from "./errors.js";
import type { CliIO } from "./io.js";
import { VERSION } from "./version.js";

/** parseArgs options both programs take. */
export const OBSERVABILITY_OPTIONS = {
  "log-level": { type: "string" },
  "otlp-endpoint": { type: "string" },
  "metrics-port": { type: "string" },
} as const;

export const OBSERVABILITY_HELP = `  --log-level LEVEL      debug, info, warn or error (default: $SOCKLENS_LOG_LEVEL, else info)
  --otlp-endpoint URL    OTLP base URL; default: the standard OTEL_EXPORTER_OTLP_ENDPOINT
                         (OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf by default, or grpc, http/json);
                         neither set: no OTLP export
  --metrics-port PORT    serve /metrics (Prometheus), /healthz and /readyz on this port (default: off)
`;

export interface ObservabilityValues {
  "log-level"?: string | undefined;
  "otlp-endpoint"?: string | undefined;
  "metrics-port"?: string | undefined;
}

export interface Observability {
  logger: Logger;
  otlp: OtlpConfig | undefined;
  metricsPort: number | undefined;
}

/** Parses the flags and the environment; a bad value is a usage error naming it. */
export function observabilityFrom(
  values: ObservabilityValues,
  io: CliIO,
  base: Record<string, unknown>,
): Observability {
  let level: ReturnType<typeof parseLogLevel>;
  try {
    level = parseLogLevel(values["log-level"] ?? io.env.SOCKLENS_LOG_LEVEL);
  } catch (err) {
    throw new UsageError(`--log-level: ${(err as Error).message}`);
  }
  const logger = new Logger({ level, write: (line) => io.err(line), base });
  let otlp: OtlpConfig | undefined;
  try {
    otlp = otlpConfig(io.env, values["otlp-endpoint"]);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let metricsPort: number | undefined;
  if (values["metrics-port"] !== undefined) {
    const n = Number(values["metrics-port"]);
    if (!/^\d+$/.test(values["metrics-port"]) || n > 65535)
      throw new UsageError(`--metrics-port: "${values["metrics-port"]}" is not a port number (0-65535)`);
    metricsPort = n;
  }
  return { logger, otlp, metricsPort };
}

/** Telemetry when something exports it (OTLP or /metrics), else undefined: no SDK loaded. */
export async function startTelemetry(
  o: Observability,
  service: "socklens-agent" | "socklens-operator",
  kubernetes: { nodeName?: string | undefined; podName?: string | undefined; namespace?: string | undefined },
) {
  if (!o.otlp && o.metricsPort === undefined) return undefined;
  const { Telemetry } = await import("../telemetry/otel.js");
  return new Telemetry({
    service,
    version: VERSION,
    otlp: o.otlp,
    prometheus: o.metricsPort !== undefined,
    kubernetes,
    log: o.logger.log,
  });
}
