/**
 * Every process with its network namespace, name, command line, parent and user: what the
 * discovery-tool detector looks for. A separate, cheap walk (ns link, comm, cmdline, status)
 * run only by `watch` and the agent's memory; a process that exits mid-walk is skipped.
 */
import { readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { parseCgroupFile } from "../core/cgroup.js";
import type { ProcessSighting } from "../core/memory/tracker.js";
import type { ProcPaths } from "./paths.js";
import { processName, readProcFileSync } from "./read.js";

const NS_LINK = /^net:\[(\d+)\]$/;

function read(file: string): string | undefined {
  try {
    return readProcFileSync(file);
  } catch {
    return undefined; // gone, denied, or not a regular file: this process is skipped or partial
  }
}

export interface ProcessInNetns extends ProcessSighting {
  netns: number;
  /**
   * The Kubernetes pod of the container the process's cgroup names (kubepods path), if any.
   * A process in the pod's cgroup but in no container of it (CRI-O's conmon with
   * conmon_cgroup = "pod", podman's conmon under --cgroup-parent) has none: it lives in the
   * host's network namespace, which must not become the pod's.
   */
  podUid?: string;
}

/** Every pid with its network namespace: the walk collectSockets also does (and returns). */
function processesByNetns(root: string): { pid: number; netns: number }[] {
  const out: { pid: number; netns: number }[] = [];
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || !Number.isSafeInteger(Number(entry)) || String(Number(entry)) !== entry)
      continue;
    let link: string;
    try {
      link = readlinkSync(join(root, entry, "ns", "net"));
    } catch {
      continue;
    }
    const m = NS_LINK.exec(link);
    if (!m) continue;
    const ns = Number(m[1]);
    if (Number.isSafeInteger(ns)) out.push({ pid: Number(entry), netns: ns });
  }
  return out;
}

/**
 * What a long-lived caller remembers between walks: each pid's details, re-read only when its
 * name changed (an exec, or a reused pid) — the name is read every time, the rest is not.
 */
export class ProcessCache {
  readonly entries = new Map<number, ProcessInNetns>();
}

/**
 * Processes by network namespace (only `netns` when given). Command lines are capped at 4 KiB.
 * `known` is the pid→netns list a scan just made (ScanResult.processes), to skip that walk.
 */
export function listProcesses(
  paths: Pick<ProcPaths, "proc">,
  netns?: ReadonlySet<number>,
  options: { known?: readonly { pid: number; netns: number }[]; cache?: ProcessCache } = {},
): ProcessInNetns[] {
  const out: ProcessInNetns[] = [];
  const comms = new Map<number, string>();
  const cache = options.cache?.entries;
  const alive = new Set<number>();
  for (const { pid, netns: ns } of options.known ?? processesByNetns(paths.proc)) {
    const dir = join(paths.proc, String(pid));
    const raw = read(join(dir, "comm"));
    const comm = raw === undefined ? undefined : processName(raw);
    if (comm === undefined) continue;
    comms.set(pid, comm);
    if (netns && !netns.has(ns)) continue;
    alive.add(pid);
    const cached = cache?.get(pid);
    if (cached && cached.comm === comm && cached.netns === ns) {
      out.push(cached);
      continue;
    }
    const status = read(join(dir, "status")) ?? "";
    const ppid = /^PPid:\s+(\d+)/m.exec(status)?.[1];
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    const p: ProcessInNetns = {
      pid,
      netns: ns,
      comm,
      cmdline: (read(join(dir, "cmdline")) ?? "").slice(0, 4096).replace(/\0+$/, ""),
    };
    if (ppid !== undefined) p.ppid = Number(ppid);
    const identity = parseCgroupFile(read(join(dir, "cgroup")) ?? "");
    if (identity.podUid && identity.container) p.podUid = identity.podUid;
    if (uid !== undefined) p.uid = Number(uid);
    cache?.set(pid, p);
    out.push(p);
  }
  if (cache) for (const pid of cache.keys()) if (!alive.has(pid)) cache.delete(pid);
  for (const p of out) {
    const parent = p.ppid !== undefined ? comms.get(p.ppid) : undefined;
    if (parent !== undefined) p.parent = parent;
    else delete p.parent;
  }
  return out;
}
