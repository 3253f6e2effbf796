// The kernel's share of a scan: read each network namespace's socket tables once (through
// one pid per namespace) and print the CPU it took, user and system, per table.
// Usage (as root, with a load held by `npx tsx bench/load.ts 110x180`): node bench/tables.mjs
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

const pidOfNetns = new Map();
for (const entry of readdirSync("/proc")) {
  if (!/^\d+$/.test(entry)) continue;
  try {
    const link = readlinkSync(`/proc/${entry}/ns/net`);
    if (!pidOfNetns.has(link)) pidOfNetns.set(link, entry);
  } catch {
    // exited, or not ours to read
  }
}
for (const table of ["tcp", "tcp6", "udp", "udp6", "unix", "sockstat"]) {
  const c0 = process.cpuUsage();
  let bytes = 0;
  for (const pid of pidOfNetns.values()) {
    try {
      bytes += readFileSync(`/proc/${pid}/net/${table}`).length;
    } catch {
      // exited mid-loop
    }
  }
  const c = process.cpuUsage(c0);
  console.log(
    JSON.stringify({
      table,
      namespaces: pidOfNetns.size,
      userMs: Math.round(c.user / 1000),
      systemMs: Math.round(c.system / 1000),
      bytes,
    }),
  );
}
