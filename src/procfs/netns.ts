/** Network namespaces by name (`ip netns`) and the host's own: the CLI's --netns and default scope. */
import { readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ProcPaths } from "./paths.js";
import { readProcFileSync } from "./read.js";

/** The inode of a namespace named under runNetns, or undefined when there is none by that name. */
export function netnsInodeByName(paths: Pick<ProcPaths, "runNetns">, name: string): number | undefined {
  try {
    return statSync(join(paths.runNetns, name)).ino;
  } catch {
    return undefined;
  }
}

/** The host's network namespace: pid 1's when we see the host's pid namespace, else our own. */
export function hostNetnsInode(paths: Pick<ProcPaths, "proc">): number | undefined {
  for (const pid of ["1", "self"]) {
    try {
      const m = /net:\[(\d+)\]/.exec(readlinkSync(`${paths.proc}/${pid}/ns/net`));
      if (m) return Number(m[1]);
    } catch {
      // not readable: try the next
    }
  }
  return undefined;
}

/**
 * Our own namespace's ephemeral port range (net.ipv4.ip_local_port_range). Net sysctls under
 * /proc/sys are those of the *reader's* namespace, so this is known for our namespace only;
 * every other namespace started with Linux's default unless someone changed it (a pod can,
 * through securityContext.sysctls), which the caller then takes from the pod spec.
 */
export function ownEphemeralRange(paths: Pick<ProcPaths, "proc">): {
  netns?: number;
  range?: [number, number];
} {
  const out: { netns?: number; range?: [number, number] } = {};
  try {
    const m = /net:\[(\d+)\]/.exec(readlinkSync(`${paths.proc}/self/ns/net`));
    if (m) out.netns = Number(m[1]);
    const [lo, hi] = readProcFileSync(`${paths.proc}/sys/net/ipv4/ip_local_port_range`)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (
      lo !== undefined &&
      hi !== undefined &&
      Number.isInteger(lo) &&
      Number.isInteger(hi) &&
      lo > 0 &&
      hi >= lo &&
      hi <= 65535
    )
      out.range = [lo, hi];
  } catch {
    // A fixture tree or a restricted /proc: the caller falls back to the default.
  }
  return out;
}
