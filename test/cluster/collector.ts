// A real OpenTelemetry Collector (built by build-tools.sh from go/otelcol/manifest.yaml):
// OTLP in on free loopback ports (gRPC and HTTP), and everything it receives written to a
// JSON-lines file by the file exporter, which the test reads back.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { freePort, ManagedProcess, waitFor } from "./process.js";
import { requireTool } from "./tools.js";

export type AttrValue = string | number | boolean | null | AttrValue[] | { [key: string]: AttrValue };
export type Attributes = Record<string, AttrValue>;

export interface ReceivedDataPoint {
  attributes: Attributes;
  value: number | undefined;
  /** Histograms: count and sum instead of a single value. */
  count?: number;
  sum?: number;
}

export interface ReceivedMetric {
  name: string;
  unit: string;
  description: string;
  type: "sum" | "gauge" | "histogram" | "exponentialHistogram" | "summary" | "unknown";
  resource: Attributes;
  scope: string;
  dataPoints: ReceivedDataPoint[];
}

export interface ReceivedLog {
  body: AttrValue;
  severityText: string;
  severityNumber: number;
  eventName: string;
  attributes: Attributes;
  resource: Attributes;
  scope: string;
}

export interface Received {
  metrics: ReceivedMetric[];
  logs: ReceivedLog[];
}

export class Collector {
  private constructor(
    readonly dir: string,
    readonly grpcPort: number,
    readonly httpPort: number,
    private proc: ManagedProcess,
  ) {}

  /** Starts the collector and waits until both OTLP ports accept connections. */
  static async start(): Promise<Collector> {
    const bin = requireTool("otelcol");
    const dir = await mkdtemp(join(tmpdir(), "socklens-otelcol-"));
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const out = join(dir, "received.jsonl");
    const config = {
      receivers: {
        otlp: {
          protocols: {
            grpc: { endpoint: `127.0.0.1:${grpcPort}` },
            http: { endpoint: `127.0.0.1:${httpPort}` },
          },
        },
      },
      exporters: {
        // One JSON object (an OTLP export request) per line; flushed every 100 ms so
        // tests do not wait on the default 1 s.
        file: { path: out, format: "json", flush_interval: "100ms" },
        debug: { verbosity: "basic" },
      },
      service: {
        // No internal metrics server: its fixed default port would clash between collectors.
        telemetry: { metrics: { level: "none" }, logs: { level: "info" } },
        pipelines: {
          metrics: { receivers: ["otlp"], exporters: ["file", "debug"] },
          logs: { receivers: ["otlp"], exporters: ["file", "debug"] },
          traces: { receivers: ["otlp"], exporters: ["file", "debug"] },
        },
      },
    };
    const configPath = join(dir, "config.yaml");
    await writeFile(configPath, stringify(config));
    const proc = new ManagedProcess("otelcol", bin, [`--config=${configPath}`], join(dir, "otelcol.log"));
    const c = new Collector(dir, grpcPort, httpPort, proc);
    await c.waitForPorts();
    return c;
  }

  private async waitForPorts(): Promise<void> {
    const proc = this.proc;
    await waitFor(
      "otelcol OTLP ports",
      async () => (await canConnect(this.grpcPort)) && (await canConnect(this.httpPort)),
      {
        timeoutMs: 30_000,
        procs: [proc],
        describe: () => `--- tail of ${proc.logFile} ---\n${proc.tail()}`,
      },
    );
  }

  /** Kills the collector (an outage as exporters see it); `restart()` brings it back on the same ports. */
  async kill(): Promise<void> {
    await this.proc.stop();
  }

  async restart(): Promise<void> {
    await this.proc.stop();
    this.proc = new ManagedProcess("otelcol", this.proc.command, this.proc.args, this.proc.logFile);
    await this.waitForPorts();
  }

  get outputFile(): string {
    return join(this.dir, "received.jsonl");
  }

