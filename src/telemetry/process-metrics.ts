/**
 * The process metrics a Prometheus user expects of any target (CPU, memory, uptime), under
 * their semantic-convention names (process.cpu.time, process.memory.usage, process.uptime,
 * which the Prometheus exporter turns into process_cpu_time_seconds_total, …). Read from
 * Node's own counters: @opentelemetry/host-metrics would add the systeminformation package
 * and whole-host metrics that a per-pod target should not repeat.
 */
import type { Meter, ObservableResult } from "@opentelemetry/api";
import {
  ATTR_CPU_MODE,
  METRIC_PROCESS_CPU_TIME,
  METRIC_PROCESS_MEMORY_USAGE,
  METRIC_PROCESS_UPTIME,
} from "@opentelemetry/semantic-conventions/incubating";

export function registerProcessMetrics(meter: Meter): void {
  meter
    .createObservableCounter(METRIC_PROCESS_CPU_TIME, {
      unit: "s",
      description: "CPU time of this process, by mode",
    })
    .addCallback((r: ObservableResult) => {
      const u = process.cpuUsage();
      r.observe(u.user / 1e6, { [ATTR_CPU_MODE]: "user" });
      r.observe(u.system / 1e6, { [ATTR_CPU_MODE]: "system" });
    });
  meter
    .createObservableUpDownCounter(METRIC_PROCESS_MEMORY_USAGE, {
      unit: "By",
      description: "Resident memory of this process (RSS)",
    })
    .addCallback((r: ObservableResult) => r.observe(process.memoryUsage.rss()));
  meter
    .createObservableGauge(METRIC_PROCESS_UPTIME, {
      unit: "s",
      description: "Seconds since this process started",
    })
    .addCallback((r: ObservableResult) => r.observe(process.uptime()));
}
