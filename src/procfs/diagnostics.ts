/**
 * How reading /proc can fail, and which failures are normal. A process that exits between
 * two reads makes its files vanish (ENOENT, ESRCH); a missing capability makes them
 * unreadable (EACCES, EPERM). Anything else an entry can answer (EISDIR, ELOOP, EINVAL, EIO,
 * a file too large to read…: a bind mount, a fixture tree, an odd kernel) is a failure of
 * that entry only. None is an error of the scan: all are counted and the entry is skipped.
 */
export type ReadFailure = "gone" | "denied" | "unreadable";

/** The kind of a failed read; null for what is not an I/O error at all (a bug: rethrow it). */
export function classifyError(err: unknown): ReadFailure | null {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOENT" || code === "ESRCH" || code === "ENOTDIR") return "gone";
  if (code === "EACCES" || code === "EPERM") return "denied";
  // errno codes (EISDIR, ELOOP…) and Node's own for a file it cannot hold (ERR_FS_FILE_TOO_LARGE).
  if (typeof code === "string" && /^E[A-Z0-9_]+$/.test(code)) return "unreadable";
  return null;
}

/**
 * Count a failed read of `path` in the diagnostics and say what kind it was; "gone" is left
 * to the caller (a vanished process is counted once, not per file). Rethrows non-I/O errors.
 */
export function noteFailure(diag: ScanDiagnostics, path: string, err: unknown): ReadFailure {
  const kind = classifyError(err);
  if (kind === null) throw err;
  if (kind === "denied") noteDenied(diag, path);
  else if (kind === "unreadable") {
    diag.unreadable++;
    if (diag.unreadableExamples.length < 3)
      diag.unreadableExamples.push(`${path} (${(err as NodeJS.ErrnoException).code})`);
  }
  return kind;
}

/** The proc root itself cannot be listed: there is nothing to scan (HOST_PROC is wrong). */
export class ProcRootError extends Error {
  override readonly name = "ProcRootError";
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
  /** The processes those paths belong to (distinct, the first 20): the message names them. */
  deniedPids: number[];
  /** Entries that failed otherwise (EISDIR, ELOOP, EINVAL…): count, and the first few with their code. */
  unreadable: number;
  unreadableExamples: string[];
  malformedLines: number;
  /** Unix socket records that may have been forged by a name with a newline (docs/adr/0006). */
  ambiguousUnixSockets: number;
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
    deniedPids: [],
    unreadable: 0,
    unreadableExamples: [],
    malformedLines: 0,
    ambiguousUnixSockets: 0,
    malformed: [],
    namespacesWithoutProcess: [],
  };
}

export function noteDenied(diag: ScanDiagnostics, path: string): void {
  diag.permissionDenied++;
  if (diag.deniedExamples.length < 3) diag.deniedExamples.push(path);
  const pid = pidOfPath(path);
  if (pid !== undefined && diag.deniedPids.length < 20 && !diag.deniedPids.includes(pid))
    diag.deniedPids.push(pid);
}

/**
 * The pid a /proc path is about: the last `/<digits>/` segment followed by a name
 * (`/proc/812/ns/net`, `/host/proc/812/fd/3`), so a digit in the proc root is not taken for it.
 */
export function pidOfPath(path: string): number | undefined {
  let pid: number | undefined;
  for (const m of path.matchAll(/\/(\d{1,10})(?=\/[^\d/])/g)) pid = Number(m[1]);
  return pid;
}

/** Count malformed lines, and keep the first 100 for `--debug` (file:line and the text). */
export function noteMalformed(
  diag: ScanDiagnostics,
  malformed: readonly ScanDiagnostics["malformed"][number][],
): void {
  diag.malformedLines += malformed.length;
  for (const m of malformed) if (diag.malformed.length < 100) diag.malformed.push(m);
}
