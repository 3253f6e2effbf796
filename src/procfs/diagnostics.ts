/**
 * How reading /proc can fail, and which failures are normal. A process that exits between
 * two reads makes its files vanish (ENOENT, ESRCH); a missing capability makes them
 * unreadable (EACCES, EPERM). Neither is an error of the scan: both are counted.
 */
export type ReadFailure = "gone" | "denied";

export function classifyError(err: unknown): ReadFailure | null {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOENT" || code === "ESRCH" || code === "ENOTDIR") return "gone";
  if (code === "EACCES" || code === "EPERM") return "denied";
  return null;
}

export const PERMISSION_HINT = "run as root, or grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH";

/** Counters of what a scan had to skip; printed once, never per occurrence. */
export interface ScanDiagnostics {
  processesSeen: number;
  /** Processes that exited while we read them. */
  processesVanished: number;
  /** Paths we were not allowed to read (count, and the first few for the message). */
  permissionDenied: number;
  deniedExamples: string[];
  malformedLines: number;
  malformed: import("../core/procnet.js").Malformed[];
  /** Named namespaces under /run/netns that no process is in: their sockets are not visible via /proc. */
  namespacesWithoutProcess: string[];
}

export function emptyDiagnostics(): ScanDiagnostics {
  return {
    processesSeen: 0,
    processesVanished: 0,
    permissionDenied: 0,
    deniedExamples: [],
    malformedLines: 0,
    malformed: [],
    namespacesWithoutProcess: [],
  };
}

export function noteDenied(diag: ScanDiagnostics, path: string): void {
  diag.permissionDenied++;
  if (diag.deniedExamples.length < 3) diag.deniedExamples.push(path);
}

/** Count malformed lines, and keep the first 100 for `--debug` (file:line and the text). */
export function noteMalformed(
  diag: ScanDiagnostics,
  malformed: readonly ScanDiagnostics["malformed"][number][],
): void {
  diag.malformedLines += malformed.length;
  for (const m of malformed) if (diag.malformed.length < 100) diag.malformed.push(m);
}
