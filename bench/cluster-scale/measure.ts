// What the bench reads: the API server's own request counters (/metrics) and a process's
// CPU time and memory from /proc — CPU-seconds, not wall time, because other work shares
// the machine.
import { readFileSync } from "node:fs";

/** Request counts by "VERB resource[/subresource]" from apiserver_request_total. */
export type RequestCounts = Map<string, number>;

const READ_VERBS = new Set(["GET", "LIST", "WATCH", "CONNECT"]);

export function parseRequestTotals(metrics: string): RequestCounts {
  const out: RequestCounts = new Map();
  for (const line of metrics.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const close = line.lastIndexOf("}");
    const labels = new Map<string, string>();
    for (const m of line.slice(line.indexOf("{") + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels.set(m[1] as string, m[2] as string);
    const value = Number(line.slice(close + 1).trim());
    const verb = labels.get("verb") ?? "";
    const resource = labels.get("resource") || labels.get("component") || "?";
    const sub = labels.get("subresource");
    const key = `${verb} ${resource}${sub ? `/${sub}` : ""}`;
    if (Number.isFinite(value)) out.set(key, (out.get(key) ?? 0) + value);
  }
  return out;
}

/** Counts in `after` minus `before`, writes only (every verb but GET, LIST, WATCH, CONNECT). */
export function writeDelta(before: RequestCounts, after: RequestCounts): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) {
    const verb = k.split(" ")[0] as string;
    if (READ_VERBS.has(verb)) continue;
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) is 100 on every Linux architecture Node supports

/** utime + stime of a process, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/**
 * VmRSS, VmHWM (peak RSS) and the anonymous part of RSS of a process, in MiB. RssFile is
 * mostly the node binary's own pages, which the kernel can drop under a cgroup's pressure;
 * RssAnon (heap, stacks, malloc) is what a memory limit really has to hold.
 */
export function memory(pid: number): { rssMiB: number; peakMiB: number; anonMiB: number; fileMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return {
    rssMiB: kb("VmRSS") / 1024,
    peakMiB: kb("VmHWM") / 1024,
    anonMiB: kb("RssAnon") / 1024,
    fileMiB: kb("RssFile") / 1024,
  };
}

export function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
