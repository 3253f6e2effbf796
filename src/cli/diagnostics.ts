/** How a scan's skipped work is told to the user: once, on stderr, never mixed into data. */
import { escapeText } from "../core/escape.js";
import { PERMISSION_HINT, type ScanDiagnostics } from "../procfs/diagnostics.js";
import type { CliIO } from "./io.js";

export function reportDiagnostics(diag: ScanDiagnostics, io: CliIO, debug: boolean): void {
  if (diag.permissionDenied > 0) {
    io.err(
      `socklens: permission denied on ${diag.permissionDenied} /proc entries (e.g. ${diag.deniedExamples.map(escapeText).join(", ")}): ` +
        `${PERMISSION_HINT}; showing what could be read\n`,
    );
  }
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
