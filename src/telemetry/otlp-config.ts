/**
 * Which OTLP exporters to build, read from the standard SDK environment variables the way
 * @opentelemetry/sdk-node reads them (its per-signal helpers are not exported, so the same
 * precedence is spelled out here and tested):
 *
 *   OTEL_EXPORTER_OTLP_{METRICS,LOGS}_PROTOCOL > OTEL_EXPORTER_OTLP_PROTOCOL > http/protobuf
 *   OTEL_{METRICS,LOGS}_EXPORTER=none          turns that signal's OTLP export off
 *
 * Endpoints follow the specification's rule (a per-signal endpoint is used as is; the base
 * endpoint gets /v1/<signal> appended for HTTP) and are resolved here, from the environment
 * the caller passes; headers, timeouts, compression and certificates are left to the
 * exporters, which read OTEL_EXPORTER_OTLP_[SIGNAL_]HEADERS/… themselves. The one difference
 * from a bare NodeSDK (docs/adr/0013): with no endpoint configured at all, nothing is
 * exported, instead of retrying localhost:4318 forever on every node.
 */

export type OtlpProtocol = "http/protobuf" | "http/json" | "grpc";
export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ["http/protobuf", "http/json", "grpc"];
export type Signal = "metrics" | "logs";

export interface SignalExport {
  protocol: OtlpProtocol;
  /** The URL the exporter sends to. */
  url: string;
}

export interface OtlpConfig {
  metrics?: SignalExport;
  logs?: SignalExport;
  /** Where it goes, for the "started" log line and the failure lines (no credentials: no headers). */
  endpoint: string;
}

type Env = Record<string, string | undefined>;

const set = (v: string | undefined): v is string => v !== undefined && v.trim() !== "";

export function otlpProtocol(env: Env, signal: Signal): OtlpProtocol {
  const raw = (
    env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_PROTOCOL`] ?? env.OTEL_EXPORTER_OTLP_PROTOCOL
  )?.trim();
  if (!raw) return "http/protobuf";
  if ((OTLP_PROTOCOLS as readonly string[]).includes(raw)) return raw as OtlpProtocol;
  throw new RangeError(
    `OTEL_EXPORTER_OTLP_PROTOCOL: "${raw}" is not an OTLP protocol; use one of ${OTLP_PROTOCOLS.join(", ")}`,
  );
}

/** The exporter URL for a base endpoint: gRPC takes the base, HTTP appends /v1/<signal> (the spec's rule). */
export function signalUrl(base: string, protocol: OtlpProtocol, signal: Signal): string {
  if (protocol === "grpc") return base;
  return `${base.replace(/\/+$/, "")}/v1/${signal}`;
}

/**
 * The OTLP export to set up, or undefined when nothing is to be exported. `flagEndpoint`
 * (--otlp-endpoint) is a base URL and wins over the environment, as a flag does.
 */
export function otlpConfig(env: Env, flagEndpoint?: string): OtlpConfig | undefined {
  const out: OtlpConfig = { endpoint: "" };
  for (const signal of ["metrics", "logs"] as const) {
    const exporters = (env[`OTEL_${signal.toUpperCase()}_EXPORTER`] ?? "otlp")
      .split(",")
      .map((s) => s.trim());
    if (exporters.includes("none") || !exporters.some((e) => e === "otlp" || e === "")) continue;
    const protocol = otlpProtocol(env, signal);
    const own = env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`];
    if (set(flagEndpoint)) {
      validUrl(flagEndpoint, "--otlp-endpoint");
      out[signal] = { protocol, url: signalUrl(flagEndpoint, protocol, signal) };
      out.endpoint = flagEndpoint;
    } else if (set(own)) {
      validUrl(own, `OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`);
      out[signal] = { protocol, url: own.trim() };
      out.endpoint ||= own;
    } else if (set(env.OTEL_EXPORTER_OTLP_ENDPOINT)) {
      const base = env.OTEL_EXPORTER_OTLP_ENDPOINT.trim();
      validUrl(base, "OTEL_EXPORTER_OTLP_ENDPOINT");
      out[signal] = { protocol, url: signalUrl(base, protocol, signal) };
      out.endpoint = base;
    }
  }
  return out.metrics || out.logs ? out : undefined;
}

function validUrl(v: string, what: string): void {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new RangeError(`${what}: "${v}" is not a URL such as http://otel-collector:4318`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new RangeError(`${what}: "${v}" must be an http:// or https:// URL`);
}