  /** Base URL for OTLP/HTTP exporters (append /v1/metrics, /v1/logs). */
  get httpEndpoint(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get grpcEndpoint(): string {
    return `http://127.0.0.1:${this.grpcPort}`;
  }

  log(lines = 40): string {
    return this.proc.tail(lines);
  }

  /** Everything in the output file so far. */
  async received(): Promise<Received> {
    let text = "";
    try {
      text = await readFile(this.outputFile, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    return parseFileExporterOutput(text);
  }

  /** Polls the output file until `match` returns a value (not undefined), and returns it. */
  async waitFor<T>(what: string, match: (r: Received) => T | undefined, timeoutMs = 15_000): Promise<T> {
    let found: T | undefined;
    await waitFor(
      what,
      async () => {
        found = match(await this.received());
        return found !== undefined;
      },
      {
        timeoutMs,
        procs: [this.proc],
        describe: () => `--- tail of the collector's log ---\n${this.proc.tail()}`,
      },
    );
    return found as T;
  }

  async stop(): Promise<void> {
    await this.proc.stop();
    if (process.env.SOCKLENS_KEEP_CLUSTER_DIR === "1") return;
    await rm(this.dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

// --- OTLP/JSON (as the file exporter writes it) into flat records -----------------------

interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
  bytesValue?: string;
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpNumberPoint {
  attributes?: OtlpKeyValue[];
  asInt?: string | number;
  asDouble?: number;
  count?: string | number;
  sum?: number;
}
interface OtlpMetric {
  name: string;
  unit?: string;
  description?: string;
  sum?: { dataPoints?: OtlpNumberPoint[] };
  gauge?: { dataPoints?: OtlpNumberPoint[] };
  histogram?: { dataPoints?: OtlpNumberPoint[] };
  exponentialHistogram?: { dataPoints?: OtlpNumberPoint[] };
  summary?: { dataPoints?: OtlpNumberPoint[] };
}
interface OtlpLine {
  resourceMetrics?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeMetrics?: { scope?: { name?: string }; metrics?: OtlpMetric[] }[];
  }[];
  resourceLogs?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeLogs?: {
      scope?: { name?: string };
      logRecords?: {
        body?: OtlpAnyValue;
        severityText?: string;
        severityNumber?: number;
        eventName?: string;
        attributes?: OtlpKeyValue[];
      }[];
    }[];
  }[];
}

export function anyValue(v: OtlpAnyValue | undefined): AttrValue {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(anyValue);
  if (v.kvlistValue) return attributes(v.kvlistValue.values);
  if (v.bytesValue !== undefined) return v.bytesValue;
  return null;
}

export function attributes(kvs: OtlpKeyValue[] | undefined): Attributes {
  const out: Attributes = {};
  for (const kv of kvs ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

function metricType(m: OtlpMetric): [ReceivedMetric["type"], OtlpNumberPoint[]] {
  for (const t of ["sum", "gauge", "histogram", "exponentialHistogram", "summary"] as const) {
    const data = m[t];
    if (data) return [t, data.dataPoints ?? []];
  }
  return ["unknown", []];
}

/** Parses the file exporter's JSON-lines output. A line cut short by a flush in progress is skipped. */
export function parseFileExporterOutput(text: string): Received {
  const out: Received = { metrics: [], logs: [] };
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let doc: OtlpLine;
    try {
      doc = JSON.parse(line) as OtlpLine;
    } catch {
      continue;
    }
    for (const rm of doc.resourceMetrics ?? []) {
      const resource = attributes(rm.resource?.attributes);
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          const [type, points] = metricType(m);
          out.metrics.push({
            name: m.name,
            unit: m.unit ?? "",
            description: m.description ?? "",
            type,
            resource,
            scope: sm.scope?.name ?? "",
            dataPoints: points.map((p) => ({
              attributes: attributes(p.attributes),
              value: p.asInt !== undefined ? Number(p.asInt) : p.asDouble,
              ...(p.count !== undefined ? { count: Number(p.count) } : {}),
              ...(p.sum !== undefined ? { sum: p.sum } : {}),
            })),
          });
        }
      }
    }
    for (const rl of doc.resourceLogs ?? []) {
      const resource = attributes(rl.resource?.attributes);
      for (const sl of rl.scopeLogs ?? []) {
        for (const r of sl.logRecords ?? []) {
          out.logs.push({
            body: anyValue(r.body),
            severityText: r.severityText ?? "",
            severityNumber: r.severityNumber ?? 0,
            eventName: r.eventName ?? "",
            attributes: attributes(r.attributes),
            resource,
            scope: sl.scope?.name ?? "",
          });
        }
      }
    }
  }
  return out;
}
