/** Facts about the host a snapshot records, read from the (possibly host-mounted) proc root. */
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { readProcFileSync } from "./read.js";

function readTrimmed(file: string): string | undefined {
  try {
    return readProcFileSync(file).trim();
  } catch {
    return undefined;
  }
}

export interface HostFacts {
  hostname: string;
  kernel: string;
  bootId: string;
  user: string;
}

export function readHostFacts(procRoot: string): HostFacts {
  let user: string;
  try {
    const u = userInfo();
    user = `${u.username}(${u.uid})`;
  } catch {
    user = `uid ${process.getuid?.() ?? "?"}`;
  }
  return {
    hostname: readTrimmed(join(procRoot, "sys/kernel/hostname")) ?? hostname(),
    kernel: readTrimmed(join(procRoot, "sys/kernel/osrelease")) ?? "unknown",
    bootId: readTrimmed(join(procRoot, "sys/kernel/random/boot_id")) ?? "unknown",
    user,
  };
}
