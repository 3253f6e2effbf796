/** A process's open-file limit (soft RLIMIT_NOFILE), from /proc/<pid>/limits. */
import { join } from "node:path";
import type { ProcPaths } from "./paths.js";
import { readProcFileSync } from "./read.js";

export function openFileLimit(paths: Pick<ProcPaths, "proc">, pid: number): number | undefined {
  try {
    const text = readProcFileSync(join(paths.proc, String(pid), "limits"));
    const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
    return m && m[1] !== "unlimited" ? Number(m[1]) : undefined;
  } catch {
    return undefined; // gone or not readable: no limit to judge by
  }
}

/**
 * The limits of the processes that hold at least `minSockets` sockets: reading limits for
 * every process on every scan costs more than it tells.
 */
export function fileLimitsOfBusyProcesses(
  paths: Pick<ProcPaths, "proc">,
  sockets: readonly { pid?: number }[],
  minSockets = 100,
): Map<number, number> {
  const counts = new Map<number, number>();
  for (const s of sockets) if (s.pid !== undefined) counts.set(s.pid, (counts.get(s.pid) ?? 0) + 1);
  const out = new Map<number, number>();
  for (const [pid, n] of counts) {
    if (n < minSockets) continue;
    const limit = openFileLimit(paths, pid);
    if (limit !== undefined) out.set(pid, limit);
  }
  return out;
}
