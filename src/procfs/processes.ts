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

/** Processes by network namespace (only `netns` when given). Command lines are capped at 4 KiB. */
export function listProcesses(paths: Pick<ProcPaths, "proc">, netns?: ReadonlySet<number>): ProcessInNetns[] {
  const out: ProcessInNetns[] = [];
  let entries: string[];
  try {
    entries = readdirSync(paths.proc);
  } catch {
    return out;
  }
  const comms = new Map<number, string>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || !Number.isSafeInteger(Number(entry)) || String(Number(entry)) !== entry)
      continue;
    const dir = join(paths.proc, entry);
    let link: string;
    try {
      link = readlinkSync(join(dir, "ns", "net"));
    } catch {
      continue;
    }
    const m = NS_LINK.exec(link);
    if (!m) continue;
    const ns = Number(m[1]);
    if (!Number.isSafeInteger(ns)) continue;
    const raw = read(join(dir, "comm"));
    const comm = raw === undefined ? undefined : processName(raw);
    if (comm === undefined) continue;
    const pid = Number(entry);
    comms.set(pid, comm);
    if (netns && !netns.has(ns)) continue;
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
    out.push(p);
  }
  for (const p of out) {
    const parent = p.ppid !== undefined ? comms.get(p.ppid) : undefined;
    if (parent !== undefined) p.parent = parent;
  }
  return out;
}
