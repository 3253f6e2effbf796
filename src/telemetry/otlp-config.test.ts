import { describe, expect, it } from "vitest";
import { otlpConfig } from "./otlp-config.js";

describe("otlpConfig (the SDK's standard variables)", () => {
  it("nothing configured: no export", () => {
    expect(otlpConfig({})).toBeUndefined();
  });

  it("OTEL_EXPORTER_OTLP_ENDPOINT alone: http/protobuf to /v1/metrics and /v1/logs", () => {
    expect(otlpConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318/" })).toEqual({
      endpoint: "http://c:4318/",
      metrics: { protocol: "http/protobuf", url: "http://c:4318/v1/metrics" },
      logs: { protocol: "http/protobuf", url: "http://c:4318/v1/logs" },
    });
  });

  it("grpc takes the base URL as is; a per-signal protocol wins over the general one", () => {
    expect(
      otlpConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317",
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
        OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: "http/json",
      }),
    ).toMatchObject({
      metrics: { protocol: "grpc", url: "http://c:4317" },
      logs: { protocol: "http/json", url: "http://c:4317/v1/logs" },
    });
  });

  it("a per-signal endpoint is used as is; OTEL_LOGS_EXPORTER=none turns logs off", () => {
    expect(
      otlpConfig({
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "https://m.example/otlp/metrics",
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        OTEL_LOGS_EXPORTER: "none",
      }),
    ).toEqual({
      endpoint: "https://m.example/otlp/metrics",
      metrics: { protocol: "http/protobuf", url: "https://m.example/otlp/metrics" },
    });
  });

  it("--otlp-endpoint wins over the environment", () => {
    expect(
      otlpConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://env:4318" }, "http://flag:4318")?.metrics?.url,
    ).toBe("http://flag:4318/v1/metrics");
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "c:4318" }, /not an http:\/\/ or https:\/\/ URL|must be an http/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" }, /not a URL such as http:\/\/otel-collector:4318/],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c", OTEL_EXPORTER_OTLP_PROTOCOL: "thrift" },
      /use one of http\/protobuf, http\/json, grpc/,
    ],
  ])("bad input is a clear error: %j", (env, message) => {
    expect(() => otlpConfig(env)).toThrow(message);
  });
});
