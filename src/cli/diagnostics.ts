/** How a scan's skipped work is told to the user: once, on stderr, never mixed into data. */
import { readFileSync } from "node:fs";
import { escapeText } from "../core/escape.js";
import { PERMISSION_HINT, type ScanDiagnostics } from "../procfs/diagnostics.js";
import type { CliIO } from "./io.js";

/** Who we run as, as far as reading other processes' /proc entries goes. */
export interface Privilege {
  root: boolean;
  /** CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH are both effective (what reading /proc/PID/fd and ns needs). */
  capabilities: boolean;
}

const CAP_DAC_READ_SEARCH = 2n;
const CAP_SYS_PTRACE = 19n;

export function currentPrivilege(): Privilege {
  const root = process.geteuid?.() === 0;
  let capabilities = root;
  try {
    // Our own status, not HOST_PROC's: the question is what *this* process may read.
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) {
      const eff = BigInt(`0x${m[1]}`);
      capabilities = ((eff >> CAP_SYS_PTRACE) & 1n) === 1n && ((eff >> CAP_DAC_READ_SEARCH) & 1n) === 1n;
    }
  } catch {
    // No /proc/self: judge by the uid alone.
  }
  return { root, capabilities };
}

/**
 * The permission line. Advice must fit who ran us: "run as root" to root is wrong, and a
 * process even root with every capability cannot read (a sandbox's init, another user
 * namespace's process under an LSM) is not fixed by anything the user can do — say so.
 */
export function permissionLine(diag: ScanDiagnostics, who: Privilege): string {
  const n = diag.permissionDenied;
  const pids = diag.deniedPids.length
    ? ` of ${diag.deniedPids.length === 1 ? "pid" : "pids"} ${diag.deniedPids.join(", ")}${diag.deniedPids.length >= 20 ? ", …" : ""}`
    : "";
  const examples = `e.g. ${diag.deniedExamples.map(escapeText).join(", ")}`;
  if (who.root && who.capabilities)
    return (
      `socklens: root could not read ${n} /proc ${n === 1 ? "entry" : "entries"}${pids} (${examples}): ` +
      `a sandbox, a security module or another user namespace hides ${n === 1 ? "it" : "them"}; their sockets are not attributed, showing the rest\n`
    );
  const advice = who.root
    ? "running as root without them: grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH"
    : PERMISSION_HINT;
  return `socklens: permission denied on ${n} /proc entries${pids} (${examples}): ${advice}; showing what could be read\n`;
}

export function reportDiagnostics(
  diag: ScanDiagnostics,
  io: CliIO,
  debug: boolean,
  who: Privilege = currentPrivilege(),
): void {
  if (diag.permissionDenied > 0) io.err(permissionLine(diag, who));
  if (diag.unreadable > 0) {
    io.err(
      `socklens: could not read ${diag.unreadable} /proc entries (e.g. ${diag.unreadableExamples.map(escapeText).join(", ")}); skipped them and showing the rest\n`,
    );
  }
  if (diag.ambiguousUnixSockets > 0) {
    io.err(
      `socklens: ${diag.ambiguousUnixSockets} unix socket record(s) marked (ambiguous): a socket name containing a newline may have forged them, and nothing else in /proc decides it (docs/adr/0006-unix-socket-names.md)\n`,
    );
  }
  if (diag.malformedLines > 0) {
    io.err(
      `socklens: skipped ${diag.malformedLines} malformed line(s)${debug ? ":" : " (--debug shows them)"}\n`,
    );
    if (debug)
      for (const m of diag.malformed)
        io.err(`  ${escapeText(m.file)}:${m.line}: ${escapeText(m.reason)}: "${escapeText(m.text)}"\n`);
  }
  if (debug) {
    io.err(
      `socklens: ${diag.processesSeen} processes seen, ${diag.processesVanished} exited during the scan\n`,
    );
    for (const name of diag.namespacesWithoutProcess) {
      io.err(
        `socklens: netns "${escapeText(name)}" has no process in it; its sockets cannot be read through /proc\n`,
      );
    }
  }
}
