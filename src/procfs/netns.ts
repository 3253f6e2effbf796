/** Network namespaces by name (`ip netns`) and the host's own: the CLI's --netns and default scope. */
import { readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ProcPaths } from "./paths.js";

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
